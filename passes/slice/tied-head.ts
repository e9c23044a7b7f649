// Keep a tied output head tied after slicing. Rotation gives the head its own weight
// R = Q_L'^T diag(gamma) E^T ([kept, vocab]) while the embedding reads T = E_c Q_0' ([vocab,
// kept]); storing both costs a second vocab x kept table. Instead the head multiplies by the
// token table itself, through a small matrix: R ~ X B^T with B = [T | m] (m: the row means the
// centering removed from E, for LayerNorm models), X = R B (B^T B)^-1 by least squares. At
// ratio 0 R lies exactly in B's column span, so the tie is exact; sliced, it is the closest
// such head in the Frobenius norm. The head's bias becomes one more table column, read
// through a constant 1 feature, so every parameter sits in a counted tensor:
//
//   table [vocab, kept + 2] = [T | m | bias]     embedding: Slice(Gather(table), 0:kept)
//   head: MatMul(Linear(x, X, [0.., 0, 1]), Transpose(table))

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { cholesky } from '../prune/linalg.js';
import { matrix, readLinear, readTable, tableTensor, type Matrix } from './matrix.js';
import type { SlicePlan } from './plan.js';

/**
 * Rebuild the token table and the head so they share one constant. Returns the embedding's
 * new output when the table gained columns (a Slice keeps the first `kept`), else undefined.
 */
export function tieHead(plan: SlicePlan, head: Node, tokenMeans: Float64Array | undefined): Value | undefined {
  const g = plan.graph;
  const gather = plan.tables[0]!;
  const t = readTable(gather.inputs[0]!);
  const { weight: r, bias } = readLinear(head);
  const vocab = t.rows;
  const kept = t.cols;
  const extra = [...(tokenMeans ? [tokenMeans] : []), ...(bias ? [bias] : [])];
  const table = matrix(vocab, kept + extra.length);
  for (let v = 0; v < vocab; v++) {
    for (let j = 0; j < kept; j++) table.data[v * table.cols + j] = t.data[v * kept + j]!;
    extra.forEach((col, e) => (table.data[v * table.cols + kept + e] = col[v]!));
  }
  const fitted = tokenMeans ? kept + 1 : kept;
  const x = leastSquares(r, table, fitted);
  const tableValue = g.addConstant(gather.inputs[0]!.name, tableTensor(table, gather.inputs[0]!.const!));
  gather.setInput(0, tableValue);
  const embedded = table.cols > kept ? sliceChannels(gather, kept) : undefined;

  const headWeight = matrix(kept, table.cols);
  for (let i = 0; i < kept; i++) for (let j = 0; j < fitted; j++) headWeight.data[i * table.cols + j] = x.data[i * fitted + j]!;
  const headBias = bias ? new Float64Array(table.cols).fill(0) : undefined;
  if (headBias) headBias[table.cols - 1] = 1;
  const x0 = head.inputs[0]!;
  const like = head.inputs[1]!.const!;
  const features = g.addNode(
    { op: Op.Linear, inputs: [x0, g.addConstant(`${head.name}_tied`, tableTensor(headWeight, like)), ...(headBias ? [g.addConstant(`${head.name}_one`, tableTensor(matrix(1, table.cols, headBias), like).reshape([table.cols]))] : [])], outputs: 1, name: `${head.name}_tied` },
    head,
  );
  const transposed = g.addNode({ op: Op.Transpose, inputs: [tableValue], outputs: 1, attrs: { perm: { kind: 'ints', value: [1, 0] } }, name: `${head.name}_table_t` }, head);
  const logits = g.addNode({ op: Op.MatMul, inputs: [features.outputs[0]!, transposed.outputs[0]!], outputs: 1, name: `${head.name}_logits` }, head);
  logits.outputs[0]!.dtype = head.outputs[0]!.dtype;
  head.outputs[0]!.replaceAllUsesWith(logits.outputs[0]!);
  g.removeNode(head);
  return embedded;
}

/** X [rows of r, n] minimizing ||X B[:, :n]^T - r||_F: X = r B (B^T B)^-1, by Cholesky. */
function leastSquares(r: Matrix, b: Matrix, n: number): Matrix {
  const vocab = b.rows;
  const gram = new Float64Array(n * n);
  for (let v = 0; v < vocab; v++) {
    for (let i = 0; i < n; i++) {
      const bi = b.data[v * b.cols + i]!;
      for (let j = 0; j < n; j++) gram[i * n + j]! += bi * b.data[v * b.cols + j]!;
    }
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += gram[i * n + i]!;
  for (let i = 0; i < n; i++) gram[i * n + i]! += 1e-12 * trace;
  const l = cholesky(gram, n);
  if (!l) throw new Error('tieHead: the token table is rank-deficient');
  // rb = r B: [k, n]; then solve X G = rb row by row (G = L L^T).
  const k = r.rows;
  const out = matrix(k, n);
  for (let i = 0; i < k; i++) {
    const row = new Float64Array(n);
    for (let v = 0; v < vocab; v++) {
      const rv = r.data[i * r.cols + v]!;
      for (let j = 0; j < n; j++) row[j]! += rv * b.data[v * b.cols + j]!;
    }
    // L y = row, then L^T x = y.
    for (let j = 0; j < n; j++) {
      let s = row[j]!;
      for (let p = 0; p < j; p++) s -= l[j * n + p]! * row[p]!;
      row[j] = s / l[j * n + j]!;
    }
    for (let j = n - 1; j >= 0; j--) {
      let s = row[j]!;
      for (let p = j + 1; p < n; p++) s -= l[p * n + j]! * row[p]!;
      row[j] = s / l[j * n + j]!;
    }
    out.data.set(row, i * n);
  }
  return out;
}

/** The Gather's output keeps its first `kept` channels: Slice(gather, 0:kept) on the last axis. */
function sliceChannels(gather: Node, kept: number): Value {
  const g = gather.graph;
  const out = gather.outputs[0]!;
  if (out.isGraphOutput) throw new Error('tieHead: the embedding is a graph output');
  const users = [...out.uses];
  const int64 = (name: string, x: number) => g.addConstant(`${gather.name}_${name}`, Tensor.int64([x]));
  const next = g.nodes[g.nodes.indexOf(gather) + 1];
  const slice = g.addNode({ op: Op.Slice, inputs: [out, int64('start', 0), int64('end', kept), int64('axis', -1)], outputs: 1, name: `${gather.name}_kept` }, next);
  const sliced = slice.outputs[0]!;
  sliced.dtype = out.dtype;
  for (const u of users) u.node.setInput(u.index, sliced);
  return sliced;
}
