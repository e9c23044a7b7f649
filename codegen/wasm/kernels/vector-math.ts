// Four-lane forms of the in-module math (exp, the erf Gelu, the tanh Gelu): lane for lane the
// same operations, constants and order as the scalar forms in elementwise.ts, so a vectorized
// kernel gives the same bits as the scalar one on every element.

import type { ExprRef, FunctionScope, Local, WasmModule } from '../module.js';
import { v128 } from '../module.js';

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.4286067653e-6;

/** 1.5 * 2^23: adding it rounds an f32 of magnitude below 2^22 to an integer, ties to even. */
const ROUND = 12582912;
const ROUND_BITS = 0x4b400000;

/**
 * `out` := exp(value of `arg`) per lane (clobbers `arg` and `k`): exp() of elementwise.ts on
 * four lanes, bit for bit. Cheaper ops with the same results on the clamped range: pmin/pmax
 * for min/max (they differ only on NaN order and signed zeros, and keep a NaN `arg`), and the
 * round-to-nearest-even of k as x + 1.5 2^23 - 1.5 2^23, whose sum's low bits are k itself
 * (so 2^k needs no float-to-int conversion).
 */
export function expV(m: WasmModule, arg: Local, k: Local, out: Local): ExprRef[] {
  const c = (x: number) => m.f32x4.splatConst(x);
  const f = m.f32x4;
  let poly = c(1 / 720);
  for (const coef of [1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]) poly = f.add(f.mul(poly, m.get(out)), c(coef));
  const rounded = () => f.sub(m.get(k), c(ROUND));
  return [
    m.set(arg, m.f32x4.pmin(m.f32x4.pmax(m.get(arg), c(-87)), c(88))),
    // k holds k + 1.5 2^23 here: its bits are ROUND_BITS + k.
    m.set(k, f.add(f.mul(m.get(arg), c(LOG2E)), c(ROUND))),
    m.set(out, f.sub(f.sub(m.get(arg), f.mul(rounded(), c(LN2_HI))), f.mul(rounded(), c(LN2_LO)))),
    m.set(out, poly),
    m.set(out, f.mul(m.get(out), m.bits.i32Shl(m.bits.i32Add(m.get(k), m.bits.splatConst(127 - ROUND_BITS)), 23))),
  ];
}

/** t := Gelu(x) per lane, the erf form (geluErf of elementwise.ts on four lanes). */
export function geluErfV(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const f = m.f32x4;
  const [z, sv, arg, k] = [fn.local(v128), fn.local(v128), fn.local(v128), fn.local(v128)];
  const c = (v: number) => f.splatConst(v);
  const [a1, a2, a3, a4, a5, p] = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911];
  let poly = c(a5);
  for (const a of [a4, a3, a2, a1]) poly = f.add(f.mul(poly, m.get(sv)), c(a));
  poly = f.mul(poly, m.get(sv));
  return [
    m.set(z, f.mul(m.f32x4.abs(m.get(x)), c(Math.SQRT1_2))),
    m.set(sv, f.div(c(1), f.add(c(1), f.mul(c(p), m.get(z))))),
    m.set(arg, f.sub(m.v128.zero(), f.mul(m.get(z), m.get(z)))),
    ...expV(m, arg, k, t),
    // copysign: the magnitude's bits with x's sign bit.
    m.set(t, m.bits.select(m.get(x), f.sub(c(1), f.mul(poly, m.get(t))), m.bits.splatConst(-0x80000000))),
    m.set(t, f.mul(f.mul(c(0.5), m.get(x)), f.add(c(1), m.get(t)))),
  ];
}

/** t := Gelu(x) per lane, the tanh form (geluTanh of elementwise.ts on four lanes). */
export function geluTanhV(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const f = m.f32x4;
  const [arg, k] = [fn.local(v128), fn.local(v128)];
  const c = (v: number) => f.splatConst(v);
  const cube = f.mul(m.get(x), f.mul(m.get(x), m.get(x)));
  return [
    m.set(arg, f.mul(c(2 * Math.sqrt(2 / Math.PI)), f.add(m.get(x), f.mul(c(0.044715), cube)))),
    ...expV(m, arg, k, t),
    m.set(t, f.sub(c(1), f.div(c(2), f.add(m.get(t), c(1))))),
    m.set(t, f.mul(f.mul(c(0.5), m.get(x)), f.add(c(1), m.get(t)))),
  ];
}
