// Parameter counts as a model's author would count them: the elements of its learned tensors
// (linear and conv weights and biases, embedding tables, norm scales and shifts), each tensor
// once however many nodes read it (a tied embedding/head table counts once). Constants that are
// not learned (shape vectors, causal masks, rotary tables, scalars) are left out, so a
// structural transform's "fewer parameters" compares like with like. Anything a transform adds
// to the computation (SliceGPT's shortcut matrices are linear layers) is counted.

import type { Graph, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
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

/** Total elements of the learned tensors. */
export function countParameters(graph: Graph): number {
  let n = 0;
  for (const v of learnedTensors(graph)) n += v.const!.size;
  return n;
}
