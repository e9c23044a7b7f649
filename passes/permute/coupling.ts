// Channel groups: every place one permutation of a layer's input channels has to be applied so
// the model keeps computing the same function (after Torch-Pruning's DepGraph, for permutations).
//
// A group starts at the input of a linear layer (a "reader": the permutation moves its weight's
// input-channel axis) and spreads along the channel axis of values: back to the layers that
// produce it ("writers": their output channels move, with their biases), through channel-wise
// ops (activations, norms, BatchNorm, depthwise convs, reshapes that keep the channel axis
// whole), to every other consumer of the same value (consumers of one value share one
// permutation), and across elementwise ops to all their operands (so a residual Add couples all
// its producers and all consumers of the sum). Constants met on the way (biases, norm scales,
// BatchNorm statistics, elementwise constants, embedding tables) are edited, not joined.
//
// An op that cannot pass a permutation through (a reshape splitting channels into heads,
// Concat along channels, a graph output, ...) stops the group; the group is then left alone and
// the stop names the node. The walk still finishes the group, so every reader meets its group
// once and no stop is reported twice.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Elementwise, Op, Reduce } from '../../ir/ops.js';
import { linearLayer } from './layers.js';

/** Permute the constant `node.inputs[index]` along `axis`. */
export interface ConstEdit {
  readonly node: Node;
  readonly index: number;
  readonly axis: number;
}

export interface Stop {
  readonly node?: Node;
  readonly value?: Value;
  readonly reason: string;
}

export interface ChannelGroup {
  readonly channels: number;
  /** Activations carrying the permuted channels, with their channel axis. */
  readonly members: ReadonlyMap<Value, number>;
  /** Linear layers whose input channels this group permutes (the search's objective). */
  readonly readers: readonly Node[];
  /** Linear layers whose output channels it permutes. */
  readonly writers: readonly Node[];
  readonly edits: readonly ConstEdit[];
  readonly stops: readonly Stop[];
}

/** The channel group of each reader's input; a reader appears in exactly one group. */
export function findChannelGroups(graph: Graph, readers: readonly Node[]): ChannelGroup[] {
  const groups: ChannelGroup[] = [];
  const seen = new Set<Node>();
  for (const reader of readers) {
    if (seen.has(reader)) continue;
    const layer = linearLayer(reader);
    if (!layer || layer.channelwise) continue;
    const channels = reader.inputs[layer.weightIndex]!.const!.shape[layer.weightInAxis]!;
    const walk = new GroupWalk(graph, channels);
    walk.join(reader.inputs[0]!, layer.inputAxis);
    walk.run();
    for (const r of walk.readers) seen.add(r);
    groups.push(walk.result());
  }
  return groups;
}

type Entry = { side: 'in'; index: number; axis: number } | { side: 'out'; index: number; axis: number };

class GroupWalk {
  readonly members = new Map<Value, number>();
  readonly readers: Node[] = [];
  readonly writers: Node[] = [];
  readonly edits: ConstEdit[] = [];
  readonly stops: Stop[] = [];
  private readonly queue: Value[] = [];
  /** Nodes already coupled, by role ('in'/'out' for linear layers, 'all' otherwise). */
  private readonly done = new Set<string>();

  constructor(
    readonly graph: Graph,
    readonly channels: number,
  ) {}

  result(): ChannelGroup {
    const { channels, members, readers, writers, edits, stops } = this;
    return { channels, members, readers, writers, edits, stops };
  }

  stop(reason: string, node?: Node, value?: Value): void {
    this.stops.push({ node, value, reason });
  }

  /** `v` carries the channels on `axis`. */
  join(v: Value, axis: number): void {
    const known = this.members.get(v);
    if (known !== undefined) {
      if (known !== axis) this.stop(`${v} would carry channels on two axes (${known} and ${axis})`, v.producer, v);
      return;
    }
    if (v.const) return this.stop(`constant ${v} reached without a consumer to edit it for`, v.producer, v);
    const dim = v.shape?.[axis];
    if (v.rank === undefined || axis < 0 || axis >= v.rank) return this.stop(`rank of ${v} unknown or too small`, v.producer, v);
    if (typeof dim === 'number' && dim !== this.channels) {
      return this.stop(`${v} has ${dim} channels on axis ${axis}, expected ${this.channels}`, v.producer, v);
    }
    this.members.set(v, axis);
    this.queue.push(v);
  }

  /** Input `index` of `node` carries the channels on `axis`: join it, or edit it if constant. */
  joinInput(node: Node, index: number, axis: number): void {
    const v = node.inputs[index];
    if (!v) return;
    if (!v.const) return this.join(v, axis);
    const dim = v.const.shape[axis];
    if (dim === 1) return;
    if (dim !== this.channels) return this.stop(`constant ${v} has ${dim} entries on axis ${axis}, expected ${this.channels}`, node);
    this.edits.push({ node, index, axis });
  }

  run(): void {
    for (let v = this.queue.pop(); v; v = this.queue.pop()) {
      const axis = this.members.get(v)!;
      if (v.isGraphOutput) this.stop(`${v} is a graph output: its channel order is part of the model's interface`, v.producer, v);
      if (v.isGraphInput) this.stop(`${v} is a graph input: its channel order is part of the model's interface`, undefined, v);
      const p = v.producer;
      if (p) this.couple(p, { side: 'out', index: p.outputs.indexOf(v), axis });
      for (const use of v.uses) {
        if (use.node.graph !== this.graph) this.stop(`${v} is used inside a subgraph`, use.node, v);
        else this.couple(use.node, { side: 'in', index: use.index, axis });
      }
    }
  }

  private couple(node: Node, entry: Entry): void {
    const layer = linearLayer(node);
    const role = layer && !layer.channelwise ? entry.side : 'all';
    const key = `${node.id}:${role}`;
    if (this.done.has(key)) return;
    this.done.add(key);
    if (layer && (entry.side === 'out' || entry.index === 0)) return this.coupleLayer(node, entry, layer);
    for (const rule of rules) {
      if (rule.ops.has(node.op)) return rule.couple(this, node, entry);
    }
    this.stop(`${node.opType} does not pass a channel permutation through`, node);
  }

  private coupleLayer(node: Node, entry: Entry, layer: NonNullable<ReturnType<typeof linearLayer>>): void {
    const axis = entry.side === 'in' ? layer.inputAxis : layer.outputAxis;
    if (entry.axis !== axis) return this.stop(`channels reach ${node.opType} on axis ${entry.axis}, not its channel axis ${axis}`, node);
    if (layer.channelwise) {
      this.join(node.inputs[0]!, layer.inputAxis);
      this.join(node.outputs[0]!, layer.outputAxis);
      this.editBias(node, layer.weightIndex, layer.weightOutAxis);
      if (layer.biasIndex !== undefined) this.editBias(node, layer.biasIndex);
    } else if (entry.side === 'in') {
      this.readers.push(node);
      this.edits.push({ node, index: layer.weightIndex, axis: layer.weightInAxis });
    } else {
      this.writers.push(node);
      this.edits.push({ node, index: layer.weightIndex, axis: layer.weightOutAxis });
      if (layer.biasIndex !== undefined) this.editBias(node, layer.biasIndex);
    }
  }

  /** A per-output-channel constant: its channel axis is its last (or the given) axis. */
  private editBias(node: Node, index: number, axis?: number): void {
    const t = node.inputs[index]!.const!;
    if (t.rank === 0) return;
    this.joinInput(node, index, axis ?? t.rank - 1);
  }
}

// ---- rules: how each kind of op passes channels between its inputs and outputs ----

interface Rule {
  readonly ops: ReadonlySet<Op>;
  couple(walk: GroupWalk, node: Node, entry: Entry): void;
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function rankOf(v: Value | undefined): number | undefined {
  return v?.const ? v.const.rank : v?.rank;
}

/** Output channel axis from the entry, for ops whose output 0 aligns with broadcast inputs. */
function alignedOutputAxis(node: Node, entry: Entry): number | undefined {
  if (entry.side === 'out') return entry.axis;
  const inRank = rankOf(node.inputs[entry.index]);
  const outRank = node.outputs[0]!.rank;
  return inRank === undefined || outRank === undefined ? undefined : entry.axis + outRank - inRank;
}

/** Join output 0 at `axis` and every input broadcast onto it (inputs of size 1 there are not channels). */
function joinBroadcast(walk: GroupWalk, node: Node, axis: number, inputs: readonly number[]): void {
  const outRank = node.outputs[0]!.rank!;
  for (const i of inputs) {
    const v = node.inputs[i];
    const r = rankOf(v);
    if (!v || r === undefined) continue;
    const a = axis - (outRank - r);
    if (a < 0) continue;
    const dim = v.const ? v.const.shape[a] : v.shape?.[a];
    if (dim === 1) continue;
    walk.joinInput(node, i, a);
  }
  walk.join(node.outputs[0]!, axis);
}

function unusedExtraOutputs(walk: GroupWalk, node: Node): boolean {
  const used = node.outputs.slice(1).some((o) => o.uses.length > 0 || o.isGraphOutput);
  if (used) walk.stop(`${node.opType} has a second output in use`, node);
  return !used;
}

const elementwise: Rule = {
  ops: Elementwise,
  couple(walk, node, entry) {
    const axis = alignedOutputAxis(node, entry);
    if (axis === undefined) return walk.stop('operand ranks unknown', node);
    joinBroadcast(walk, node, axis, node.inputs.map((_, i) => i));
  },
};

/**
 * Norms and softmax: per-channel parameters are edited; statistics over an axis set that
 * contains the whole channel axis do not depend on channel order; softmax is equivariant.
 */
const norms: Rule = {
  ops: new Set<Op>([Op.LayerNormalization, Op.RMSNorm, Op.Softmax, Op.LogSoftmax, Op.Dropout]),
  couple(walk, node, entry) {
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach a parameter input', node);
    if (!unusedExtraOutputs(walk, node)) return;
    const params = node.op === Op.LayerNormalization ? [0, 1, 2] : node.op === Op.RMSNorm ? [0, 1] : [0];
    joinBroadcast(walk, node, entry.axis, params);
  },
};

/** BatchNormalization and InstanceNormalization: parameters per axis-1 channel. */
const channelNorms: Rule = {
  ops: new Set<Op>([Op.BatchNormalization, Op.InstanceNormalization]),
  couple(walk, node, entry) {
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach a parameter input', node);
    if (!unusedExtraOutputs(walk, node)) return;
    walk.joinInput(node, 0, entry.axis);
    walk.join(node.outputs[0]!, entry.axis);
    if (entry.axis !== 1) return;
    for (let i = 1; i < node.inputs.length; i++) {
      if (!node.inputs[i]?.const) return walk.stop(`parameter ${i} is not a constant`, node);
      walk.joinInput(node, i, 0);
    }
  },
};

/** Pooling keeps axes 0 (batch) and 1 (channels) and works within each channel. */
const pooling: Rule = {
  ops: new Set<Op>([Op.MaxPool, Op.AveragePool, Op.LpPool, Op.GlobalAveragePool, Op.GlobalMaxPool, Op.GlobalLpPool]),
  couple(walk, node, entry) {
    if (entry.axis > 1) return walk.stop('channels on a pooled axis', node);
    if (!unusedExtraOutputs(walk, node)) return;
    walk.joinInput(node, 0, entry.axis);
    walk.join(node.outputs[0]!, entry.axis);
  },
};

const transpose: Rule = {
  ops: new Set<Op>([Op.Transpose]),
  couple(walk, node, entry) {
    const rank = node.inputs[0]!.rank;
    if (rank === undefined) return walk.stop('rank unknown', node);
    const perm = node.attrInts('perm') ?? [...Array(rank).keys()].reverse();
    const inAxis = entry.side === 'in' ? entry.axis : perm[entry.axis]!;
    walk.joinInput(node, 0, inAxis);
    walk.join(node.outputs[0]!, perm.indexOf(inAxis));
  },
};

/** Static product of dims, or undefined when one is symbolic. */
function staticProduct(dims: readonly (number | string)[]): number | undefined {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return undefined;
    p *= d;
  }
  return p;
}

/**
 * Reshape, Flatten, Squeeze, Unsqueeze keep channels intact when the other side has an axis of
 * the same size with the same (static) number of elements after it: then element
 * (outer, c, inner) is at the same flat position on both sides.
 */
const reshapes: Rule = {
  ops: new Set<Op>([Op.Reshape, Op.Flatten, Op.Squeeze, Op.Unsqueeze]),
  couple(walk, node, entry) {
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach a shape input', node);
    const from = entry.side === 'in' ? node.inputs[0]! : node.outputs[0]!;
    const to = entry.side === 'in' ? node.outputs[0]! : node.inputs[0]!;
    const inner = from.shape && staticProduct(from.shape.slice(entry.axis + 1));
    const axis = to.shape?.findIndex((d, b) => d === walk.channels && staticProduct(to.shape!.slice(b + 1)) === inner);
    if (inner === undefined || axis === undefined || axis < 0) {
      return walk.stop(`${node.opType} splits or merges the channel axis (${shapeText(from)} -> ${shapeText(to)})`, node);
    }
    walk.join(from, entry.axis);
    walk.join(to, axis);
  },
};

const shapeText = (v: Value) => (v.shape ? `[${v.shape.join(',')}]` : '?');

/** Concat/Split along another axis pass channels to every part. */
const concatSplit: Rule = {
  ops: new Set<Op>([Op.Concat, Op.Split]),
  couple(walk, node, entry) {
    const rank = node.outputs[0]!.rank;
    if (rank === undefined) return walk.stop('rank unknown', node);
    if (normAxis(node.attrInt('axis', 0), rank) === entry.axis) return walk.stop(`${node.opType} along the channel axis`, node);
    if (node.op === Op.Concat) {
      node.inputs.forEach((_, i) => walk.joinInput(node, i, entry.axis));
      walk.join(node.outputs[0]!, entry.axis);
    } else {
      walk.joinInput(node, 0, entry.axis);
      for (const o of node.outputs) walk.join(o, entry.axis);
    }
  },
};

const gather: Rule = {
  ops: new Set<Op>([Op.Gather]),
  couple(walk, node, entry) {
    const dataRank = rankOf(node.inputs[0]);
    const q = rankOf(node.inputs[1]);
    if (dataRank === undefined || q === undefined) return walk.stop('rank unknown', node);
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach the indices', node);
    const g = normAxis(node.attrInt('axis', 0), dataRank);
    let dataAxis: number;
    if (entry.side === 'in') dataAxis = entry.axis;
    else if (entry.axis < g) dataAxis = entry.axis;
    else if (entry.axis >= g + q) dataAxis = entry.axis - q + 1;
    else return walk.stop('channels on the gathered axis', node);
    if (dataAxis === g) return walk.stop('Gather selects along the channel axis', node);
    walk.joinInput(node, 0, dataAxis);
    walk.join(node.outputs[0]!, dataAxis < g ? dataAxis : dataAxis + q - 1);
  },
};

/** Ops whose output depends on the input's shape only. */
const shapeOnly: Rule = { ops: new Set<Op>([Op.Shape, Op.Size]), couple() {} };

/** Reductions: over the channel axis the result no longer depends on channel order. */
const reductions: Rule = {
  ops: new Set<Op>([...Reduce].filter((op) => op !== Op.ArgMax && op !== Op.ArgMin)),
  couple(walk, node, entry) {
    const x = node.inputs[0]!;
    const rank = x.rank;
    const axesValue = node.inputs[1];
    if (rank === undefined || (axesValue && !axesValue.const)) return walk.stop('rank or axes unknown', node);
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach the axes input', node);
    const listed = axesValue?.const ? axesValue.const.toNumbers().map((a) => normAxis(a, rank)) : [];
    const noop = node.attrInt('noop_with_empty_axes', 0) !== 0;
    const axes = listed.length > 0 ? listed : noop ? [] : [...Array(rank).keys()];
    const keep = node.attrInt('keepdims', 1) !== 0;
    const kept = [...Array(rank).keys()].filter((a) => keep || !axes.includes(a));
    const inAxis = entry.side === 'in' ? entry.axis : kept[entry.axis]!;
    walk.joinInput(node, 0, inAxis);
    if (!axes.includes(inAxis)) walk.join(node.outputs[0]!, kept.indexOf(inAxis));
  },
};

/**
 * A product of two activations: the reduction axis of both operands may be permuted together
 * (the sum does not change), and the row/column axes pass to the output.
 */
const matmul: Rule = {
  ops: new Set<Op>([Op.MatMul]),
  couple(walk, node, entry) {
    const [ra, rb, ro] = [rankOf(node.inputs[0]), rankOf(node.inputs[1]), node.outputs[0]!.rank];
    if (ra === undefined || rb === undefined || ro === undefined || ra < 2 || rb < 2) return walk.stop('operand ranks unknown or below 2', node);
    const where =
      entry.side === 'out'
        ? entry.axis === ro - 1 ? 'n' : entry.axis === ro - 2 ? 'm' : 'batch'
        : entry.index === 0
          ? entry.axis === ra - 1 ? 'k' : entry.axis === ra - 2 ? 'm' : 'batch'
          : entry.axis === rb - 2 ? 'k' : entry.axis === rb - 1 ? 'n' : 'batch';
    if (where === 'batch') return walk.stop('channels on a batch axis of MatMul', node);
    if (where === 'k') {
      walk.joinInput(node, 0, ra - 1);
      walk.joinInput(node, 1, rb - 2);
    } else if (where === 'm') {
      walk.joinInput(node, 0, ra - 2);
      walk.join(node.outputs[0]!, ro - 2);
    } else {
      walk.joinInput(node, 1, rb - 1);
      walk.join(node.outputs[0]!, ro - 1);
    }
  },
};

const rules: readonly Rule[] = [elementwise, norms, channelNorms, pooling, transpose, reshapes, concatSplit, gather, shapeOnly, reductions, matmul];
