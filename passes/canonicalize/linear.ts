// MatMul/Gemm with a constant weight -> Op.Linear (y = x @ W + b, W [K, N] constant, b [N]).
// Linear is the one form later passes (pruning, permutation, sparse layouts) look for.

import type { Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { any, constant, op, pattern, type Match } from '../pattern.js';
import { rule, type Rewriter } from '../rewrite.js';

const isMatrix = (t: Tensor) => t.rank === 2;

/** `b` as a [N] bias when adding it to a [..., N] result broadcasts along the last dim only. */
function biasVector(b: Tensor, n: number, outRank: number | undefined, dtype: Tensor['dtype']): Tensor | undefined {
  if (b.dtype !== dtype) return undefined;
  if (outRank !== undefined && b.rank > outRank) return undefined;
  if (b.size === 1) {
    const t = Tensor.zeros(dtype, [n]);
    for (let i = 0; i < n; i++) t.set(i, b.get(0));
    return t;
  }
  const last = b.shape[b.rank - 1];
  if (last !== n || b.size !== n) return undefined;
  return b.reshape([n]);
}

function linear(rw: Rewriter, out: Value, x: Value, w: Tensor, wValue: Value | undefined, bias: Tensor | undefined) {
  const weight = wValue ?? rw.constant(`${out.name}_weight`, w);
  const inputs = [x, weight];
  if (bias) inputs.push(rw.constant(`${out.name}_bias`, bias));
  return rw.op(Op.Linear, inputs, {}, { dtype: out.dtype ?? x.dtype, shape: out.shape });
}

const matmulAdd = pattern(
  op(Op.Add, [op(Op.MatMul, [any('x'), constant('w', isMatrix)]), constant('b')], { commutative: true }),
);

/**
 * Add(x @ w, b) -> Linear(x, w, b), for MatMul and for a Linear without bias (when MatMul was
 * rewritten first).
 */
function addBiasToLinear(m: Match, rw: Rewriter) {
  const out = m.root.outputs[0]!;
  const w = m.v.w!.const!;
  const bias = biasVector(m.v.b!.const!, w.shape[1]!, out.rank, w.dtype);
  return bias ? linear(rw, out, m.v.x!, w, m.v.w, bias) : undefined;
}

function matmulToLinear(m: Match, rw: Rewriter) {
  const out = m.root.outputs[0]!;
  return linear(rw, out, m.v.x!, m.v.w!.const!, m.v.w, undefined);
}

const linearAdd = pattern(
  op(Op.Add, [op(Op.Linear, [any('x'), constant('w', isMatrix)], { name: 'linear' }), constant('b')], { commutative: true }),
);

/** Gemm(A, B, C): alpha * A' @ B' + beta * C with A 2-D and not transposed, B constant. */
function gemmToLinear(m: Match, rw: Rewriter) {
  const gemm = m.root;
  const out = gemm.outputs[0]!;
  const a = m.v.a!;
  const b = m.v.b!.const!;
  if (gemm.attrInt('transA', 0) !== 0 || (a.rank !== undefined && a.rank !== 2)) return undefined;
  const alpha = gemm.attrFloat('alpha', 1);
  const beta = gemm.attrFloat('beta', 1);
  const transB = gemm.attrInt('transB', 0) !== 0;
  const [k, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  const c = m.v.c;
  let bias: Tensor | undefined;
  if (c) {
    if (!c.const) return undefined;
    bias = biasVector(scaled(c.const, beta), n, 2, b.dtype);
    if (!bias) return undefined;
  }
  if (!transB && alpha === 1) return linear(rw, out, a, b, m.v.b, bias);
  const w = Tensor.zeros(b.dtype, [k, n]);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) w.set(i * n + j, alpha * b.get(transB ? j * k + i : i * n + j));
  }
  return linear(rw, out, a, w, undefined, bias);
}

function scaled(t: Tensor, s: number): Tensor {
  if (s === 1) return t;
  const out = Tensor.zeros(t.dtype, t.shape);
  for (let i = 0; i < t.size; i++) out.set(i, s * t.get(i));
  return out;
}

const gemm = pattern(op(Op.Gemm, [any('a'), constant('b', isMatrix), constant('c')]));
const gemmNoBias = pattern(op(Op.Gemm, [any('a'), constant('b', isMatrix)]));

export const linearRules = [
  rule('matmul-add-to-linear', matmulAdd, addBiasToLinear, 2),
  rule('linear-absorb-bias', linearAdd, addBiasToLinear, 2),
  rule('matmul-to-linear', pattern(op(Op.MatMul, [any('x'), constant('w', isMatrix)])), matmulToLinear, 1),
  rule('gemm-to-linear', gemm, gemmToLinear, 2),
  rule('gemm-to-linear', gemmNoBias, gemmToLinear, 1),
];
