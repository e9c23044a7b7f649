// N:M sparse weights (N nonzeros in every group of M consecutive input channels of each
// output channel: 2:4, 4:8). Every channel keeps exactly K*N/M values (groups holding fewer
// nonzeros are filled with zero weights), so the kernels have no per-channel counts.
//
// Two storages and kernels:
// - many tokens (transposed activations X^T [K,T], the strips of strips.ts): one 5-byte
//   record per kept value, the f32 value and its row distance from the previous kept value
//   (the first: from the block's first row); 62% of the dense bytes at 2:4. The input rows
//   are cut into blocks whose X^T slice fits 16 KiB, so it stays in L1 while every channel
//   walks it (this took 2:4 from 1.3x to 1.5x our dense at 64x768x3072); later blocks add to
//   the partial sums in Y^T. The loop body is one kept value: advance the row pointer,
//   broadcast the weight, multiply-add a strip of 6 token vectors (why 6: strips.ts).
// - one token, 2:4 and 4:8: values and one selection byte per 4 kept values, against a table
//   of x gathered once per call (nm-gemv.ts). Other patterns at one token (1:4) gather x lane
//   by lane from values and row steps kept as two arrays (0.46x dense at 1x768x3072 for 4:8
//   when it took this form: the lane inserts bound it).

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams, NO_EPILOGUE } from './epilogue.js';
import { BlobBuilder } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';
import { emitNMGemv, nmGemvScratchBytes, packNMGemv, takesSelectionTable } from './nm-gemv.js';
import { forEachStrip, type Strip } from './strips.js';

/** N nonzeros kept in every group of M consecutive input channels. */
export interface NMPattern {
  readonly n: number;
  readonly m: number;
}

const TWO_FOUR: NMPattern = { n: 2, m: 4 };
/** The patterns the layout `nm` takes, in order of preference. */
export const NM_PATTERNS: readonly NMPattern[] = [TWO_FOUR, { n: 4, m: 8 }];

/** Whether every group of p.m consecutive inputs (along K) of W [K,N] keeps at most p.n nonzeros. */
export function fitsPattern(W: Float32Array, K: number, N: number, p: NMPattern): boolean {
  if (K === 0 || K % p.m !== 0) return false;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < K; g += p.m) {
      let kept = 0;
      for (let i = 0; i < p.m; i++) if (W[(g + i) * N + n] !== 0) kept++;
      if (kept > p.n) return false;
    }
  }
  return true;
}

/** The first of NM_PATTERNS that W [K,N] fits, if any. */
export function nmPatternOf(W: Float32Array, K: number, N: number): NMPattern | undefined {
  return NM_PATTERNS.find((p) => fitsPattern(W, K, N, p));
}
/** Token vectors of the many-token kernel's main strip (see the header). */
const STRIP_VECTORS = 6;
/** Bytes per kept value in the many-token storage: the f32 value and its row step. */
const RECORD = 5;
/** Bytes of X^T one block of input rows may take, so that it stays in L1 while every channel walks it. */
const X_BLOCK_BYTES = 16384;

/** The kept input channels of output channel `col`, exactly n per group (zero-filled where fewer). */
function keptRows(W: Float32Array, K: number, N: number, col: number, p: NMPattern): number[] {
  const rows: number[] = [];
  for (let g = 0; g < K; g += p.m) {
    const kept: number[] = [];
    for (let i = 0; i < p.m; i++) if (W[(g + i) * N + col] !== 0) kept.push(i);
    if (kept.length > p.n) throw new Error(`weight is not ${p.n}:${p.m}: output ${col}, inputs ${g}..${g + p.m - 1} hold ${kept.length} nonzeros`);
    for (let i = 0; kept.length < p.n; i++) if (!kept.includes(i)) kept.push(i);
    kept.sort((a, b) => a - b);
    for (const i of kept) rows.push(g + i);
  }
  return rows;
}

/**
 * Input rows per block of the many-token kernel: all of K when X^T fits X_BLOCK_BYTES (and for
 * one token), else as many whole groups as fit (at least one).
 */
export function nmBlockRows(spec: SparseSpec, p: NMPattern): number {
  const { M, K } = spec;
  if (M === 1 || K * M * 4 <= X_BLOCK_BYTES) return K;
  return Math.max(1, Math.floor(X_BLOCK_BYTES / (M * 4 * p.m))) * p.m;
}

/** The blocks of input rows in kernel order: [first row, rows]. */
function rowBlocks(K: number, blockRows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < K; k += blockRows) out.push([k, Math.min(blockRows, K - k)]);
  return out;
}

function checkPattern(spec: SparseSpec, p: NMPattern, bias?: Float32Array): void {
  if (p.n < 1 || p.n > p.m || p.m > 128) throw new Error(`unsupported N:M pattern ${p.n}:${p.m}`);
  if (spec.K % p.m !== 0) throw new Error(`${p.n}:${p.m} needs K divisible by ${p.m}, got ${spec.K}`);
  if (spec.bias && bias?.length !== spec.N) throw new Error(`${p.n}:${p.m} bias must have ${spec.N} values`);
}

/**
 * Pack W [K,N] that is N:M along K. One token with 2:4 or 4:8 gets the selection-table storage
 * (nm-gemv.ts), every other case the row-distance storage (see the header).
 */
export function packNM(spec: SparseSpec, W: Float32Array, p: NMPattern, bias?: Float32Array): PackedSparse {
  checkPattern(spec, p, bias);
  if (spec.M === 1 && takesSelectionTable(p)) return packNMGemv(spec, W, p, bias);
  const { K, N } = spec;
  const perChannel = (K / p.m) * p.n;
  const rows = Array.from({ length: N }, (_, n) => keptRows(W, K, N, n, p));
  const values = new Float32Array(N * perChannel);
  const steps = new Uint8Array(N * perChannel);
  // Block by block of input rows, channel by channel: the order the kernel walks them. Steps
  // restart at each block's first row.
  let at = 0;
  for (const [first, count] of rowBlocks(K, nmBlockRows(spec, p))) {
    for (let n = 0; n < N; n++) {
      let previous = first;
      for (const k of rows[n]!) {
        if (k < first || k >= first + count) continue;
        values[at] = W[k * N + n]!;
        steps[at++] = k - previous;
        previous = k;
      }
    }
  }
  const b = new BlobBuilder();
  if (spec.M === 1) {
    // The one-token gather loads four values at once: values and steps as two arrays.
    const valuesAt = b.add(values);
    const stepsAt = b.add(steps);
    const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
    return { blob: b.build(), offsets: { values: valuesAt, bias: biasAt, counts: 0, k: stepsAt, kBytes: 2 } };
  }
  // Many tokens: one 5-byte record per kept value (value, then step), walked by one pointer.
  const records = new Uint8Array(values.length * RECORD);
  const view = new DataView(records.buffer);
  values.forEach((v, i) => {
    view.setFloat32(i * RECORD, v, true);
    records[i * RECORD + 4] = steps[i]!;
  });
  const recordsAt = b.add(records);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  return { blob: b.build(), offsets: { values: recordsAt, bias: biasAt, counts: 0, k: recordsAt, kBytes: 2 } };
}

/** Add `spec.name(xT, w, yT)` for a packNM blob (x row-major for one token: the same bytes). */
export function emitNM(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], p: NMPattern): void {
  if (spec.M === 1 && takesSelectionTable(p)) emitNMGemv(m, spec, p);
  else if (spec.M === 1) emitNMGather(m, spec, offsets, p);
  else emitNMTokens(m, spec, offsets, p);
}

/** Scratch bytes emitNM needs at spec.scratch (the one-token selection table), or 0. */
export function nmScratchBytes(spec: SparseSpec, p: NMPattern): number {
  return spec.M === 1 && takesSelectionTable(p) ? nmGemvScratchBytes(spec, p) : 0;
}

/** 2:4 (the layout `nm`): packNM with pattern 2:4. */
export function pack2of4(spec: SparseSpec, W: Float32Array, bias?: Float32Array): PackedSparse {
  return packNM(spec, W, TWO_FOUR, bias);
}

export function emit2of4(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  emitNM(m, spec, offsets, TWO_FOUR);
}

/**
 * Many tokens: blocks of input rows outer (X^T's block stays in L1), then channels, then token
 * strips, so a channel's values and row steps are reused from L1 by every strip; one kept value
 * per loop iteration (see the header). The first block starts from the bias, later ones add to
 * the partial sums in Y^T; ReLU comes with the last.
 */
function emitNMTokens(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], p: NMPattern): void {
  const { M, K, N } = spec;
  const rowBytes = M * 4;
  const shift = Math.log2(rowBytes);
  const blocks = rowBlocks(K, nmBlockRows(spec, p));
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    // Blocks before the last leave partial sums: those stores skip the epilogue.
    const partial = new EpilogueStore(fn, NO_EPILOGUE);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [xb, xs, ys, cr, pr, end, pb, px] = Array.from({ length: 8 }, () => fn.local(i32));
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    const rowStep = (): ExprRef => {
      const step = m.i32.load8U(m.get(pr), 4);
      return Number.isInteger(shift) ? m.i32.shl(step, m.i32.const(shift)) : m.i32.mul(step, m.i32.const(rowBytes));
    };
    // The loop over a channel's records ends on the record pointer itself (no counter).
    const walk = (strip: Strip, count: number): ExprRef => {
      const label = fn.label('kept');
      return m.block(null, [
        m.set(end, m.i32.add(m.get(pr), m.i32.const(count * RECORD))),
        m.loop(label, m.block(null, [
          m.set(px, m.i32.add(m.get(px), rowStep())),
          strip.loadWeight(m.get(pr)),
          ...strip.accumulate(px, 0),
          bump(fn, pr, RECORD),
          m.br(label, m.i32.ne(m.get(pr), m.get(end))),
        ])),
      ]);
    };
    /** Accumulators := the partial sums already in Y^T at the strip. */
    const resume = (strip: Strip): ExprRef[] => strip.acc.map((a, i) => m.set(a, strip.vectors > 0 ? m.v128.load(m.get(ys), i * 16) : m.f32.load(m.get(ys), i * 4)));
    const block = (rows: number, first: boolean, last: boolean): ExprRef[] => {
      const perChannel = (rows / p.m) * p.n;
      return [
        m.set(ys, m.get(yArg)), m.set(pb, at(offsets.bias)),
        repeat(fn, N, [
          m.set(xs, m.get(xb)),
          ...forEachStrip(fn, M, xs, ys, (strip) => [
            ...(first ? strip.init(spec.bias ? { ptr: pb, offset: 0 } : undefined) : resume(strip)),
            m.set(pr, m.get(cr)), m.set(px, m.get(xs)),
            walk(strip, perChannel),
            ...strip.store(ys, 0, last ? epilogue : partial),
          ], STRIP_VECTORS),
          // The strips left pr at the next channel's records in this block.
          m.set(cr, m.get(pr)), bump(fn, pb, first && spec.bias ? 4 : 0),
        ]),
        bump(fn, xb, rows * rowBytes),
      ];
    };
    // First block, the equal middle ones as one loop, the last (possibly shorter) one.
    const n = blocks.length;
    const rowsOf = (i: number): number => blocks[i]![1];
    return [
      ...epilogue.setup(),
      m.set(cr, at(offsets.values)), m.set(xb, m.get(xArg)),
      ...block(rowsOf(0), true, n === 1),
      ...(n > 2 ? [repeat(fn, n - 2, block(rowsOf(1), false, false))] : []),
      ...(n > 1 ? block(rowsOf(n - 1), false, true) : []),
    ];
  });
}

/**
 * One token on the row-step storage: y[n] = sum over runs of 4 kept values of values . x
 * gathered lane by lane (the row pointer advances by each step), summed across lanes at the
 * end of the channel.
 */
function emitNMGather(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], p: NMPattern): void {
  const { K, N } = spec;
  const perChannel = (K / p.m) * p.n;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn: FunctionScope) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pv, ps, pb, py, px] = Array.from({ length: 5 }, () => fn.local(i32));
    const [acc, xv, wv] = [fn.local(v128), fn.local(v128), fn.local(v128)];
    const sum = fn.local(f32);
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    const advance = (j: number): ExprRef => m.set(px, m.i32.add(m.get(px), m.i32.shl(m.i32.load8U(m.get(ps), j), m.i32.const(2))));
    /** xv := x at the next `lanes` kept rows (lanes 0..lanes-1; the rest zero). */
    const gather = (lanes: number): ExprRef[] => [
      advance(0), m.set(xv, m.v128.load32Zero(m.get(px))),
      ...Array.from({ length: lanes - 1 }, (_, i) => [advance(i + 1), m.set(xv, m.v128.load32Lane(m.get(px), m.get(xv), i + 1))]).flat(),
    ];
    const tail = perChannel % 4;
    const tailValues = (): ExprRef[] => [
      m.set(wv, m.v128.load32Zero(m.get(pv))),
      ...Array.from({ length: tail - 1 }, (_, i) => m.set(wv, m.v128.load32Lane(m.get(pv), m.get(wv), i + 1, 4 * (i + 1)))),
    ];
    return [
      ...epilogue.setup(),
      m.set(pv, at(offsets.values)), m.set(ps, at(offsets.k)), m.set(pb, at(offsets.bias)), m.set(py, m.get(yArg)),
      repeat(fn, N, [
        m.set(acc, m.v128.zero()),
        m.set(px, m.get(xArg)),
        repeat(fn, Math.floor(perChannel / 4), [
          ...gather(4),
          m.set(acc, m.madd(m.v128.load(m.get(pv)), m.get(xv), m.get(acc))),
          bump(fn, pv, 16), bump(fn, ps, 4),
        ]),
        ...(tail ? [...gather(tail), ...tailValues(), m.set(acc, m.madd(m.get(wv), m.get(xv), m.get(acc))), bump(fn, pv, 4 * tail), bump(fn, ps, tail)] : []),
        m.set(sum, spec.bias ? m.f32.add(m.sumLanes(acc), m.f32.load(m.get(pb))) : m.sumLanes(acc)),
        ...epilogue.scalar(m.get(sum), py, 0),
        bump(fn, pb, spec.bias ? 4 : 0), bump(fn, py, 4),
      ]),
    ];
  });
}
