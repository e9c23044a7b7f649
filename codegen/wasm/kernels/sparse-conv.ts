// Direct sparse convolution (groups = 1) over NCHW activations (batch 1), in the style of
// XNNPACK's sparse 1x1 kernels and SparseRT, extended to KxK windows. For each output channel
// and each tap (ky, kx) of the window, the weight lists its nonzero input channels as the
// unstructured Linear kernels do (sparse-format.ts stepRows: a value and a one-byte step in
// input channels, 5 bytes per nonzero). An output row is covered by strips of pixels; for each
// strip the channel's lists are walked once, each weight broadcast and multiply-added into the
// strip's v128 accumulators (4 output pixels each) from the input plane the steps reached, at
// the tap's fixed offset. The input is padded up front (conv.ts emitPad2d), so a tap never
// needs a bounds check.
//
// Pixels of one output vector sit `sw` input pixels apart: at stride 1 one unaligned load,
// at stride 2 two loads (pixels 0..3 and 3..6 of the window row) and a shuffle of the even
// ones (neither load reaches past the last pixel a window reads), else four lane loads.

import type { SparseConv2dKernel } from '../../cnn-kernels.js';
import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { applyEpilogue } from './cnn-epilogue.js';
import { sparseRows, stepRows } from './sparse-format.js';

const F = 4;
/** Bytes before the tap offsets: the steps' byte offset (i32), padding. */
const HEADER = 16;
/**
 * Accumulators of the main strip (and of a strip over several rows). As in strips.ts, V8
 * keeps a tap's loaded vectors, the accumulators and the weight live at once: at stride 1,
 * 6 + 6 + 1 fit the 16 xmm registers; at stride 2 each vector takes two loads, and 4
 * accumulators ran 0.75x the time of 6 (3x3, 64 -> 64 at 112x112 -> 56x56, 70% sparse;
 * 128 -> 128 at 56x56 -> 28x28 alike), while at stride 1 4, 5 and 6 ran the same.
 */
const mainVectors = (stride: number) => (stride === 1 ? 6 : 4);

/** The convolution's geometry, without the buffers (what packing and emission read). */
export type SparseConvGeometry = Omit<SparseConv2dKernel, 'op' | 'ins' | 'y' | 'node' | 'epilogue'>;

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** Byte offsets of the parts of packSparseConv2d's blob that do not depend on the weight's values. */
function blobLayout(k: SparseConvGeometry): { taps: number; bias: number; counts: number; values: number } {
  const taps = k.kh * k.kw;
  const bias = HEADER + taps * F;
  const counts = bias + k.Cout * F;
  return { taps: HEADER, bias, counts, values: align4(counts + k.Cout * taps * 2) };
}

/**
 * The blob sparse-conv2d reads, as floats (integers stored as their bits): the steps' byte
 * offset; each tap's byte offset from the window's corner (i32); bias [Cout] (zero when
 * absent); the list length of each (output channel, tap) (u16); the lists' values (f32), then
 * their steps (u8) in input channels, from input channel 0 (stepRows; padding records for
 * gaps past 255 channels).
 */
export function packSparseConv2d(k: SparseConvGeometry, weight: Float32Array, bias: Float32Array | undefined): Float32Array {
  const taps = k.kh * k.kw;
  if (weight.length !== k.Cout * k.Cin * taps) throw new Error(`conv weight has ${weight.length} values, expected ${k.Cout * k.Cin * taps}`);
  if (bias && bias.length !== k.Cout) throw new Error(`conv bias has ${bias.length} values, expected ${k.Cout}`);
  // The weight as a Linear's W [Cin, Cout * taps]: one list per (output channel, tap).
  const N = k.Cout * taps;
  const W = new Float32Array(k.Cin * N);
  for (let co = 0; co < k.Cout; co++) for (let ci = 0; ci < k.Cin; ci++) for (let t = 0; t < taps; t++) W[ci * N + co * taps + t] = weight[(co * k.Cin + ci) * taps + t]!;
  const lists = stepRows(sparseRows(W, k.Cin, N));
  const at = blobLayout(k);
  const stepsAt = at.values + lists.values.length * F;
  const buffer = new ArrayBuffer(align4(stepsAt + lists.steps.length));
  const view = new DataView(buffer);
  view.setInt32(0, stepsAt, true);
  for (let ky = 0; ky < k.kh; ky++) for (let kx = 0; kx < k.kw; kx++) view.setInt32(at.taps + (ky * k.kw + kx) * F, (ky * k.dh * k.W + kx * k.dw) * F, true);
  if (bias) new Float32Array(buffer, at.bias, k.Cout).set(bias);
  const counts = new Uint16Array(buffer, at.counts, N);
  for (let n = 0; n < N; n++) {
    if (lists.counts[n]! > 0xffff) throw new Error(`conv weight list of ${lists.counts[n]} records is too long`);
    counts[n] = lists.counts[n]!;
  }
  new Float32Array(buffer, at.values, lists.values.length).set(lists.values);
  new Uint8Array(buffer, stepsAt, lists.steps.length).set(lists.steps);
  return new Float32Array(buffer);
}

/**
 * Strips covering one output row: `count` strips of `pixels` pixels, in `vectors` v128
 * accumulators per row, or one by one (`vectors` 0) when the row is narrower than a vector.
 * A row's last four pixels are always one vector, which may overlap pixels computed before
 * (computed again, the same values stored again), so no pixel of a row of 4 or more is
 * computed alone: the last vector of a strip starts at pixels - 4, and a strip of fewer than
 * 4 pixels first steps `back` pixels back.
 */
interface StripShape {
  count: number;
  pixels: number;
  vectors: number;
  back: number;
}

function rowStrips(OW: number, main: number): StripShape[] {
  if (OW < 4) return [{ count: 1, pixels: OW, vectors: 0, back: 0 }];
  const out: StripShape[] = [];
  const full = Math.floor(OW / (main * 4));
  if (full > 0) out.push({ count: full, pixels: main * 4, vectors: main, back: 0 });
  const rest = OW - full * main * 4;
  const back = rest > 0 && rest < 4 ? 4 - rest : 0;
  if (rest > 0) out.push({ count: 1, pixels: rest + back, vectors: Math.ceil((rest + back) / 4), back });
  return out;
}

/**
 * Output rows per strip: a row of fewer vectors than the main strip shares each tap's weight
 * and offset loads with the rows below it (their input rows sit at fixed distances).
 */
function rowsPerStrip(OW: number, main: number): number {
  return OW < 4 ? 1 : Math.max(1, Math.floor(main / Math.ceil(OW / 4)));
}

/**
 * Add `name(x, w, y)`: the convolution of SparseConv2dKernel (x padded, w from packSparseConv2d).
 * Groups of output rows are the outer loop and channels the inner one: a group reads only a
 * few input rows of every channel, which stay in cache while all channels walk them (the other
 * order streams the whole input once per output channel). Every channel's taps are re-read
 * per group, from L2. Measured interleaved (bench/sparse-conv.ts, 64 -> 64, 3x3): rows outer
 * 0.86x the time of channels outer at stride 1 (56x56) and 0.75x at stride 2 (112x112 input).
 */
export function emitSparseConv2d(m: WasmModule, name: string, k: SparseConv2dKernel): void {
  const at = blobLayout(k);
  const taps = k.kh * k.kw;
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [stepsBase, pb, pc, pvc, psc, prow, yrow] = Array.from({ length: 7 }, () => fn.local(i32));
    const [px, py, pv, ps, pcount, ptap, pt, count] = Array.from({ length: 8 }, () => fn.local(i32));
    const c: StripScope = { fn, k, w: wArg, pb, pc, pvc, psc, px, py, pv, ps, pcount, ptap, pt, count };
    const wAt = (offset: number) => m.i32.add(m.get(wArg), m.i32.const(offset));
    // `rows` output rows of every channel.
    const rowGroup = (rows: number): ExprRef[] => [
      m.set(pb, wAt(at.bias)),
      m.set(pc, wAt(at.counts)),
      m.set(pvc, wAt(at.values)),
      m.set(psc, m.get(stepsBase)),
      m.set(py, m.get(yrow)),
      repeat(fn, k.Cout, [
        m.set(px, m.get(prow)),
        ...rowStrips(k.OW, mainVectors(k.sw)).map((s) => repeat(fn, s.count, strip(c, s, rows))),
        // The strips left py at the group's first row's end, and pv and ps at the end of this
        // channel's lists; on to the same row of the next channel, whose lists follow.
        bump(fn, py, (k.OH - 1) * k.OW * F),
        m.set(pvc, m.get(pv)),
        m.set(psc, m.get(ps)),
        bump(fn, pc, taps * 2),
        bump(fn, pb, F),
      ]),
      bump(fn, prow, rows * k.sh * k.W * F),
      bump(fn, yrow, rows * k.OW * F),
    ];
    const rows = rowsPerStrip(k.OW, mainVectors(k.sw));
    const groups = Math.floor(k.OH / rows);
    return [
      m.set(stepsBase, m.i32.add(m.get(wArg), m.i32.load(m.get(wArg)))),
      m.set(prow, m.get(xArg)),
      m.set(yrow, m.get(yArg)),
      repeat(fn, groups, rowGroup(rows)),
      ...(k.OH > groups * rows ? rowGroup(k.OH - groups * rows) : []),
    ];
  });
}

interface StripScope {
  fn: FunctionScope;
  k: SparseConv2dKernel;
  /** The blob. */
  w: Local;
  /** This output channel's bias, first list length, first value and first step. */
  pb: Local; pc: Local; pvc: Local; psc: Local;
  /** The strip's first window corner in x, its first output pixel in y. */
  px: Local; py: Local;
  /** The value, step, list length and tap offset being read. */
  pv: Local; ps: Local; pcount: Local; ptap: Local;
  /** The tap's input pixel, in the input channel the steps reached, for the strip's first output. */
  pt: Local;
  count: Local;
}

/**
 * One strip over `rows` output rows (s.pixels each): bias, every tap's list, epilogue, store;
 * advances px and py along the first row, and leaves pv and ps at the channel's end.
 */
function strip(c: StripScope, s: StripShape, rows: number): ExprRef[] {
  const { fn, k } = c;
  const m = fn.m;
  const vector = s.vectors > 0;
  const perRow = vector ? s.vectors : s.pixels;
  // The first pixel of vector (or pixel) i.
  const pixel = (i: number) => (vector ? Math.min(4 * i, s.pixels - 4) : i);
  const acc = Array.from({ length: rows * perRow }, () => fn.local(vector ? v128 : f32));
  const w = fn.local(vector ? v128 : f32);
  const inputRow = k.sh * k.W * F;
  const plane = k.H * k.W * F;
  const input = (r: number, i: number): ExprRef => (vector
    ? loadPixels(m, c.pt, r * inputRow + pixel(i) * k.sw * F, k.sw)
    : m.f32.load(m.get(c.pt), r * inputRow + pixel(i) * k.sw * F));
  const outputAt = (r: number, i: number) => r * k.OW * F + pixel(i) * F;
  const each = <T>(f: (a: Local, r: number, i: number) => T): T[] => acc.map((a, j) => f(a, Math.floor(j / perRow), j % perRow));
  const planes = (step: ExprRef) => ((plane & (plane - 1)) === 0 ? m.i32.shl(step, m.i32.const(Math.log2(plane))) : m.i32.mul(step, m.i32.const(plane)));
  return [
    bump(fn, c.px, -s.back * k.sw * F),
    bump(fn, c.py, -s.back * F),
    ...acc.map((a) => m.set(a, vector ? m.v128.load32Splat(m.get(c.pb)) : m.f32.load(m.get(c.pb)))),
    m.set(c.pv, m.get(c.pvc)),
    m.set(c.ps, m.get(c.psc)),
    m.set(c.pcount, m.get(c.pc)),
    m.set(c.ptap, m.i32.add(m.get(c.w), m.i32.const(HEADER))),
    repeat(fn, k.kh * k.kw, [
      m.set(c.pt, m.i32.add(m.get(c.px), m.i32.load(m.get(c.ptap)))),
      m.set(c.count, m.i32.load16U(m.get(c.pcount))),
      repeatRuntime(fn, c.count, [
        m.set(w, vector ? m.v128.load32Splat(m.get(c.pv)) : m.f32.load(m.get(c.pv))),
        m.set(c.pt, m.i32.add(m.get(c.pt), planes(m.i32.load8U(m.get(c.ps))))),
        ...each((a, r, i) => m.set(a, vector ? m.madd(m.get(w), input(r, i), m.get(a)) : m.f32.add(m.f32.mul(m.get(w), input(r, i)), m.get(a)))),
        bump(fn, c.pv, F),
        bump(fn, c.ps, 1),
      ]),
      bump(fn, c.ptap, F),
      bump(fn, c.pcount, 2),
    ]),
    ...each((a, r, i) => {
      const value = applyEpilogue(m, a, vector, k.epilogue);
      return vector ? m.v128.store(m.get(c.py), value, outputAt(r, i)) : m.f32.store(m.get(c.py), value, outputAt(r, i));
    }),
    bump(fn, c.py, s.pixels * F),
    bump(fn, c.px, s.pixels * k.sw * F),
  ];
}

/** Four input pixels `stride` apart from *ptr + offset, reading no pixel past the last one. */
function loadPixels(m: WasmModule, ptr: Local, offset: number, stride: number): ExprRef {
  if (stride === 1) return m.v128.load(m.get(ptr), offset);
  if (stride === 2) return m.bits.shuffle32(m.v128.load(m.get(ptr), offset), m.v128.load(m.get(ptr), offset + 3 * F), [0, 2, 5, 7]);
  let v = m.v128.load32Zero(m.get(ptr), offset);
  for (let lane = 1; lane < 4; lane++) v = m.v128.load32Lane(m.get(ptr), v, lane, offset + lane * stride * F);
  return v;
}
