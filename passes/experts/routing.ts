// How a mixture of experts routes calibration tokens: per MoE block and expert, how often the
// expert is among the top-k (selection frequency) and how much routing weight its output gets
// in all (gate mass: the weight as applied, so after any top-k renormalization). One streaming
// pass over the batches; per block only the running sums are kept.
//
// Without calibration data the router's weights are all there is: an expert whose router
// column has a small norm gets small logits, so it is chosen less (a weak proxy, said so).

import type { Graph, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';
import { runWithObserver } from '../calibration.js';
import { linearLayer } from '../permute/layers.js';
import type { MoeBlock } from '../structure/types.js';

export interface RoutingStats {
  /** Routing decisions seen (tokens). */
  readonly tokens: number;
  /** Per router column (expert.index): times the expert was among the top-k. */
  readonly selected: Float64Array;
  /** Per router column: sum over tokens of the routing weight applied to the expert's output. */
  readonly mass: Float64Array;
  /** Where the mass comes from: the weights scaling each expert's output, or TopK's values. */
  readonly massSource: 'expert-weights' | 'topk-values';
}

/**
 * How the top-k scores become the weights applied to the experts' outputs: used as they are
 * ('raw'), divided by their sum ('sum'), or put through a softmax over the k ('softmax').
 */
export type GateRule = 'raw' | 'sum' | 'softmax';

export function gateRule(block: MoeBlock): GateRule {
  const values = block.topK.outputs[0]!;
  const uses = values.uses.map((u) => u.node);
  if (uses.length === 1 && uses[0]!.op === Op.Softmax) return 'softmax';
  const sum = uses.find((n) => n.op === Op.ReduceSum);
  const div = uses.find((n) => n.op === Op.Div && n.inputs[0] === values && n.inputs[1] === sum?.outputs[0]);
  return sum && div && uses.every((n) => n === sum || n === div) ? 'sum' : 'raw';
}

/** Experts a block routes between: the router's output channels. */
export function expertCount(block: MoeBlock): number {
  const layer = linearLayer(block.router);
  const w = layer && block.router.inputs[layer.weightIndex]?.const;
  if (!layer || !w) return Math.max(...block.experts.map((e) => e.index)) + 1;
  return w.shape[layer.weightOutAxis]!;
}

class BlockRouting {
  tokens = 0;
  readonly selected: Float64Array;
  readonly mass: Float64Array;
  readonly massSource: RoutingStats['massSource'];
  /** Expert output weight value -> router column. */
  readonly weightOf = new Map<Value, number>();
  private topValues: Tensor | undefined;

  constructor(readonly block: MoeBlock) {
    const e = expertCount(block);
    this.selected = new Float64Array(e);
    this.mass = new Float64Array(e);
    const weighted = block.experts.every((x) => x.weight !== undefined);
    this.massSource = weighted ? 'expert-weights' : 'topk-values';
    if (weighted) for (const x of block.experts) this.weightOf.set(x.weight!, x.index);
  }

  watched(): Value[] {
    return [...this.block.topK.outputs, ...this.weightOf.keys()];
  }

  observe(v: Value, t: Tensor): void {
    const [values, indices] = this.block.topK.outputs;
    const column = this.weightOf.get(v);
    if (column !== undefined) this.mass[column]! += sum(t);
    else if (v === values) this.topValues = t;
    else if (v === indices) this.addChoices(t);
  }

  private addChoices(indices: Tensor): void {
    const k = indices.shape.at(-1) ?? 0;
    if (k === 0) return;
    this.tokens += indices.size / k;
    const gates = this.massSource === 'topk-values' ? this.topValues?.toFloat32() : undefined;
    for (let i = 0; i < indices.size; i++) {
      const e = indices.get(i);
      if (e < 0 || e >= this.selected.length) continue;
      this.selected[e]!++;
      if (gates) this.mass[e]! += gates[i]!;
    }
    this.topValues = undefined;
  }

  result(): RoutingStats {
    return { tokens: this.tokens, selected: this.selected, mass: this.mass, massSource: this.massSource };
  }
}

function sum(t: Tensor): number {
  const x = t.toFloat32();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}

/**
 * Routing statistics of each block over all batches. `extra` values are observed too (the
 * caller's own statistics ride on the same pass): `onExtra` gets their tensors.
 */
export function collectRouting(
  graph: Graph,
  blocks: readonly MoeBlock[],
  batches: Iterable<ReadonlyMap<string, Tensor>>,
  extra?: { values: readonly Value[]; onValue: (v: Value, t: Tensor) => void },
): Map<MoeBlock, RoutingStats> {
  const stats = blocks.map((b) => new BlockRouting(b));
  const byValue = new Map<Value, BlockRouting>();
  for (const s of stats) for (const v of s.watched()) byValue.set(v, s);
  const extraValues = new Set(extra?.values ?? []);
  runWithObserver(graph, batches, new Set([...byValue.keys(), ...extraValues]), (v, t) => {
    byValue.get(v)?.observe(v, t);
    if (extraValues.has(v)) extra!.onValue(v, t);
  });
  return new Map(stats.map((s) => [s.block, s.result()]));
}

/** Per router column: the L2 norm of the router's weights for that expert (bias left out). */
export function routerColumnNorms(block: MoeBlock): Float64Array {
  const layer = linearLayer(block.router);
  const w = layer && block.router.inputs[layer.weightIndex]?.const;
  if (!layer || !w || w.rank !== 2) throw new Error(`router ${block.router.describe()} has no constant 2-D weight`);
  const x = w.toFloat32();
  const [rows, cols] = w.shape as [number, number];
  const out = new Float64Array(w.shape[layer.weightOutAxis]!);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const e = layer.weightOutAxis === 1 ? c : r;
      out[e]! += x[r * cols + c]! ** 2;
    }
  }
  return out.map(Math.sqrt);
}
