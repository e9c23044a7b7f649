// Fold an inference-mode BatchNormalization into the Conv that produces its input:
//   y = scale * (conv(x, W) + b - mean) / sqrt(var + eps) + B
//     = conv(x, W * s) + (b - mean) * s + B,   s = scale / sqrt(var + eps) per output channel.
// The Conv gets new constant weights and bias and the BatchNormalization disappears, so every
// backend sees one op where there were two (and no per-channel pass over the activations).

import type { Graph, Node, Value } from '../ir/graph.js';
import { Op } from '../ir/ops.js';
import { Tensor } from '../ir/tensor.js';
import { definePass } from './pass.js';

const f32Const = (v: Value | undefined): Float32Array | undefined =>
  v?.const && v.const.dtype === 'float32' ? (v.const.data as Float32Array) : undefined;

/** The Conv whose only reader is `bn`, with constant f32 weight (and bias), or undefined. */
function foldableConv(bn: Node): Node | undefined {
  const conv = bn.inputs[0]?.producer;
  if (!conv || conv.op !== Op.Conv) return undefined;
  const out = conv.outputs[0]!;
  if (out.uses.length !== 1 || out.isGraphOutput) return undefined;
  if (!f32Const(conv.inputs[1]) || (conv.inputs[2] && !f32Const(conv.inputs[2]))) return undefined;
  if (bn.attrInt('training_mode', 0) !== 0) return undefined;
  if (bn.outputs.slice(1).some((o) => o.uses.length > 0 || o.isGraphOutput)) return undefined;
  const params = bn.inputs.slice(1, 5);
  if (params.length !== 4 || params.some((p) => !f32Const(p))) return undefined;
  return conv;
}

function foldInto(graph: Graph, conv: Node, bn: Node): void {
  const w = conv.inputs[1]!;
  const W = f32Const(w)!;
  const cout = w.const!.shape[0]!;
  const perChannel = W.length / cout;
  const [scale, shift, mean, variance] = bn.inputs.slice(1, 5).map((v) => f32Const(v)!) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const eps = bn.attrFloat('epsilon', 1e-5)!;
  const oldBias = f32Const(conv.inputs[2]);
  const newW = new Float32Array(W.length);
  const newB = new Float32Array(cout);
  for (let c = 0; c < cout; c++) {
    // In float64, then rounded once: the folded model is as close to the original as f32 allows.
    const s = scale[c]! / Math.sqrt(variance[c]! + eps);
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) newW[i] = W[i]! * s;
    newB[c] = ((oldBias ? oldBias[c]! : 0) - mean[c]!) * s + shift[c]!;
  }
  conv.setInput(1, graph.addConstant(`${w.name}_bnfolded`, new Tensor('float32', w.const!.shape, newW)));
  conv.setInput(2, graph.addConstant(`${bn.name}_folded_bias`, new Tensor('float32', [cout], newB)));
  // A graph output keeps its public name (replaceAllUsesWith renames the Conv's output).
  bn.outputs[0]!.replaceAllUsesWith(conv.outputs[0]!);
  graph.removeNode(bn);
}

/** Fold every foldable Conv -> BatchNormalization pair of `graph`; returns how many. */
export function foldBatchNorms(graph: Graph): number {
  let folded = 0;
  for (const bn of [...graph.nodes]) {
    if (bn.op !== Op.BatchNormalization) continue;
    const conv = foldableConv(bn);
    if (!conv) continue;
    foldInto(graph, conv, bn);
    folded++;
  }
  if (folded > 0) graph.removeUnusedConstants();
  return folded;
}

export const foldBatchNormPass = definePass({
  name: 'fold-batchnorm',
  summary: 'Fold inference BatchNormalization into the preceding Conv\'s constant weights and bias.',
  run(model) {
    const folded = foldBatchNorms(model.graph);
    return { changed: folded > 0, stats: { folded } };
  },
});
