// Direct sparse convolution (groups = 1) over NCHW activations (batch 1), in the style of
// XNNPACK's sparse 1x1 kernels and SparseRT, extended to KxK windows: each output channel
// lists its nonzero taps (input channel, ky, kx) as (weight, byte offset of the tap's input
// pixel from the window's top-left corner in the padded input). An output row is covered by
// strips of pixels; for each strip the channel's taps are walked once, each weight broadcast
// and multiply-added into the strip's v128 accumulators (4 output pixels each). The input is
// padded up front (conv.ts emitPad2d), so a tap never needs a bounds check.
//
// Pixels of one output vector sit `sw` input pixels apart: at stride 1 one unaligned load,
// at stride 2 two loads (pixels 0..3 and 3..6 of the window row) and a shuffle of the even
// ones (neither load reaches past the last pixel a window reads), else four lane loads.

import type { SparseConv2dKernel } from '../../cnn-kernels.js';
import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { applyEpilogue } from './conv.js';

const F = 4;
/** Bytes of one nonzero tap: its weight (f32) and its input byte offset (i32). */
const RECORD = 8;
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

/**
 * The blob sparse-conv2d reads, as floats (integers stored as their bits): bias [Cout] (zero
 * when absent), tap counts [Cout] (i32), then each output channel's taps in input order as
 * records (weight f32, byte offset i32 of its input pixel from the window's corner).
 */
export function packSparseConv2d(k: SparseConvGeometry, weight: Float32Array, bias: Float32Array | undefined): Float32Array {
  const taps = k.Cin * k.kh * k.kw;
  if (weight.length !== k.Cout * taps) throw new Error(`conv weight has ${weight.length} values, expected ${k.Cout * taps}`);
  if (bias && bias.length !== k.Cout) throw new Error(`conv bias has ${bias.length} values, expected ${k.Cout}`);
  let nnz = 0;
  for (const v of weight) if (v !== 0) nnz++;
  const buffer = new ArrayBuffer((2 * k.Cout + (nnz * RECORD) / F) * F);
  const floats = new Float32Array(buffer);
  const ints = new Int32Array(buffer);
  if (bias) floats.set(bias);
  let at = 2 * k.Cout;
  for (let co = 0; co < k.Cout; co++) {
    let count = 0;
    for (let ci = 0; ci < k.Cin; ci++) {
      for (let ky = 0; ky < k.kh; ky++) {
        for (let kx = 0; kx < k.kw; kx++) {
          const v = weight[((co * k.Cin + ci) * k.kh + ky) * k.kw + kx]!;
          if (v === 0) continue;
          floats[at] = v;
          ints[at + 1] = ((ci * k.H + ky * k.dh) * k.W + kx * k.dw) * F;
          at += 2;
          count++;
        }
      }
    }
    ints[k.Cout + co] = count;
  }
  return floats;
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
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pb, pc, pr, prow, yrow, px, py, tap, pt, count] = Array.from({ length: 10 }, () => fn.local(i32));
    const c: StripScope = { fn, k, pb, pc, pr, px, py, tap, pt, count };
    // `rows` output rows of every channel.
    const rowGroup = (rows: number): ExprRef[] => [
      m.set(pb, m.get(wArg)),
      m.set(pc, m.i32.add(m.get(wArg), m.i32.const(k.Cout * F))),
      m.set(pr, m.i32.add(m.get(wArg), m.i32.const(2 * k.Cout * F))),
      m.set(py, m.get(yrow)),
      repeat(fn, k.Cout, [
        m.set(px, m.get(prow)),
        ...rowStrips(k.OW, mainVectors(k.sw)).map((s) => repeat(fn, s.count, strip(c, s, rows))),
        // The strips left py at the group's first row's end; on to the same row of the next
        // channel, whose taps follow this one's.
        bump(fn, py, (k.OH - 1) * k.OW * F),
        m.set(pr, m.i32.add(m.get(pr), m.i32.shl(m.i32.load(m.get(pc)), m.i32.const(Math.log2(RECORD))))),
        bump(fn, pc, F),
        bump(fn, pb, F),
      ]),
      bump(fn, prow, rows * k.sh * k.W * F),
      bump(fn, yrow, rows * k.OW * F),
    ];
    const rows = rowsPerStrip(k.OW, mainVectors(k.sw));
    const groups = Math.floor(k.OH / rows);
    return [
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
  /** This output channel's bias, tap count and first tap record. */
  pb: Local; pc: Local; pr: Local;
  /** The strip's first window corner in x, its first output pixel in y. */
  px: Local; py: Local;
  /** The tap record being read, the tap's input pixel for the strip's first output. */
  tap: Local; pt: Local;
  count: Local;
}

/**
 * One strip over `rows` output rows (s.pixels each): bias, taps, epilogue, store; advances
 * px and py along the first row.
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
  const input = (r: number, i: number): ExprRef => (vector
    ? loadPixels(m, c.pt, r * inputRow + pixel(i) * k.sw * F, k.sw)
    : m.f32.load(m.get(c.pt), r * inputRow + pixel(i) * k.sw * F));
  const outputAt = (r: number, i: number) => r * k.OW * F + pixel(i) * F;
  const each = <T>(f: (a: Local, r: number, i: number) => T): T[] => acc.map((a, j) => f(a, Math.floor(j / perRow), j % perRow));
  return [
    bump(fn, c.px, -s.back * k.sw * F),
    bump(fn, c.py, -s.back * F),
    ...acc.map((a) => m.set(a, vector ? m.v128.load32Splat(m.get(c.pb)) : m.f32.load(m.get(c.pb)))),
    m.set(c.tap, m.get(c.pr)),
    m.set(c.count, m.i32.load(m.get(c.pc))),
    repeatRuntime(fn, c.count, [
      m.set(w, vector ? m.v128.load32Splat(m.get(c.tap)) : m.f32.load(m.get(c.tap))),
      m.set(c.pt, m.i32.add(m.get(c.px), m.i32.load(m.get(c.tap), F))),
      ...each((a, r, i) => m.set(a, vector ? m.madd(m.get(w), input(r, i), m.get(a)) : m.f32.add(m.f32.mul(m.get(w), input(r, i)), m.get(a)))),
      bump(fn, c.tap, RECORD),
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
