// Products of two computed matrices (attention scores and context), batched over heads:
// y[b] [M, N] = a[b] [M, K] @ c[b] [K, N]. Each output row is accumulated in place from K
// rows of c scaled by one element of a, four columns per v128 (outer-product form: rows of c
// are read contiguously).

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type WasmModule } from '../module.js';
import { walk } from './elementwise.js';

export interface BatchMatMulSpec {
  batch: number;
  M: number;
  K: number;
  N: number;
  /** Elements between consecutive batches of a and c (0: one matrix for every batch). */
  aStride: number;
  bStride: number;
}

/** Add `name(a, c, y)`. */
export function emitBatchMatMul(m: WasmModule, name: string, k: BatchMatMulSpec): void {
  const { batch, M, K, N } = k;
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [pa, pbArg, py] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pb, pbk, q, r] = [fn.local(i32), fn.local(i32), fn.local(i32), fn.local(i32)];
    const [s, sv] = [fn.local(f32), fn.local(v128)];
    const rowBytes = N * 4;
    return [
      m.set(pb, m.get(pbArg)),
      repeat(fn, batch, [
        repeat(fn, M, [
          m.set(q, m.get(py)),
          ...walk(fn, N, [q], () => [m.v128.store(m.get(q), m.v128.zero())], () => [m.f32.store(m.get(q), m.f32.const(0))]),
          m.set(pbk, m.get(pb)),
          repeat(fn, K, [
            m.set(s, m.f32.load(m.get(pa))),
            m.set(sv, m.f32x4.splat(m.get(s))),
            m.set(q, m.get(py)),
            m.set(r, m.get(pbk)),
            ...walk(fn, N, [q, r],
              () => [m.v128.store(m.get(q), m.madd(m.get(sv), m.v128.load(m.get(r)), m.v128.load(m.get(q))))],
              () => [m.f32.store(m.get(q), m.f32.add(m.f32.mul(m.get(s), m.f32.load(m.get(r))), m.f32.load(m.get(q))))]),
            bump(fn, pa, 4),
            bump(fn, pbk, rowBytes),
          ]),
          bump(fn, py, rowBytes),
        ]),
        // a advanced by one matrix (M K elements) inside; move it to the next batch's.
        bump(fn, pa, (k.aStride - M * K) * 4),
        bump(fn, pb, k.bStride * 4),
      ]),
    ];
  });
}
