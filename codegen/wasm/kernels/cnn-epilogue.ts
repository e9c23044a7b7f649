// The activations CNN kernels apply to a result before storing it (cnn-kernels.ts Epilogue):
// clip to [lo, hi] and hardswish. Four-lane clamps use pmax/pmin (one instruction each on
// x64; f32x4.min/max add NaN and -0 fix-ups, and clip was 3x slower through them). The value
// is the first operand, so a NaN passes through as the scalar min/max would pass it.

import type { ExprRef, Local, WasmModule } from '../module.js';
import type { Epilogue } from '../../cnn-kernels.js';

/** v clamped to [lo, hi] per lane. */
export function clampV(m: WasmModule, v: ExprRef, lo: number, hi: number): ExprRef {
  const low = lo === -Infinity ? v : m.f32x4.pmax(v, m.f32x4.splatConst(lo));
  return hi === Infinity ? low : m.f32x4.pmin(low, m.f32x4.splatConst(hi));
}

/** v clamped to [lo, hi]. */
export function clampS(m: WasmModule, v: ExprRef, lo: number, hi: number): ExprRef {
  return m.f32.min(m.f32.max(v, m.f32.const(lo)), m.f32.const(hi));
}

/** The value of `acc` (v128 when `vector`, else f32) after the epilogue, if any. */
export function applyEpilogue(m: WasmModule, acc: Local, vector: boolean, ep: Epilogue | undefined): ExprRef {
  if (!ep) return m.get(acc);
  const clamp = (v: ExprRef, lo: number, hi: number) => (vector ? clampV(m, v, lo, hi) : clampS(m, v, lo, hi));
  if (ep.fn === 'clamp') return clamp(m.get(acc), ep.lo, ep.hi);
  const [mul, add, c] = vector ? [m.f32x4.mul, m.f32x4.add, m.f32x4.splatConst] : [m.f32.mul, m.f32.add, m.f32.const];
  return mul(m.get(acc), clamp(add(mul(m.get(acc), c(ep.alpha)), c(ep.beta)), 0, 1));
}
