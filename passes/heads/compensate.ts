// Bias compensation (as in FLAP): a removed head or channel is replaced by its mean output
// instead of zero. Its mean input to the reading layer (the out or down projection) times the
// weight rows it loses is a constant vector, added to that layer's bias, so the model keeps the
// removed group's average contribution and loses only its fluctuation around it.

import type { Graph, Node } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';

/** Whether `reader` can take a bias (Linear and Gemm can; a bare MatMul cannot). */
export function canCompensate(reader: Node): boolean {
  const layer = linearLayer(reader);
  return layer !== undefined && !layer.channelwise && (layer.biasIndex !== undefined || reader.op === Op.Linear || reader.op === Op.Gemm);
}

/** Add mean_c * W[c, :] over the `removed` input channels of `reader` to its bias. */
export function compensateBias(graph: Graph, reader: Node, means: Float64Array, removed: readonly number[]): void {
  const layer = linearLayer(reader)!;
  const w = reader.inputs[layer.weightIndex]!.const!;
  const data = w.toFloat32();
  const cols = w.shape[1]!;
  const outputs = w.shape[layer.weightOutAxis]!;
  const delta = new Float64Array(outputs);
  for (const c of removed) {
    const m = means[c]!;
    if (m === 0) continue;
    for (let n = 0; n < outputs; n++) delta[n]! += m * data[layer.weightInAxis === 0 ? c * cols + n : n * cols + c]!;
  }
  const old = layer.biasIndex !== undefined ? reader.inputs[layer.biasIndex]!.const! : undefined;
  const bias = old ? Tensor.zeros(old.dtype, old.shape) : Tensor.zeros(w.dtype, [outputs]);
  for (let i = 0; i < bias.size; i++) bias.set(i, (old ? old.get(i) : 0) + delta[i % outputs]!);
  reader.setInput(layer.biasIndex ?? 2, graph.addConstant(`${reader.name}_bias_compensated`, bias));
}
