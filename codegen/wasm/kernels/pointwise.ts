// Pointwise kernels beyond ReLU/Gelu/Add: binary arithmetic with a repeated (broadcast)
// second operand, select by a constant mask (Where), and unary maps (Neg, Sigmoid, SiLU, Tanh,
// int64 -> float32 conversion of ids and masks, copy).

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import type { BinaryFn, MapFn } from '../../tensor-kernels.js';
import { exp, walk } from './elementwise.js';

/** Add `name(a, b, y)`: y = a fn b (b fn a when `swap`), b's `bSize` elements repeated along `size`. */
export function emitBinary(m: WasmModule, name: string, k: { fn: BinaryFn; size: number; bSize: number; swap: boolean }): void {
  const vec = { add: m.f32x4.add, sub: m.f32x4.sub, mul: m.f32x4.mul, div: m.f32x4.div }[k.fn];
  const sca = { add: m.f32.add, sub: m.f32.sub, mul: m.f32.mul, div: m.f32.div }[k.fn];
  const apply = (f: (a: ExprRef, b: ExprRef) => ExprRef, a: ExprRef, b: ExprRef) => (k.swap ? f(b, a) : f(a, b));
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [pa, pbArg, py] = [fn.param(0), fn.param(1), fn.param(2)];
    if (k.bSize === 1) {
      const [s, sv] = [fn.local(f32), fn.local(v128)];
      return [
        m.set(s, m.f32.load(m.get(pbArg))),
        m.set(sv, m.f32x4.splat(m.get(s))),
        ...walk(fn, k.size, [pa, py],
          () => [m.v128.store(m.get(py), apply(vec, m.v128.load(m.get(pa)), m.get(sv)))],
          () => [m.f32.store(m.get(py), apply(sca, m.f32.load(m.get(pa)), m.get(s)))]),
      ];
    }
    const pb = fn.local(i32);
    return [repeat(fn, k.size / k.bSize, [
      m.set(pb, m.get(pbArg)),
      ...walk(fn, k.bSize, [pa, pb, py],
        () => [m.v128.store(m.get(py), apply(vec, m.v128.load(m.get(pa)), m.v128.load(m.get(pb))))],
        () => [m.f32.store(m.get(py), apply(sca, m.f32.load(m.get(pa)), m.f32.load(m.get(pb))))]),
    ])];
  });
}

/** Add `name(cond, a, b, y)`: y = cond != 0 ? a : b over `size` floats. */
export function emitWhere(m: WasmModule, name: string, size: number): void {
  m.addFunction(name, [i32, i32, i32, i32], none, (fn) => {
    const [pc, pa, pb, py] = [fn.param(0), fn.param(1), fn.param(2), fn.param(3)];
    return [repeat(fn, size, [
      m.f32.store(m.get(py), m.select(m.i32.ne(m.i32.load(m.get(pc)), m.i32.const(0)), m.f32.load(m.get(pa)), m.f32.load(m.get(pb)))),
      ...[pc, pa, pb, py].map((p) => bump(fn, p, 4)),
    ])];
  });
}

/** Add `name(x, y)`: y = fn(x) over `size` floats. */
export function emitMap(m: WasmModule, name: string, size: number, kind: MapFn): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    if (kind === 'copy') return walk(fn, size, [px, py], () => [m.v128.store(m.get(py), m.v128.load(m.get(px)))], () => [m.f32.store(m.get(py), m.f32.load(m.get(px)))]);
    if (kind === 'from-int64') {
      // The low 32 bits: ids and masks are small.
      return [repeat(fn, size, [m.f32.store(m.get(py), m.f32.fromI32(m.i32.load(m.get(px)))), bump(fn, px, 8), bump(fn, py, 4)])];
    }
    if (kind === 'neg') {
      return walk(fn, size, [px, py],
        () => [m.v128.store(m.get(py), m.f32x4.sub(m.v128.zero(), m.v128.load(m.get(px))))],
        () => [m.f32.store(m.get(py), m.f32.neg(m.f32.load(m.get(px))))]);
    }
    const [x, arg, kk, e] = [fn.local(f32), fn.local(f32), fn.local(f32), fn.local(f32)];
    // sigmoid(x) = 1 / (1 + exp(-x)); SiLU multiplies it by x; tanh(x) = 1 - 2 / (exp(2x) + 1).
    const sig = m.f32.div(m.f32.const(1), m.f32.add(m.f32.const(1), m.get(e)));
    const tanh = m.f32.sub(m.f32.const(1), m.f32.div(m.f32.const(2), m.f32.add(m.get(e), m.f32.const(1))));
    return walk(fn, size, [px, py], undefined, () => [
      m.set(x, m.f32.load(m.get(px))),
      m.set(arg, kind === 'tanh' ? m.f32.add(m.get(x), m.get(x)) : m.f32.neg(m.get(x))),
      ...exp(m, arg, kk, e),
      m.f32.store(m.get(py), kind === 'tanh' ? tanh : kind === 'silu' ? m.f32.mul(m.get(x), sig) : sig),
    ]);
  });
}
