// The input vectors of one kernel row for four neighbouring output pixels of a direct
// convolution over a padded NCHW row: for tap kx, lane j holds x[(j * stride + kx * dilation)].
// At stride 1 each tap is one unaligned load. At stride 2 (dilation 1) the row's pixels 0..8
// come in as two v128 loads and one 32-bit load, and the taps are their even and odd lanes
// (shuffles that x64 does in one instruction each: shufps, palignr) instead of four lane loads
// per tap; the loads never reach past the last pixel the window of output 3 reads (7 or 8).
// Other geometries load lane by lane.

import { v128, type ExprRef, type FunctionScope, type Local } from '../module.js';

const F = 4;

/** Where the tap vectors of one row live; `load` fills the locals, then `tap(kx)` reads them. */
export class RowTaps {
  private readonly taps: Local[];
  private readonly raw: Local[];

  constructor(private readonly fn: FunctionScope, readonly kw: number, readonly stride: number, readonly dilation: number) {
    this.taps = Array.from({ length: kw }, () => fn.local(v128));
    this.raw = this.shuffled() ? [fn.local(v128), fn.local(v128), fn.local(v128)] : [];
  }

  /** Stride 2 with two or three taps: the shuffle form (one tap would read pixel 7, past its last one, 6). */
  private shuffled(): boolean {
    return this.stride === 2 && this.dilation === 1 && (this.kw === 2 || this.kw === 3);
  }

  /** Statements that load the taps of the row whose first window pixel is at *ptr + offset. */
  load(ptr: Local, offset: number): ExprRef[] {
    const m = this.fn.m;
    const { taps, kw, stride, dilation } = this;
    if (stride === 1) return taps.map((t, kx) => m.set(t, m.v128.load(m.get(ptr), offset + kx * dilation * F)));
    if (!this.shuffled()) return taps.map((t, kx) => m.set(t, lanes(this.fn, ptr, offset + kx * dilation * F, stride)));
    const [a, b, c] = this.raw as [Local, Local, Local];
    const out = [m.set(a, m.v128.load(m.get(ptr), offset)), m.set(b, m.v128.load(m.get(ptr), offset + 16))];
    out.push(m.set(taps[0]!, m.bits.shuffle32(m.get(a), m.get(b), [0, 2, 4, 6])));
    if (kw > 1) out.push(m.set(taps[1]!, m.bits.shuffle32(m.get(a), m.get(b), [1, 3, 5, 7])));
    if (kw > 2) {
      out.push(m.set(c, m.v128.load32Zero(m.get(ptr), offset + 32)));
      out.push(m.set(taps[2]!, m.bits.shuffle32(m.get(taps[0]!), m.get(c), [1, 2, 3, 4])));
    }
    return out;
  }

  tap(kx: number): ExprRef {
    return this.fn.m.get(this.taps[kx]!);
  }
}

/** Four pixels `stride` apart from *ptr + offset, lane by lane. */
function lanes(fn: FunctionScope, ptr: Local, offset: number, stride: number): ExprRef {
  const m = fn.m;
  let v = m.v128.load32Zero(m.get(ptr), offset);
  for (let lane = 1; lane < 4; lane++) v = m.v128.load32Lane(m.get(ptr), v, lane, offset + lane * stride * F);
  return v;
}
