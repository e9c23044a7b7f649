// Parameter counts as a model's author would count them: the elements of its learned tensors
// (linear and conv weights and biases, embedding tables, norm scales and shifts), each tensor
// once however many nodes read it (a tied embedding/head table counts once, also where constant
// folding stored the head as a transposed copy of the table). Constants that are
// not learned (shape vectors, causal masks, rotary tables, scalars) are left out, so a
// structural transform's "fewer parameters" compares like with like. Anything a transform adds
// to the computation (SliceGPT's shortcut matrices are linear layers) is counted.

import type { Graph, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);
const NORMS: ReadonlySet<Op> = new Set([Op.LayerNormalization, Op.RMSNorm, Op.BatchNormalization, Op.InstanceNormalization, Op.GroupNormalization]);

/** The learned tensors of `graph`'s own nodes (subgraphs are not searched). */
export function learnedTensors(graph: Graph): Set<Value> {
  const out = new Set<Value>();
  const add = (v: Value | undefined) => {
    if (v?.const && FLOATS.has(v.const.dtype)) out.add(v);
  };
  for (const node of graph.nodes) {
    const layer = linearLayer(node);
    if (layer) {
      add(node.inputs[layer.weightIndex]);
      if (layer.biasIndex !== undefined) add(node.inputs[layer.biasIndex]);
    } else if (node.op === Op.Gather && node.inputs[1] && !node.inputs[1].isConstant) {
      add(node.inputs[0]);
    } else if (NORMS.has(node.op)) {
      for (const v of node.inputs.slice(1)) add(v);
    } else if (node.op === Op.Add) {
      // A bias added after a MatMul (uncanonicalized graphs).
      const [a, b] = node.inputs;
      if (a && b && a.producer && linearLayer(a.producer)) add(b);
      else if (a && b && b.producer && linearLayer(b.producer)) add(a);
    }
  }
  return out;
}

/** Total elements of the learned tensors, a matrix stored twice (as is or transposed) once. */
export function countParameters(graph: Graph): number {
  let n = 0;
  const counted: Tensor[] = [];
  for (const v of learnedTensors(graph)) {
    const t = v.const!;
    if (t.rank === 2 && counted.some((c) => sameOrTransposed(c, t))) continue;
    if (t.rank === 2) counted.push(t);
    n += t.size;
  }
  return n;
}

function sameOrTransposed(a: Tensor, b: Tensor): boolean {
  if (a.size !== b.size || a.dtype !== b.dtype) return false;
  const [rows, cols] = a.shape as [number, number];
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  const equal = (f: (r: number, c: number) => number) => {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (x[r * cols + c] !== y[f(r, c)]) return false;
    return true;
  };
  if (b.shape[0] === rows && b.shape[1] === cols && equal((r, c) => r * cols + c)) return true;
  return b.shape[0] === cols && b.shape[1] === rows && equal((r, c) => c * rows + r);
}
