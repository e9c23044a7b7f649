// Dense float64 matrices for the slicing arithmetic, and the bridge to linear layers' constant
// weights: read a weight in the [in, out] convention (y = x W + b) whatever its node's layout
// (Linear, MatMul, Gemm with transB), and write a new one back. Writing always makes a fresh
// constant, so a tensor shared by several nodes (a tied embedding and head) is never changed
// under the others' feet.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';

/** Row-major rows x cols. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function matrix(rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new Error(`matrix: ${data.length} elements for ${rows}x${cols}`);
  return { rows, cols, data };
}

/** A linear layer's weight as [in, out] and its bias (length out), in float64. */
export interface LinearWeights {
  readonly node: Node;
  weight: Matrix;
  bias: Float64Array | undefined;
}

export function isLinearReader(node: Node, input: Value): boolean {
  const layer = linearLayer(node);
  return layer !== undefined && node.inputs[0] === input && (node.op !== 'Gemm' || layer.inputAxis === 1);
}

export function readLinear(node: Node): LinearWeights {
  const layer = linearLayer(node);
  if (!layer) throw new Error(`readLinear: ${node.describe()} is not a linear layer`);
  const w = node.inputs[layer.weightIndex]!.const!;
  const [a, b] = w.shape as [number, number];
  const values = w.toFloat32();
  const transposed = layer.weightInAxis === 1;
  const rows = transposed ? b : a;
  const cols = transposed ? a : b;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) data[transposed ? j * cols + i : i * cols + j] = values[i * b + j]!;
  }
  const biasValue = layer.biasIndex !== undefined ? node.inputs[layer.biasIndex] : undefined;
  const bias = biasValue?.const ? Float64Array.from(broadcastBias(biasValue.const, cols)) : undefined;
  return { node, weight: matrix(rows, cols, data), bias };
}

/** Gemm's C may broadcast; a per-output bias is what slicing needs. */
function broadcastBias(t: Tensor, cols: number): Float32Array {
  const v = t.toFloat32();
  if (v.length === cols) return v;
  if (v.length === 1) return new Float32Array(cols).fill(v[0]!);
  throw new Error(`bias of ${v.length} elements for ${cols} outputs`);
}

/** Store `lw` back into its node as new constants, in the node's own layout and dtype. */
export function writeLinear(lw: LinearWeights): void {
  const node = lw.node;
  const layer = linearLayer(node)!;
  const old = node.inputs[layer.weightIndex]!;
  const { rows, cols, data } = lw.weight;
  const transposed = layer.weightInAxis === 1;
  const shape = transposed ? [cols, rows] : [rows, cols];
  const w = Tensor.zeros(old.const!.dtype, shape);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) w.set(transposed ? j * rows + i : i * cols + j, data[i * cols + j]!);
  }
  node.setInput(layer.weightIndex, node.graph.addConstant(old.name, w));
  if (lw.bias) {
    const oldBias = layer.biasIndex !== undefined ? node.inputs[layer.biasIndex] : undefined;
    const b = Tensor.zeros(oldBias?.const?.dtype ?? old.const!.dtype, [cols]);
    lw.bias.forEach((x, i) => b.set(i, x));
    // A MatMul has no bias input; with a constant 2-D weight it is a Linear, which has one.
    if (node.op === Op.MatMul) {
      node.op = Op.Linear;
      node.opType = Op.Linear;
    }
    const index = layer.biasIndex ?? 2;
    const inputs = [...node.inputs];
    while (inputs.length <= index) inputs.push(undefined);
    inputs[index] = node.graph.addConstant(oldBias?.name ?? `${old.name}_bias`, b);
    node.setInputs(inputs);
  }
}

/** A constant table (embedding) as a matrix. */
export function readTable(v: Value): Matrix {
  const t = v.const!;
  if (t.rank !== 2) throw new Error(`readTable: '${v.name}' has rank ${t.rank}`);
  return matrix(t.shape[0]!, t.shape[1]!, Float64Array.from(t.toFloat32()));
}

export function tableTensor(m: Matrix, like: Tensor): Tensor {
  const t = Tensor.zeros(like.dtype, [m.rows, m.cols]);
  m.data.forEach((x, i) => t.set(i, x));
  return t;
}

/** a^T b, keeping the first `aCols` columns of a and `bCols` of b: [aCols, bCols]. */
export function transposeTimes(a: Matrix, b: Matrix, aCols = a.cols, bCols = b.cols): Matrix {
  if (a.rows !== b.rows) throw new Error(`transposeTimes: ${a.rows} vs ${b.rows} rows`);
  const out = new Float64Array(aCols * bCols);
  for (let k = 0; k < a.rows; k++) {
    for (let i = 0; i < aCols; i++) {
      const aki = a.data[k * a.cols + i]!;
      if (aki === 0) continue;
      for (let j = 0; j < bCols; j++) out[i * bCols + j]! += aki * b.data[k * b.cols + j]!;
    }
  }
  return matrix(aCols, bCols, out);
}

/** a b, keeping the first `bCols` columns of b: [a.rows, bCols]. */
export function times(a: Matrix, b: Matrix, bCols = b.cols): Matrix {
  if (a.cols !== b.rows) throw new Error(`times: ${a.cols} vs ${b.rows}`);
  const out = new Float64Array(a.rows * bCols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < bCols; j++) out[i * bCols + j]! += aik * b.data[k * b.cols + j]!;
    }
  }
  return matrix(a.rows, bCols, out);
}

/** Row vector v times b (first bCols columns). */
export function vectorTimes(v: Float64Array, b: Matrix, bCols = b.cols): Float64Array {
  return times(matrix(1, v.length, v), b, bCols).data;
}
