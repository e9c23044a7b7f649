// Products of two computed matrices (attention scores and context), batched over heads:
// y[b] [M, N] = a[b] [M, K] @ c[b] [K, N]. Register-tiled when N is a multiple of 4: a tile of
// up to 2 rows x 16 columns of y lives in v128 locals through the whole K loop (each row of c
// loaded once per pair of rows, y stored once). Otherwise each output row is accumulated in
// place from K rows of c scaled by one element of a (outer-product form). Both add the K
// terms of an element in order from zero, so they give the same bits.

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import { walk } from './elementwise.js';

export interface BatchMatMulSpec {
  batch: number;
  M: number;
  K: number;
  N: number;
  /** Elements between consecutive batches of a and c (0: one matrix for every batch). */
  aStride: number;
  bStride: number;
  /**
   * Causal attention (M = N for scores, M = K for probabilities): 'scores' computes only
   * y[i, j] for j <= i, rounded up to whole tiles (the fused softmax reads no more);
   * 'probs': a[i, k] is 0 for k > i, so those terms are skipped.
   */
  causal?: 'scores' | 'probs';
}

/** Rows and v128 columns of y held in registers by the tiled kernel. */
const TILE_ROWS = 2;
const TILE_VECS = 4;

/** Add `name(a, c, y)`. */
export function emitBatchMatMul(m: WasmModule, name: string, k: BatchMatMulSpec): void {
  if (k.N % 4 === 0) emitTiled(m, name, k);
  else emitOuterProduct(m, name, k);
}

function emitTiled(m: WasmModule, name: string, k: BatchMatMulSpec): void {
  const { batch, M, K, N } = k;
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [paBatch, pcBatch, py] = [fn.param(0), fn.param(1), fn.param(2)];
    const [paRow, pcCol, pyTile, pk, pck] = [fn.local(i32), fn.local(i32), fn.local(i32), fn.local(i32), fn.local(i32)];
    const acc = Array.from({ length: TILE_ROWS * TILE_VECS }, () => fn.local(v128));
    // One splat of a per row, and the row of c they multiply.
    const splats = Array.from({ length: TILE_ROWS + 1 }, () => fn.local(v128));
    const vecs = N / 4;
    // Causal probabilities: the K terms a row block needs (its last row + 1), counted at run time.
    const [kNeed, kLeft] = [fn.local(i32), fn.local(i32)];
    const kLoop = (body: ExprRef[]) => (k.causal === 'probs' ? m.block(null, [m.set(kLeft, m.get(kNeed)), repeatRuntime(fn, kLeft, body)]) : repeat(fn, K, body));
    // One tile of `rows` x `nv` vectors at (paRow, pcCol) -> pyTile.
    const tile = (rows: number, nv: number) => {
      const a = (r: number, j: number) => acc[r * TILE_VECS + j]!;
      const cell = (f: (r: number, j: number) => ExprRef) => Array.from({ length: rows * nv }, (_, i) => f(Math.floor(i / nv), i % nv));
      return [
        ...cell((r, j) => m.set(a(r, j), m.v128.zero())),
        m.set(pk, m.get(paRow)),
        m.set(pck, m.get(pcCol)),
        kLoop([
          ...Array.from({ length: rows }, (_, r) => m.set(splats[r]!, m.v128.load32Splat(m.get(pk), r * K * 4))),
          ...Array.from({ length: nv }, (_, j) => {
            const cv = m.v128.load(m.get(pck), j * 16);
            return rows === 1
              ? m.set(a(0, j), m.madd(m.get(splats[0]!), cv, m.get(a(0, j))))
              : m.block(null, [m.set(splats[rows]!, cv), ...Array.from({ length: rows }, (_, r) => m.set(a(r, j), m.madd(m.get(splats[r]!), m.get(splats[rows]!), m.get(a(r, j)))))]);
          }),
          bump(fn, pk, 4),
          bump(fn, pck, N * 4),
        ]),
        ...cell((r, j) => m.v128.store(m.get(pyTile), m.get(a(r, j)), r * N * 4 + j * 16)),
      ];
    };
    // Column chunks (the first `nv` vectors of the row) of one row block of `rows` rows.
    const rowBlock = (rows: number, nv = vecs) => {
      const full = Math.floor(nv / TILE_VECS);
      const rest = nv - full * TILE_VECS;
      return [
        ...(k.causal === 'probs' ? [m.set(kNeed, m.i32.add(m.get(kNeed), m.i32.const(rows)))] : []),
        m.set(pcCol, m.get(pcBatch)),
        m.set(pyTile, m.get(py)),
        repeat(fn, full, [...tile(rows, TILE_VECS), bump(fn, pcCol, TILE_VECS * 16), bump(fn, pyTile, TILE_VECS * 16)]),
        ...(rest > 0 ? tile(rows, rest) : []),
        bump(fn, paRow, rows * K * 4),
        bump(fn, py, rows * N * 4),
      ];
    };
    const pairs = Math.floor(M / TILE_ROWS);
    // The vectors of y a block of rows ending before row `end` needs.
    const needed = (end: number) => (k.causal === 'scores' ? Math.ceil(Math.min(N, end) / 4) : vecs);
    // Consecutive row pairs that need as many vectors share one loop.
    const runs: { count: number; nv: number }[] = [];
    for (let p = 0; p < pairs; p++) {
      const nv = needed((p + 1) * TILE_ROWS);
      const last = runs[runs.length - 1];
      if (last && last.nv === nv) last.count++;
      else runs.push({ count: 1, nv });
    }
    return [repeat(fn, batch, [
      m.set(paRow, m.get(paBatch)),
      m.set(kNeed, m.i32.const(0)),
      ...runs.map((r) => repeat(fn, r.count, rowBlock(TILE_ROWS, r.nv))),
      ...(M - pairs * TILE_ROWS > 0 ? rowBlock(1, needed(M)) : []),
      bump(fn, paBatch, k.aStride * 4),
      bump(fn, pcBatch, k.bStride * 4),
    ])];
  });
}

function emitOuterProduct(m: WasmModule, name: string, k: BatchMatMulSpec): void {
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
