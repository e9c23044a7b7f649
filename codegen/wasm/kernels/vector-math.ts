// Four-lane forms of the in-module math (exp, the erf Gelu, the tanh Gelu): lane for lane the
// same operations, constants and order as the scalar forms in elementwise.ts, so a vectorized
// kernel gives the same bits as the scalar one on every element (its tail included).

import type { ExprRef, FunctionScope, Local, WasmModule } from '../module.js';
import { v128 } from '../module.js';

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.4286067653e-6;

/** 1.5 * 2^23: adding it rounds an f32 of magnitude below 2^22 to an integer, ties to even. */
const ROUND = 12582912;
const ROUND_BITS = 0x4b400000;

/**
 * exp(r) on |r| <= ln2/2 by a degree-5 polynomial fitted for relative error (9e-8; the whole
 * f32 exp below 2e-7), one degree less than the Taylor polynomial of the same accuracy.
 * Lowest degree first.
 */
export const EXP_POLY = [1, 0.9999997071863059, 0.4999914952144293, 0.16667636199395341, 0.041897930528222445, 0.008290314920465697];

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
  const poly = horner(EXP_POLY, () => m.get(out), (a, b) => f.add(a, b), (a, b) => f.mul(a, b), c);
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

/**
 * erf(x / sqrt 2) = c P(c^2) / Q(c^2), c = x clamped to +-ERF_CLAMP: a rational approximation
 * fitted to this range (absolute error below 4e-7 when evaluated in f32). No exp and one
 * division, so about half the operations of 1 - poly(s) exp(-z^2) (Abramowitz & Stegun). At
 * the clamp it evaluates to exactly +-1 in f32, so Gelu of a large negative x is exactly 0.
 * Coefficients lowest degree first; Q's constant term is 1.
 */
export const ERF_CLAMP = 4 * Math.SQRT2;
export const ERF_P = [0.7978844261642725, 0.06938274583092154, 0.00945168679651505, 0.0003538564481559461, 1.2729497360597971e-5, 4.3638607810647656e-8];
export const ERF_Q = [1, 0.2536239567249662, 0.029118593621319928, 0.0019304989238325364, 7.601908492719373e-5, 1.171276413199085e-6];

/** The polynomial `coefs` (lowest degree first) at `t` by Horner's rule, through `add`/`mul`/`konst`. */
export function horner<E>(coefs: readonly number[], t: () => E, add: (a: E, b: E) => E, mul: (a: E, b: E) => E, konst: (v: number) => E): E {
  let acc = konst(coefs[coefs.length - 1]!);
  for (let i = coefs.length - 2; i >= 0; i--) acc = add(mul(acc, t()), konst(coefs[i]!));
  return acc;
}

/**
 * t := Gelu(x) per lane, the erf form (geluErf of elementwise.ts on four lanes): the same
 * operations in the same order, so the same bits. pmin/pmax keep a NaN x.
 */
export function geluErfV(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const f = m.f32x4;
  const [cl, sq] = [fn.local(v128), fn.local(v128)];
  const c = (v: number) => f.splatConst(v);
  const add = (a: ExprRef, b: ExprRef) => f.add(a, b);
  const mul = (a: ExprRef, b: ExprRef) => f.mul(a, b);
  const half = () => f.mul(c(0.5), m.get(x));
  return [
    m.set(cl, f.pmin(f.pmax(m.get(x), c(-ERF_CLAMP)), c(ERF_CLAMP))),
    m.set(sq, f.mul(m.get(cl), m.get(cl))),
    m.set(t, f.div(f.mul(m.get(cl), horner(ERF_P, () => m.get(sq), add, mul, c)), horner(ERF_Q, () => m.get(sq), add, mul, c))),
    m.set(t, f.add(half(), f.mul(half(), m.get(t)))),
  ];
}

/**
 * tanh(u) = c P(c^2) / Q(c^2), c = u clamped to +-TANH_CLAMP, fitted like ERF_P / ERF_Q (absolute
 * error below 4e-7 in f32, exactly +-1 at the clamp): no exp, one division.
 */
export const TANH_CLAMP = 9;
export const TANH_P = [0.9999999064871155, 0.13373230629389304, 0.003486620214811479, 2.0472430592445058e-5, 1.3184998398640957e-8];
export const TANH_Q = [1, 0.46706527543308496, 0.025842127003015247, 0.00032714467322971235, 7.702992531229136e-7];

/** u = sqrt(2/pi) (x + 0.044715 x^3), the tanh Gelu's argument. */
export const GELU_TANH_SCALE = Math.sqrt(2 / Math.PI);
export const GELU_TANH_CUBIC = 0.044715;

/** t := Gelu(x) per lane, the tanh form (geluTanh of elementwise.ts on four lanes, the same bits). */
export function geluTanhV(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const f = m.f32x4;
  const [cl, sq] = [fn.local(v128), fn.local(v128)];
  const c = (v: number) => f.splatConst(v);
  const add = (a: ExprRef, b: ExprRef) => f.add(a, b);
  const mul = (a: ExprRef, b: ExprRef) => f.mul(a, b);
  const half = () => f.mul(c(0.5), m.get(x));
  const cube = f.mul(m.get(x), f.mul(m.get(x), m.get(x)));
  return [
    m.set(cl, f.mul(c(GELU_TANH_SCALE), f.add(m.get(x), f.mul(c(GELU_TANH_CUBIC), cube)))),
    m.set(cl, f.pmin(f.pmax(m.get(cl), c(-TANH_CLAMP)), c(TANH_CLAMP))),
    m.set(sq, f.mul(m.get(cl), m.get(cl))),
    m.set(t, f.div(f.mul(m.get(cl), horner(TANH_P, () => m.get(sq), add, mul, c)), horner(TANH_Q, () => m.get(sq), add, mul, c))),
    m.set(t, f.add(half(), f.mul(half(), m.get(t)))),
  ];
}
