// One-token N:M kernels (2:4 and 4:8): y = x W with W N:M along K. At one token the product is
// memory-bound: dense streams 4 bytes per weight, this storage 2.25 (half the values plus a
// two-byte selection per 4 kept values), so the kernel must not spend more work per dense
// weight than the dense GEMV does. Gathering x lane by lane (the row-step form of nm.ts) costs
// a lane insert per kept value and ran at 0.6x dense; expanding values to dense lanes with
// i8x16.swizzle would cost a shuffle (two instructions on x64) per four dense weights, as
// many operations as the multiplies it saves (counted, not built).
//
// Instead the kernel gathers x into a selection table. A step is 8 consecutive input channels
// in which every output channel keeps exactly 4 values (2:4: two groups of 4, 4:8: one group
// of 8). Per step there are few ways to keep 4 of the 8 inputs (36 for 2:4, 70 for 4:8); the
// table holds, for each step and each way, the 4 x values it selects as one vector. A
// channel's step is then one load of its selection (the byte offset of its table entry), one
// vector load from the table and one multiply-add with its 4 values: half the dense
// multiply-adds. Four output channels are walked side by side (four independent
// accumulators), summed across lanes into one vector and stored through the epilogue.
//
// The table must stay in L1 (channels read its entries at random): reading the whole K's
// table (55 kB for 768 inputs at 2:4, 221 kB for 3072) ran at 1.03x / 0.77x dense on
// 1x768x3072 / 1x3072x768. So the steps are cut into blocks whose table takes TABLE_BYTES;
// per block the kernel fills the table, then walks every channel over the block's steps,
// adding to the partial sums in y (the first block starts from the bias, the last applies the
// epilogue): 1.3-1.45x dense in CPU time. One step per loop iteration: with two, V8 hoisted
// all 16 loads and spilled (1.1x). What bounds it now is instructions, about 7 per
// multiply-add (selection load, table address add, two vector loads, mul, add, loop share)
// where dense spends 4.75 per multiply-add on twice as many.
//
// Storage, block by block, panel by panel of 4 output channels (the last zero-padded), step
// by step: one 72-byte record of the 4 channels' values (4 f32 each) and their selections
// (u16 byte offsets into the block's table; one pointer walks both: 2-4% faster than two
// arrays), then the bias padded to whole panels. The table lives in the module's scratch
// region (spec.scratch, an address fixed at build time), so a channel's table load takes the
// table's address as its immediate offset: no address add per multiply-add.

import { bump, repeat } from '../loops.js';
import { i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams, NO_EPILOGUE } from './epilogue.js';
import { BlobBuilder } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';
import type { NMPattern } from './nm.js';

/** Input channels per step. */
const STEP = 8;
/** Kept values per output channel per step (the lanes of one vector). */
const KEPT = 4;
/** Output channels walked side by side. */
const PANEL = 4;
/** Where a record's selections start: after the 4 channels' values. */
const SELECTIONS_AT = PANEL * KEPT * 4;
/** Bytes per step of a panel: 4 channels' values, then their u16 selections. */
const RECORD = SELECTIONS_AT + PANEL * 2;
/**
 * Bytes of one block's selection table (see the header). At 1x768x3072 and 1x3072x768, 2:4
 * and 4:8 alike, 8 kB ran fastest: 16 and 24 kB 4-10% slower (the table competes with the
 * streamed weights for L1), 4 and 2 kB 2-20% slower (each block re-walks every channel).
 */
const TABLE_BYTES = 8192;

/**
 * Whether the selection-table kernel takes the pattern: 2:4 and 4:8, whose steps of 8 inputs
 * keep exactly 4 and whose K (a multiple of the group) ends on a whole or half step.
 */
export function takesSelectionTable(p: NMPattern): boolean {
  return p.m >= KEPT && STEP % p.m === 0 && (STEP / p.m) * p.n === KEPT;
}

/**
 * The ways a step can keep 4 of its 8 inputs under the pattern, as 8-bit masks in ascending
 * order (way i's entry is at 16 i in the step's table): every group of p.m bits holds exactly p.n.
 */
function selections(p: NMPattern): number[] {
  const groupMask = (1 << p.m) - 1;
  const out: number[] = [];
  for (let mask = 0; mask < 256; mask++) {
    let fits = true;
    for (let g = 0; g < STEP; g += p.m) if (popcount((mask >> g) & groupMask) !== p.n) fits = false;
    if (fits) out.push(mask);
  }
  return out;
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/** The set bits of an 8-bit mask, ascending: the x lanes a selection takes. */
function lanesOf(mask: number): number[] {
  return Array.from({ length: STEP }, (_, i) => i).filter((i) => (mask >> i) & 1);
}

interface Layout {
  panels: number;
  steps: number;
  /** Steps per block (the last block may be shorter). */
  blockSteps: number;
  ways: number;
  records: number;
  bias: number;
  /** Bytes of one block's table (the scratch the kernel needs). */
  tableBytes: number;
}

/** Byte offsets of the blob's parts; packing and the kernel both derive them from the shape. */
function layoutOf(spec: SparseSpec, p: NMPattern): Layout {
  const panels = Math.ceil(spec.N / PANEL);
  const steps = Math.ceil(spec.K / STEP);
  const ways = selections(p).length;
  const blockSteps = Math.max(1, Math.min(steps, Math.floor(TABLE_BYTES / (ways * 16))));
  const align = (n: number): number => Math.ceil(n / 16) * 16;
  const records = 0;
  const bias = align(records + panels * steps * RECORD);
  return { panels, steps, blockSteps, ways, records, bias, tableBytes: blockSteps * ways * 16 };
}

/** The blocks of steps in kernel order: [first step, steps]. */
function blocksOf(L: Layout): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < L.steps; s += L.blockSteps) out.push([s, Math.min(L.blockSteps, L.steps - s)]);
  return out;
}

/** Pack W [K,N] (p.m divides K; checked by the caller) into the selection-table storage. */
export function packNMGemv(spec: SparseSpec, W: Float32Array, p: NMPattern, bias?: Float32Array): PackedSparse {
  const { K, N } = spec;
  const L = layoutOf(spec, p);
  const wayOf = new Map(selections(p).map((mask, i) => [mask, i]));
  const records = new DataView(new ArrayBuffer(L.panels * L.steps * RECORD));
  let record = 0;
  for (const [first, steps] of blocksOf(L)) {
    for (let panel = 0; panel < L.panels; panel++) {
      for (let s = first; s < first + steps; s++, record += RECORD) {
        for (let lane = 0; lane < PANEL; lane++) {
          const n = panel * PANEL + lane;
          // Padding channels past N keep the first way, with zero weights.
          const mask = n < N ? keptMask(W, K, N, n, s * STEP, p) : selections(p)[0]!;
          records.setUint16(record + SELECTIONS_AT + 2 * lane, ((s - first) * L.ways + wayOf.get(mask)!) * 16, true);
          if (n >= N) continue;
          lanesOf(mask).forEach((i, j) => {
            const k = s * STEP + i;
            records.setFloat32(record + KEPT * 4 * lane + 4 * j, k < K ? W[k * N + n]! : 0, true);
          });
        }
      }
    }
  }
  const b = new BlobBuilder();
  b.add(records);
  if (spec.bias && bias) {
    const padded = new Float32Array(L.panels * PANEL);
    padded.set(bias);
    b.add(padded);
  }
  const blob = b.build();
  // The kernel derives every offset from the shape; these name the parts.
  return { blob, offsets: { values: L.records, bias: L.bias, counts: 0, k: L.records + SELECTIONS_AT, kBytes: 2 } };
}

/** Scratch bytes emitNMGemv needs at spec.scratch: one block's selection table. */
export function nmGemvScratchBytes(spec: SparseSpec, p: NMPattern): number {
  return layoutOf(spec, p).tableBytes;
}

/**
 * The inputs output channel n keeps in the step starting at `first`, as an 8-bit mask with
 * exactly p.n bits per group: groups holding fewer nonzeros (and groups past K, in a last
 * half step) are filled with their lowest unused positions, which carry zero weights.
 */
function keptMask(W: Float32Array, K: number, N: number, n: number, first: number, p: NMPattern): number {
  let mask = 0;
  for (let g = 0; g < STEP; g += p.m) {
    let kept = 0;
    for (let i = 0; i < p.m; i++) {
      const k = first + g + i;
      if (k < K && W[k * N + n] !== 0) {
        mask |= 1 << (g + i);
        kept++;
      }
    }
    if (kept > p.n) throw new Error(`weight is not ${p.n}:${p.m}: output ${n}, inputs ${first + g}..${first + g + p.m - 1} hold ${kept} nonzeros`);
    for (let i = 0; kept < p.n; i++) {
      if (!((mask >> (g + i)) & 1)) {
        mask |= 1 << (g + i);
        kept++;
      }
    }
  }
  return mask;
}

/** Add `spec.name(x, w, y)` for a packNMGemv blob; its table goes to spec.scratch. */
export function emitNMGemv(m: WasmModule, spec: SparseSpec, p: NMPattern): void {
  const L = layoutOf(spec, p);
  const blocks = blocksOf(L);
  const table = spec.scratch;
  if (table === undefined) throw new Error(`the one-token ${p.n}:${p.m} kernel needs ${L.tableBytes} bytes of scratch (spec.scratch)`);
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn: FunctionScope) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    // Blocks before the last leave partial sums: those stores skip the epilogue.
    const partial = new EpilogueStore(fn, NO_EPILOGUE);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pr, pb, py, px] = Array.from({ length: 4 }, () => fn.local(i32));
    const acc = Array.from({ length: PANEL }, () => fn.local(v128));
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    /** One step of the four channels: each channel's values times its table entry. */
    const step = acc.map((a, j) => {
      const entry = m.v128.load(m.i32.load16U(m.get(pr), SELECTIONS_AT + 2 * j), table);
      return m.set(a, m.madd(m.v128.load(m.get(pr), KEPT * 4 * j), entry, m.get(a)));
    });
    const walk = (count: number): ExprRef => repeat(fn, count, [...step, bump(fn, pr, RECORD)]);
    const panel = (count: number, lanes: number, first: boolean, last: boolean): ExprRef[] => {
      const start = first ? (spec.bias ? m.v128.load(m.get(pb)) : undefined) : loadLanes(m, py, lanes);
      const sum = start ? m.f32x4.add(m.get(acc[0]!), start) : m.get(acc[0]!);
      return [
        ...acc.map((a) => m.set(a, m.v128.zero())),
        walk(count),
        ...sumAcross(m, acc),
        ...(last ? epilogue : partial).vector(sum, py, 0, lanes),
        bump(fn, py, PANEL * 4), bump(fn, pb, first && spec.bias ? PANEL * 4 : 0),
      ];
    };
    const full = Math.floor(spec.N / PANEL);
    const rest = spec.N % PANEL;
    const block = ([firstStep, count]: [number, number], first: boolean, last: boolean): ExprRef[] => [
      ...fillTable(fn, spec.K, p, firstStep, count, px, table),
      m.set(py, m.get(yArg)), m.set(pb, at(L.bias)),
      repeat(fn, full, panel(count, PANEL, first, last)),
      ...(rest ? panel(count, rest, first, last) : []),
    ];
    // First block, the equal middle ones as one loop, the last (possibly shorter) one.
    const n = blocks.length;
    return [
      ...epilogue.setup(),
      m.set(px, m.get(xArg)),
      m.set(pr, at(L.records)),
      ...block(blocks[0]!, true, n === 1),
      ...(n > 2 ? [repeat(fn, n - 2, block(blocks[1]!, false, false))] : []),
      ...(n > 1 ? block(blocks[n - 1]!, false, true) : []),
    ];
  });
}

/** The first `lanes` f32 at y (the others zero): a partial panel must not read past y's end. */
function loadLanes(m: WasmModule, y: Local, lanes: number): ExprRef {
  switch (lanes) {
    case 4: return m.v128.load(m.get(y));
    case 3: return m.v128.load32Lane(m.get(y), m.v128.load64Zero(m.get(y)), 2, 8);
    case 2: return m.v128.load64Zero(m.get(y));
    default: return m.v128.load32Zero(m.get(y));
  }
}

/**
 * Statements that leave [sum of a0, sum of a1, sum of a2, sum of a3] (each accumulator summed
 * across its lanes) in a0, reusing the accumulators as temporaries.
 */
function sumAcross(m: WasmModule, a: Local[]): ExprRef[] {
  const [a0, a1, a2, a3] = a as [Local, Local, Local, Local];
  const shuffled = (x: Local, y: Local, lanes: number[]): ExprRef => m.bits.shuffle32(m.get(x), m.get(y), lanes);
  // Interleave two accumulators and add: [x.0+x.2, y.0+y.2, x.1+x.3, y.1+y.3].
  const pair = (x: Local, y: Local): ExprRef => m.f32x4.add(shuffled(x, y, [0, 4, 1, 5]), shuffled(x, y, [2, 6, 3, 7]));
  return [
    m.set(a0, pair(a0, a1)),
    m.set(a2, pair(a2, a3)),
    m.set(a0, m.f32x4.add(shuffled(a0, a2, [0, 1, 4, 5]), shuffled(a0, a2, [2, 3, 6, 7]))),
  ];
}

/**
 * Fill the table for `count` steps from `firstStep`, leaving px at the next block's x: per
 * step, x's 8 inputs as two vectors (the last half step of a K that is not a multiple of 8
 * takes zeros for the missing group), and per way the vector of the 4 lanes it keeps.
 */
function fillTable(fn: FunctionScope, K: number, p: NMPattern, firstStep: number, count: number, px: Local, table: number): ExprRef[] {
  const m = fn.m;
  const pt = fn.local(i32);
  const [lo, hi] = [fn.local(v128), fn.local(v128)];
  const ways = selections(p);
  const fill = (half: boolean): ExprRef[] => [
    m.set(lo, m.v128.load(m.get(px))),
    m.set(hi, half ? m.v128.zero() : m.v128.load(m.get(px), 16)),
    ...ways.map((mask, i) => m.v128.store(m.get(pt), m.bits.shuffle32(m.get(lo), m.get(hi), lanesOf(mask)), 16 * i)),
    bump(fn, px, STEP * 4), bump(fn, pt, ways.length * 16),
  ];
  const whole = Math.min(count, Math.floor(K / STEP) - firstStep);
  return [
    m.set(pt, m.i32.const(table)),
    repeat(fn, whole, fill(false)),
    ...(whole < count ? fill(true) : []),
  ];
}
