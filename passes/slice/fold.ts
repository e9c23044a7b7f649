// Step 1 of SliceGPT: make every norm a plain RMS normalization (scale 1, no shift) without
// changing the model's function, so that an orthogonal rotation of the stream commutes with it.
//
//   - gamma and beta move into the linear layers reading the norm:
//       (xhat * gamma + beta) W + b = xhat (diag(gamma) W) + (beta W + b)
//   - LayerNorm subtracts each token's mean; if every writer of the stream writes mean-free
//     vectors, the stream is mean-free and LayerNorm's centering does nothing. So the writers
//     (embedding tables, output projections' weights and biases) are centered: each row of an
//     [in, width] weight, each table row and the bias lose their mean over the width. The norms
//     hide any per-token shift of the stream, so the model's outputs are unchanged.
//
// Afterwards the norm nodes still exist, with scale 1 and shift 0 (rotate.ts replaces them).

import type { Node } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import type { Norm } from '../structure/types.js';
import { readLinear, readTable, tableTensor, writeLinear, type Matrix } from './matrix.js';
import type { SlicePlan } from './plan.js';

/** Returns, for LayerNorm models, the row means removed from each embedding table (by Gather). */
export function foldNorms(plan: SlicePlan): Map<Node, Float64Array> {
  const norms = [...plan.sublayers.map((s) => ({ norm: s.norm, readers: s.readers })), { norm: plan.final.norm, readers: plan.final.readers }];
  for (const { norm, readers } of norms) foldNorm(norm, readers);
  return plan.normKind === 'layernorm' ? centerWriters(plan) : new Map();
}

function foldNorm(norm: Norm, readers: readonly Node[]): void {
  const gamma = norm.scale?.const?.toFloat32();
  const beta = norm.bias?.const?.toFloat32();
  for (const node of readers) {
    const lw = readLinear(node);
    const { rows, cols, data } = lw.weight;
    if (beta) {
      const bias = lw.bias ?? new Float64Array(cols);
      for (let k = 0; k < rows; k++) for (let n = 0; n < cols; n++) bias[n]! += beta[k]! * data[k * cols + n]!;
      lw.bias = bias;
    }
    if (gamma) for (let k = 0; k < rows; k++) for (let n = 0; n < cols; n++) data[k * cols + n]! *= gamma[k]!;
    writeLinear(lw);
  }
  const graph = norm.node.graph;
  if (norm.scale) norm.node.setInput(1, graph.addConstant(norm.scale.name, filled(norm.scale.const!, 1)));
  if (norm.bias) norm.node.setInput(2, graph.addConstant(norm.bias.name, filled(norm.bias.const!, 0)));
}

function filled(like: Tensor, x: number): Tensor {
  const t = Tensor.zeros(like.dtype, like.shape);
  for (let i = 0; i < t.size; i++) t.set(i, x);
  return t;
}

function centerWriters(plan: SlicePlan): Map<Node, Float64Array> {
  const means = new Map<Node, Float64Array>();
  for (const gather of plan.tables) {
    const table = gather.inputs[0]!;
    const m = readTable(table);
    means.set(gather, centerRows(m));
    gather.setInput(0, plan.graph.addConstant(table.name, tableTensor(m, table.const!)));
  }
  for (const s of plan.sublayers) {
    for (const node of s.writers) {
      const lw = readLinear(node);
      centerRows(lw.weight);
      if (lw.bias) centerRows({ rows: 1, cols: lw.bias.length, data: lw.bias });
      writeLinear(lw);
    }
  }
  return means;
}

/** Subtract each row's mean; returns the means. */
function centerRows(m: Matrix): Float64Array {
  const means = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let mean = 0;
    for (let c = 0; c < m.cols; c++) mean += m.data[r * m.cols + c]!;
    mean /= m.cols;
    for (let c = 0; c < m.cols; c++) m.data[r * m.cols + c]! -= mean;
    means[r] = mean;
  }
  return means;
}
