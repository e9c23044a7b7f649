// How each kind of op passes a channel group between its inputs and outputs (coupling.ts walks
// the graph; a rule says, for one node the group reached on one of its axes, which other axes
// of its inputs and outputs carry the same channels, or stops the group).

import type { Node, Value } from '../../ir/graph.js';
import { Elementwise, Op, Reduce } from '../../ir/ops.js';
import type { Entry, GroupWalk } from './coupling.js';

export interface Rule {
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
    if (walk.dims.of(v, a) === 1) continue;
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

/**
 * Reshape, Flatten, Squeeze, Unsqueeze keep channels intact when the other side has an axis
 * with the same (known) number of elements after it, whose length is a whole number of blocks:
 * element (outer, c, inner) then sits at the same flat position on both sides, and within
 * every block of channels on one side lies a block on the other.
 */
const reshapes: Rule = {
  ops: new Set<Op>([Op.Reshape, Op.Flatten, Op.Squeeze, Op.Unsqueeze]),
  couple(walk, node, entry) {
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach a shape input', node);
    const from = entry.side === 'in' ? node.inputs[0]! : node.outputs[0]!;
    const to = entry.side === 'in' ? node.outputs[0]! : node.inputs[0]!;
    const inner = walk.dims.innerOf(from, entry.axis);
    const rank = to.rank;
    const axis = inner === undefined || rank === undefined ? -1 : [...Array(rank).keys()].find((b) => walk.dims.innerOf(to, b) === inner && walk.dims.of(to, b) !== 1) ?? -1;
    const size = axis >= 0 ? walk.dims.of(to, axis) : undefined;
    if (size === undefined) {
      return walk.stop(`${node.opType} splits or merges the channel axis (${shapeText(from)} -> ${shapeText(to)})`, node);
    }
    if (!walk.fits(size, `${node.opType} output`, node, to)) return;
    walk.join(from, entry.axis);
    walk.join(to, axis);
  },
};

const shapeText = (v: Value) => (v.shape ? `[${v.shape.join(',')}]` : '?');

/**
 * Concat/Split pass channels to every part along another axis. Along the channel axis they
 * pass when every part is a whole number of blocks (a fused qkv projection split into q, k, v
 * with blocks of a head's channels): then all parts share the group.
 */
const concatSplit: Rule = {
  ops: new Set<Op>([Op.Concat, Op.Split]),
  couple(walk, node, entry) {
    const rank = node.outputs[0]!.rank;
    if (rank === undefined) return walk.stop('rank unknown', node);
    if (entry.side === 'in' && entry.index !== 0 && node.op === Op.Split) return walk.stop('channels reach the split sizes', node);
    const along = normAxis(node.attrInt('axis', 0), rank) === entry.axis;
    const parts = node.op === Op.Concat ? node.inputs : node.outputs;
    if (along) {
      for (const part of parts) {
        const size = walk.dims.of(part, entry.axis);
        if (size === undefined) return walk.stop(`${node.opType} along the channel axis with a part of unknown size`, node);
        if (!walk.fits(size, `a part of ${node.opType}`, node, part)) return;
      }
    }
    if (node.op === Op.Concat) {
      node.inputs.forEach((_, i) => walk.joinInput(node, i, entry.axis));
      walk.join(node.outputs[0]!, entry.axis);
    } else {
      walk.joinInput(node, 0, entry.axis);
      for (const o of node.outputs) walk.join(o, entry.axis);
    }
  },
};

/** Slices along other axes than the channel axis pass channels through whole. */
const slice: Rule = {
  ops: new Set<Op>([Op.Slice]),
  couple(walk, node, entry) {
    const rank = node.inputs[0]!.rank;
    const axesValue = node.inputs[3];
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach the slice bounds', node);
    if (rank === undefined || (axesValue && !axesValue.const) || !node.inputs[1]?.const) return walk.stop('rank or sliced axes unknown', node);
    const axes = axesValue?.const ? axesValue.const.toNumbers().map((a) => normAxis(a, rank)) : node.inputs[1].const.toNumbers().map((_, i) => i);
    if (axes.includes(entry.axis)) return walk.stop('Slice of the channel axis', node);
    walk.join(node.inputs[0]!, entry.axis);
    walk.join(node.outputs[0]!, entry.axis);
  },
};

/** Expand broadcasts other axes; the channel axis (longer than 1) keeps its length. */
const expand: Rule = {
  ops: new Set<Op>([Op.Expand]),
  couple(walk, node, entry) {
    if (entry.side === 'in' && entry.index !== 0) return walk.stop('channels reach the target shape', node);
    const x = node.inputs[0]!;
    const [inRank, outRank] = [x.rank, node.outputs[0]!.rank];
    if (inRank === undefined || outRank === undefined) return walk.stop('rank unknown', node);
    const outAxis = entry.side === 'out' ? entry.axis : entry.axis + outRank - inRank;
    const inAxis = outAxis - (outRank - inRank);
    // An input of length 1 there is broadcast: every channel of the output is the same value.
    if (inAxis >= 0 && walk.dims.of(x, inAxis) !== 1) walk.join(x, inAxis);
    walk.join(node.outputs[0]!, outAxis);
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

const rules: readonly Rule[] = [elementwise, norms, channelNorms, pooling, transpose, reshapes, concatSplit, slice, expand, gather, shapeOnly, reductions, matmul];

const byOp = new Map<Op, Rule>(rules.flatMap((rule) => [...rule.ops].map((op) => [op, rule] as const)));

/** The rule for `op`, or undefined when the op stops a group. */
export function ruleFor(op: Op): Rule | undefined {
  return byOp.get(op);
}
