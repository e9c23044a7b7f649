// Elementwise and data-movement kernels the model schedule needs between the matrix
// products: ReLU, Gelu (erf and tanh forms), same-shape Add, copy and 2-D transpose (the
// sparse kernels read and write activations transposed, tokens contiguous). Sizes are static,
// so each kernel is specialized to its element count: v128 for whole groups of four, scalar
// code for the rest. Every kernel is `name(x, [b,] y)` over byte addresses.

import { bump, repeat } from '../loops.js';
import { ERF_CLAMP, ERF_P, ERF_Q, EXP_POLY, GELU_TANH_CUBIC, GELU_TANH_SCALE, TANH_CLAMP, TANH_P, TANH_Q, geluErfV, geluTanhV, horner } from './vector-math.js';
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
    const [x, t] = [fn.local(f32), fn.local(f32)];
    const value = fnKind === 'gelu' ? geluErf(fn, x, t) : geluTanh(fn, x, t);
    // Two vectors per step, their statements interleaved: two independent dependency chains
    // (the math is a long chain of 3-4 cycle operations).
    const vector = (offset: number) => {
      const [xv, tv] = [fn.local(v128), fn.local(v128)];
      const body = fnKind === 'gelu' ? geluErfV(fn, xv, tv) : geluTanhV(fn, xv, tv);
      return [m.set(xv, m.v128.load(m.get(px), offset)), ...body, m.v128.store(m.get(py), m.get(tv), offset)];
    };
    const [a, b] = [vector(0), vector(16)];
    const pairs = Math.floor(size / 8);
    return [
      repeat(fn, pairs, [...a.flatMap((e, i) => [e, b[i]!]), bump(fn, px, 32), bump(fn, py, 32)]),
      ...walk(fn, size - pairs * 8, [px, py], () => vector(0), () => [m.set(x, m.f32.load(m.get(px))), ...value, m.f32.store(m.get(py), m.get(t))]),
    ];
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
  if (rows % 4 === 0 && cols % 4 === 0) emitTranspose4x4(m, name, rows, cols);
  else emitTransposeScalar(m, name, rows, cols);
}

/** The transpose by 4x4 blocks: four rows of x loaded as v128, regrouped by lanes, stored as four rows of y. */
function emitTranspose4x4(m: WasmModule, name: string, rows: number, cols: number): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, yArg] = [fn.param(0), fn.param(1)];
    const [pxb, pyb, ycol] = [fn.local(i32), fn.local(i32), fn.local(i32)];
    const v = Array.from({ length: 4 }, () => fn.local(v128));
    const t = Array.from({ length: 4 }, () => fn.local(v128));
    const g = (l: Local) => m.get(l);
    return [
      m.set(ycol, m.get(yArg)),
      repeat(fn, rows / 4, [
        m.set(pxb, m.get(px)),
        m.set(pyb, m.get(ycol)),
        repeat(fn, cols / 4, [
          ...v.map((l, r) => m.set(l, m.v128.load(m.get(pxb), r * cols * F))),
          m.set(t[0]!, m.bits.shuffle32(g(v[0]!), g(v[1]!), [0, 4, 1, 5])),
          m.set(t[1]!, m.bits.shuffle32(g(v[0]!), g(v[1]!), [2, 6, 3, 7])),
          m.set(t[2]!, m.bits.shuffle32(g(v[2]!), g(v[3]!), [0, 4, 1, 5])),
          m.set(t[3]!, m.bits.shuffle32(g(v[2]!), g(v[3]!), [2, 6, 3, 7])),
          m.v128.store(m.get(pyb), m.bits.shuffle32(g(t[0]!), g(t[2]!), [0, 1, 4, 5]), 0),
          m.v128.store(m.get(pyb), m.bits.shuffle32(g(t[0]!), g(t[2]!), [2, 3, 6, 7]), rows * F),
          m.v128.store(m.get(pyb), m.bits.shuffle32(g(t[1]!), g(t[3]!), [0, 1, 4, 5]), 2 * rows * F),
          m.v128.store(m.get(pyb), m.bits.shuffle32(g(t[1]!), g(t[3]!), [2, 3, 6, 7]), 3 * rows * F),
          bump(fn, pxb, 4 * F),
          bump(fn, pyb, 4 * rows * F),
        ]),
        bump(fn, px, 4 * cols * F),
        bump(fn, ycol, 4 * F),
      ]),
    ];
  });
}

function emitTransposeScalar(m: WasmModule, name: string, rows: number, cols: number): void {
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

// ---- scalar math: exp by range reduction (softmax), Gelu (erf and tanh forms) ----

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693145751953125; // ln 2 split so k * LN2_HI is exact in f32
const LN2_LO = 1.4286067653e-6;

/**
 * Set `out` := exp(value of `arg`), `arg` clamped to [-87, 88] (f32's normal range). exp(a) =
 * 2^k exp(r) with k = round(a log2 e) and |r| <= ln2/2; exp(r) by EXP_POLY of vector-math.ts
 * (relative error below 2e-7), 2^k built from its exponent bits.
 */
export function exp(m: WasmModule, arg: Local, k: Local, out: Local): ExprRef[] {
  const c = (x: number) => m.f32.const(x);
  const r = () => m.get(out);
  const poly = horner(EXP_POLY, r, (a, b) => m.f32.add(a, b), (a, b) => m.f32.mul(a, b), c);
  return [
    m.set(arg, m.f32.min(m.f32.max(m.get(arg), c(-87)), c(88))),
    m.set(k, m.f32.nearest(m.f32.mul(m.get(arg), c(LOG2E)))),
    m.set(out, m.f32.sub(m.f32.sub(m.get(arg), m.f32.mul(m.get(k), c(LN2_HI))), m.f32.mul(m.get(k), c(LN2_LO)))),
    m.set(out, poly),
    m.set(out, m.f32.mul(m.get(out), m.f32.fromBits(m.i32.shl(m.i32.add(m.i32.truncF32(m.get(k)), m.i32.const(127)), m.i32.const(23))))),
  ];
}

/** t := 0.5 x + 0.5 x erf(x / sqrt 2), erf by the rational form of vector-math.ts (ERF_P / ERF_Q). */
export function geluErf(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const [cl, sq] = [fn.local(f32), fn.local(f32)];
  const c = (v: number) => m.f32.const(v);
  const add = (a: ExprRef, b: ExprRef) => m.f32.add(a, b);
  const mul = (a: ExprRef, b: ExprRef) => m.f32.mul(a, b);
  const half = () => m.f32.mul(c(0.5), m.get(x));
  return [
    m.set(cl, m.f32.min(m.f32.max(m.get(x), c(-ERF_CLAMP)), c(ERF_CLAMP))),
    m.set(sq, m.f32.mul(m.get(cl), m.get(cl))),
    m.set(t, m.f32.div(m.f32.mul(m.get(cl), horner(ERF_P, () => m.get(sq), add, mul, c)), horner(ERF_Q, () => m.get(sq), add, mul, c))),
    m.set(t, m.f32.add(half(), m.f32.mul(half(), m.get(t)))),
  ];
}

/** t := 0.5 x + 0.5 x tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3), tanh by the rational form of vector-math.ts. */
export function geluTanh(fn: FunctionScope, x: Local, t: Local): ExprRef[] {
  const m = fn.m;
  const [cl, sq] = [fn.local(f32), fn.local(f32)];
  const c = (v: number) => m.f32.const(v);
  const add = (a: ExprRef, b: ExprRef) => m.f32.add(a, b);
  const mul = (a: ExprRef, b: ExprRef) => m.f32.mul(a, b);
  const half = () => m.f32.mul(c(0.5), m.get(x));
  const cube = m.f32.mul(m.get(x), m.f32.mul(m.get(x), m.get(x)));
  return [
    m.set(cl, m.f32.mul(c(GELU_TANH_SCALE), m.f32.add(m.get(x), m.f32.mul(c(GELU_TANH_CUBIC), cube)))),
    m.set(cl, m.f32.min(m.f32.max(m.get(cl), c(-TANH_CLAMP)), c(TANH_CLAMP))),
    m.set(sq, m.f32.mul(m.get(cl), m.get(cl))),
    m.set(t, m.f32.div(m.f32.mul(m.get(cl), horner(TANH_P, () => m.get(sq), add, mul, c)), horner(TANH_Q, () => m.get(sq), add, mul, c))),
    m.set(t, m.f32.add(half(), m.f32.mul(half(), m.get(t)))),
  ];
}

