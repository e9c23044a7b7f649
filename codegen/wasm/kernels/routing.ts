// Mixture-of-experts routing over short rows: TopK along the last axis (values or int64
// indices; ties keep the lower index first, as ONNX specifies), ReduceSum of trailing
// elements, and ScatterElements of per-row updates into a copy of the data.

import { bump, repeat } from '../loops.js';
import { f32, i32, none, type WasmModule } from '../module.js';
import { walk } from './elementwise.js';

/**
 * Add `name(x, y)`: the k largest of each row of `cols`, in order: their values (f32) or,
 * when `indices`, their positions as int64. Pick p is the best element strictly after pick
 * p-1 in the order (value descending, index ascending), so no scratch marks are needed.
 */
export function emitTopK(m: WasmModule, name: string, rows: number, cols: number, k: number, indices: boolean): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const [q, i, bi, pi] = [fn.local(i32), fn.local(i32), fn.local(i32), fn.local(i32)];
    const [v, best, pv] = [fn.local(f32), fn.local(f32), fn.local(f32)];
    const after = m.i32.or(m.f32.lt(m.get(v), m.get(pv)), m.i32.and(m.f32.eq(m.get(v), m.get(pv)), m.i32.gtS(m.get(i), m.get(pi))));
    const better = m.i32.or(m.f32.gt(m.get(v), m.get(best)), m.i32.ltS(m.get(bi), m.i32.const(0)));
    return [repeat(fn, rows, [
      m.set(pv, m.f32.const(Infinity)),
      m.set(pi, m.i32.const(-1)),
      repeat(fn, k, [
        m.set(q, m.get(px)),
        m.set(i, m.i32.const(0)),
        m.set(bi, m.i32.const(-1)),
        m.set(best, m.f32.const(-Infinity)),
        repeat(fn, cols, [
          m.set(v, m.f32.load(m.get(q))),
          m.if(m.i32.and(after, better), m.block(null, [m.set(best, m.get(v)), m.set(bi, m.get(i))])),
          bump(fn, q, 4),
          m.set(i, m.i32.add(m.get(i), m.i32.const(1))),
        ]),
        indices
          ? m.block(null, [m.i32.store(m.get(py), m.get(bi)), m.i32.store(m.get(py), m.i32.const(0), 4), bump(fn, py, 8)])
          : m.block(null, [m.f32.store(m.get(py), m.get(best)), bump(fn, py, 4)]),
        m.set(pv, m.get(best)),
        m.set(pi, m.get(bi)),
      ]),
      bump(fn, px, cols * 4),
    ])];
  });
}

/** Add `name(x, y)`: y[r] = sum of row r's `cols` elements. */
export function emitRowSum(m: WasmModule, name: string, rows: number, cols: number): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const acc = fn.local(f32);
    return [repeat(fn, rows, [
      m.set(acc, m.f32.const(0)),
      repeat(fn, cols, [m.set(acc, m.f32.add(m.get(acc), m.f32.load(m.get(px)))), bump(fn, px, 4)]),
      m.f32.store(m.get(py), m.get(acc)),
      bump(fn, py, 4),
    ])];
  });
}

/** Add `name(data, indices, updates, y)`: y = data; y[r, indices[r, j]] = updates[r, j] (last axis, int64 indices). */
export function emitScatterRows(m: WasmModule, name: string, rows: number, cols: number, k: number): void {
  m.addFunction(name, [i32, i32, i32, i32], none, (fn) => {
    const [pd, pidx, pu, py] = [fn.param(0), fn.param(1), fn.param(2), fn.param(3)];
    const [q, row, id] = [fn.local(i32), fn.local(i32), fn.local(i32)];
    return [
      m.set(q, m.get(py)),
      ...walk(fn, rows * cols, [pd, q], () => [m.v128.store(m.get(q), m.v128.load(m.get(pd)))], () => [m.f32.store(m.get(q), m.f32.load(m.get(pd)))]),
      m.set(row, m.get(py)),
      repeat(fn, rows, [
        repeat(fn, k, [
          m.set(id, m.i32.load(m.get(pidx))),
          m.set(id, m.select(m.i32.ltS(m.get(id), m.i32.const(0)), m.i32.add(m.get(id), m.i32.const(cols)), m.get(id))),
          m.f32.store(m.i32.add(m.get(row), m.i32.shl(m.get(id), m.i32.const(2))), m.f32.load(m.get(pu))),
          bump(fn, pidx, 8),
          bump(fn, pu, 4),
        ]),
        bump(fn, row, cols * 4),
      ]),
    ];
  });
}
