// Layers that multiply by a constant weight (Linear, MatMul/Gemm with a constant B, Conv), seen
// through their channel axes: which axis of the input and the output carries channels, and which
// axes of the weight and the bias a permutation of those channels moves.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';

export interface LinearLayer {
  readonly node: Node;
  /** Index of the constant weight among the node's inputs. */
  readonly weightIndex: number;
  /** The weight's axis of input channels (a reader's permutation moves it). */
  readonly weightInAxis: number;
  /** The weight's axis of output channels (a writer's permutation moves it). */
  readonly weightOutAxis: number;
  /** Input index of a constant bias added per output channel, if any. */
  readonly biasIndex?: number;
  /** Channel axis of the input activation (the reduction axis). */
  readonly inputAxis: number;
  /** Channel axis of the output. */
  readonly outputAxis: number;
  /** Depthwise conv: each channel is its own group, so input and output channels are one. */
  readonly channelwise: boolean;
}

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);

function floatConst(v: Value | undefined): Tensor | undefined {
  return v?.const && FLOATS.has(v.const.dtype) ? v.const : undefined;
}

/** The node seen as a linear layer, or undefined (non-constant weight, unsupported form). */
export function linearLayer(node: Node): LinearLayer | undefined {
  const x = node.inputs[0];
  const w = floatConst(node.inputs[1]);
  const rank = x?.rank;
  if (!x || x.isConstant || !w || rank === undefined) return undefined;
  const base = { node, weightIndex: 1, channelwise: false };
  switch (node.op) {
    case Op.Linear:
    case Op.MatMul:
      if (w.rank !== 2 || rank < 2) return undefined;
      return { ...base, weightInAxis: 0, weightOutAxis: 1, biasIndex: node.inputs[2] ? 2 : undefined, inputAxis: rank - 1, outputAxis: rank - 1 };
    case Op.Gemm: {
      if (w.rank !== 2 || node.attrInt('transA', 0) !== 0) return undefined;
      const transB = node.attrInt('transB', 0) !== 0;
      const bias = node.inputs[2];
      if (bias && !bias.const) return undefined;
      return { ...base, weightInAxis: transB ? 1 : 0, weightOutAxis: transB ? 0 : 1, biasIndex: bias ? 2 : undefined, inputAxis: 1, outputAxis: 1 };
    }
    case Op.Conv: {
      if (w.rank < 3 || (node.inputs[2] && !node.inputs[2].const)) return undefined;
      const group = node.attrInt('group', 1);
      const channelwise = group > 1 && w.shape[1] === 1 && w.shape[0] === group;
      if (group !== 1 && !channelwise) return undefined;
      return { ...base, weightInAxis: 1, weightOutAxis: 0, biasIndex: node.inputs[2] ? 2 : undefined, inputAxis: 1, outputAxis: 1, channelwise };
    }
    default:
      return undefined;
  }
}
