// Elementwise and data-movement kernels the model schedule needs between the matrix
// products: ReLU, Gelu (erf and tanh forms), same-shape Add, copy and 2-D transpose (the
// sparse kernels read and write activations transposed, tokens contiguous). Sizes are static,
// so each kernel is specialized to its element count: v128 for whole groups of four, scalar
// code for the rest. Every kernel is `name(x, [b,] y)` over byte addresses.

import { bump, repeat } from '../loops.js';
import { geluErfV, geluTanhV } from './vector-math.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';

export type UnaryFn = 'relu' | 'gelu' | 'gelu_tanh';

const F = 4;

/** `body` once per group of 4 (vector) and once per leftover element (scalar), advancing `ptrs`. */
export function walk(fn: FunctionScope, size: number, ptrs: Local[], vector: (() => ExprRef[]) | undefined, scalar: () => ExprRef[]): ExprRef[] {
  const groups = vector ? Math.floor(size / 4) : 0;
  const advance = (bytes: number) => ptrs.map((p) => bump(fn, p, bytes));
  return [
    ...(vector && groups > 0 ? [repeat(fn, groups, [...vector(), ...advance(16)])] : []),
    repeat(fn, size - groups * 4, [...scalar(), ...advance(F)]),
  ];
}

/** Add `name(x, y)`: y = fn(x) over `size` floats. */
export function emitUnary(m: WasmModule, name: string, size: number, fnKind: UnaryFn): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    if (fnKind === 'relu') {
      return walk(fn, size, [px, py],
        () => [m.v128.store(m.get(py), m.f32x4.max(m.v128.load(m.get(px)), m.v128.zero()))],
        () => [m.f32.store(m.get(py), m.f32.max(m.f32.load(m.get(px)), m.f32.const(0)))]);
    }
    const [x, t, xv, tv] = [fn.local(f32), fn.local(f32), fn.local(v128), fn.local(v128)];
    const value = fnKind === 'gelu' ? geluErf(fn, x, t) : geluTanh(fn, x, t);
    const vector = fnKind === 'gelu' ? geluErfV(fn, xv, tv) : geluTanhV(fn, xv, tv);
    return walk(fn, size, [px, py],
      () => [m.set(xv, m.v128.load(m.get(px))), ...vector, m.v128.store(m.get(py), m.get(tv))],
      () => [m.set(x, m.f32.load(m.get(px))), ...value, m.f32.store(m.get(py), m.get(t))]);
  });
}

/** Add `name(a, b, y)`: y = a + b over `size` floats. */
export function emitAdd(m: WasmModule, name: string, size: number): void {
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [pa, pb, py] = [fn.param(0), fn.param(1), fn.param(2)];
    return walk(fn, size, [pa, pb, py],
      () => [m.v128.store(m.get(py), m.f32x4.add(m.v128.load(m.get(pa)), m.v128.load(m.get(pb))))],
      () => [m.f32.store(m.get(py), m.f32.add(m.f32.load(m.get(pa)), m.f32.load(m.get(pb))))]);
  });
}

/** Add `name(x, y)`: copy `size` floats. */
export function emitCopy(m: WasmModule, name: string, size: number): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    return walk(fn, size, [px, py], () => [m.v128.store(m.get(py), m.v128.load(m.get(px)))], () => [m.f32.store(m.get(py), m.f32.load(m.get(px)))]);
  });
}

/** Add `name(x, y)`: y [cols, rows] = x [rows, cols]^T. */
export function emitTranspose(m: WasmModule, name: string, rows: number, cols: number): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, yArg] = [fn.param(0), fn.param(1)];
    const [py, col] = [fn.local(i32), fn.local(i32)];
    // x is read in order; each row of x becomes a column of y (stride rows*4 bytes).
    return [
      m.set(col, m.get(yArg)),
      repeat(fn, rows, [
        m.set(py, m.get(col)),
        repeat(fn, cols, [m.f32.store(m.get(py), m.f32.load(m.get(px))), bump(fn, px, F), bump(fn, py, rows * F)]),
        bump(fn, col, F),
      ]),
    ];
  });
}

// ---- scalar math: exp by range reduction, erf, Gelu ----

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693145751953125; // ln 2 split so k * LN2_HI is exact in f32
const LN2_LO = 1.4286067653e-6;

/**
 * Set `out` := exp(value of `arg`), `arg` clamped to [-87, 88] (f32's normal range). exp(a) =
 * 2^k exp(r) with k = round(a log2 e) and |r| <= ln2/2; exp(r) by its degree-6 Taylor
 * polynomial (relative error below 2e-7), 2^k built from its exponent bits.
 */
export function exp(m: WasmModule, arg: Local, k: Local, out: Local): ExprRef[] {
  const c = (x: number) => m.f32.const(x);
  const r = () => m.get(out);
  let poly = c(1 / 720);
  for (const coef of [1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]) poly = m.f32.add(m.f32.mul(poly, r()), c(coef));
  return [
    m.set(arg, m.f32.min(m.f32.max(m.get(arg), c(-87)), c(88))),
    m.set(k, m.f32.nearest(m.f32.mul(m.get(arg), c(LOG2E)))),
    m.set(out, m.f32.sub(m.f32.sub(m.get(arg), m.f32.mul(m.get(k), c(LN2_HI))), m.f32.mul(m.get(k), c(LN2_LO)))),
    m.set(out, poly),
    m.set(out, m.f32.mul(m.get(out), m.f32.fromBits(m.i32.shl(m.i32.add(m.i32.truncF32(m.get(k)), m.i32.const(127)), m.i32.const(23))))),
  ];
}

/**
 * t := 0.5 x (1 + erf(x / sqrt 2)), erf by Abramowitz & Stegun 7.1.26 (absolute error below
 * 1.5e-7): erf(z) = 1 - (a1 s + ... + a5 s^5) exp(-z^2), s = 1 / (1 + p z), z >= 0, odd.
 */
function geluErf(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const [z, s, arg, k] = [fn.local(f32), fn.local(f32), fn.local(f32), fn.local(f32)];
  const c = (v: number) => m.f32.const(v);
  const [a1, a2, a3, a4, a5, p] = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911];
  let poly = c(a5);
  for (const a of [a4, a3, a2, a1]) poly = m.f32.add(m.f32.mul(poly, m.get(s)), c(a));
  poly = m.f32.mul(poly, m.get(s));
  return [
    m.set(z, m.f32.mul(m.f32.abs(m.get(x)), c(Math.SQRT1_2))),
    m.set(s, m.f32.div(c(1), m.f32.add(c(1), m.f32.mul(c(p), m.get(z))))),
    m.set(arg, m.f32.sub(c(0), m.f32.mul(m.get(z), m.get(z)))),
    ...exp(m, arg, k, t),
    // t = erf(|x| / sqrt 2), then given x's sign.
    m.set(t, m.f32.copysign(m.f32.sub(c(1), m.f32.mul(poly, m.get(t))), m.get(x))),
    m.set(t, m.f32.mul(m.f32.mul(c(0.5), m.get(x)), m.f32.add(c(1), m.get(t)))),
  ];
}

/** t := 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), tanh(u) = 1 - 2 / (exp(2u) + 1). */
function geluTanh(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const [arg, k] = [fn.local(f32), fn.local(f32)];
  const c = (v: number) => m.f32.const(v);
  const cube = m.f32.mul(m.get(x), m.f32.mul(m.get(x), m.get(x)));
  return [
    m.set(arg, m.f32.mul(c(2 * Math.sqrt(2 / Math.PI)), m.f32.add(m.get(x), m.f32.mul(c(0.044715), cube)))),
    ...exp(m, arg, k, t),
    m.set(t, m.f32.sub(c(1), m.f32.div(c(2), m.f32.add(m.get(t), c(1))))),
    m.set(t, m.f32.mul(m.f32.mul(c(0.5), m.get(x)), m.f32.add(c(1), m.get(t)))),
  ];
}
