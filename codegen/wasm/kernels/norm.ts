// Row-wise reductions: LayerNormalization / RMSNorm over the last `cols` elements (Softmax is
// in softmax.ts) of each row. Rows are short (the model width), so each row is walked a few
// times from its start: statistics first, then the normalized values, four lanes at a time
// where the row allows.

import { repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { walk } from './elementwise.js';

/**
 * acc := sum over `cols` floats from `from` of term(x): four lanes at a time (`vterm` on
 * v128 loads) and a scalar tail; `x()` emits a fresh load each call.
 */
function rowSum(
  fn: FunctionScope, from: Local, cols: number, acc: Local,
  vterm: (x: () => ExprRef) => ExprRef, term: (x: () => ExprRef) => ExprRef,
): ExprRef[] {
  const m = fn.m;
  const q = fn.local(i32);
  const lanes = fn.local(v128);
  return [
    m.set(q, m.get(from)),
    m.set(lanes, m.v128.zero()),
    m.set(acc, m.f32.const(0)),
    ...walk(fn, cols, [q],
      () => [m.set(lanes, m.f32x4.add(m.get(lanes), vterm(() => m.v128.load(m.get(q)))))],
      () => [m.set(acc, m.f32.add(m.get(acc), term(() => m.f32.load(m.get(q)))))]),
    m.set(acc, m.f32.add(m.get(acc), m.sumLanes(lanes))),
  ];
}

/** Add `name(x, scale, [bias,] y)`: normalize each row of `cols` (LayerNorm, or RMSNorm when `rms`). */
export function emitNorm(m: WasmModule, name: string, k: { rows: number; cols: number; epsilon: number; rms: boolean; bias: boolean }): void {
  const params = k.bias ? [i32, i32, i32, i32] : [i32, i32, i32];
  m.addFunction(name, params, none, (fn) => {
    const px = fn.param(0);
    const scale = fn.param(1);
    const bias = k.bias ? fn.param(2) : undefined;
    const py = fn.param(k.bias ? 3 : 2);
    const [acc, mean, inv] = [fn.local(f32), fn.local(f32), fn.local(f32)];
    const [meanV, invV] = [fn.local(v128), fn.local(v128)];
    const [ps, pb] = [fn.local(i32), fn.local(i32)];
    const c = (v: number) => m.f32.const(v);
    const centered = (x: ExprRef) => (k.rms ? x : m.f32.sub(x, m.get(mean)));
    const centeredV = (x: ExprRef) => (k.rms ? x : m.f32x4.sub(x, m.get(meanV)));
    let value = m.f32.mul(m.f32.mul(centered(m.f32.load(m.get(px))), m.get(inv)), m.f32.load(m.get(ps)));
    if (bias) value = m.f32.add(value, m.f32.load(m.get(pb)));
    let valueV = m.f32x4.mul(m.f32x4.mul(centeredV(m.v128.load(m.get(px))), m.get(invV)), m.v128.load(m.get(ps)));
    if (bias) valueV = m.f32x4.add(valueV, m.v128.load(m.get(pb)));
    const ptrs = [px, py, ps, ...(bias ? [pb] : [])];
    return [repeat(fn, k.rows, [
      ...(k.rms ? [m.set(mean, c(0))] : [...rowSum(fn, px, k.cols, acc, (x) => x(), (x) => x()), m.set(mean, m.f32.div(m.get(acc), c(k.cols)))]),
      m.set(meanV, m.f32x4.splat(m.get(mean))),
      ...rowSum(fn, px, k.cols, acc, (x) => m.f32x4.mul(centeredV(x()), centeredV(x())), (x) => m.f32.mul(centered(x()), centered(x()))),
      m.set(inv, m.f32.div(c(1), m.f32.sqrt(m.f32.add(m.f32.div(m.get(acc), c(k.cols)), c(k.epsilon))))),
      m.set(invV, m.f32x4.splat(m.get(inv))),
      m.set(ps, m.get(scale)),
      ...(bias ? [m.set(pb, m.get(bias))] : []),
      ...walk(fn, k.cols, ptrs, () => [m.v128.store(m.get(py), valueV)], () => [m.f32.store(m.get(py), value)]),
    ])];
  });
}
