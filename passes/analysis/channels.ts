// What dead channels make removable through the graph (Torch-Pruning's dependency idea, for
// channels that are already zero):
//
// - Forward: an all-zero output row r of a layer, with a zero (or no) bias at r, is an exact
//   zero channel. Through ops with f(0) = 0 (Relu, Gelu, SiLU's Mul, Clip around 0, a zero
//   bias) it stays zero, so each layer it reaches multiplies zeros in input channel r: that
//   input channel is removable there. When every path ends in such a layer, the producer's
//   row is removable too.
// - Backward: an all-zero input channel c of a layer ignores its input's channel c. When every
//   reader of that value ignores channel c (elementwise ops whose outputs are ignored in turn),
//   the producing layer's output row c is removable.
//
// Channels are located by their axis counted from the end: the last axis for matrix products,
// axis 1 of a Conv's N-D output. Broadcasting keeps that count, so elementwise ops keep it.

import type { Node, Value } from '../../ir/graph.js';
import { Elementwise, ElementwiseUnary, Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';
import type { WeightView } from './weights.js';

export interface ChannelRemoval {
  /** The weight (view name) losing channels, and its node. */
  readonly layer: string;
  readonly node: string;
  /** 'rows': output channels of the layer; 'cols': its input channels. */
  readonly axis: 'rows' | 'cols';
  readonly channels: number[];
  /** Why, for people: which dead channels of which layer cause it. */
  readonly reason: string;
}

/** Unary ops with f(0) = 0 exactly. */
const ZeroPreserving: ReadonlySet<Op> = new Set<Op>([
  Op.Relu, Op.Gelu, Op.LeakyRelu, Op.Tanh, Op.HardSwish, Op.Elu, Op.Selu, Op.Celu, Op.Neg, Op.Abs,
  Op.Sin, Op.Erf, Op.Mish, Op.Sqrt, Op.Sign, Op.Softsign, Op.ThresholdedRelu, Op.Cast, Op.Identity,
  Op.Dropout, Op.Asin, Op.Atan, Op.Tan, Op.Sinh, Op.Asinh, Op.Atanh, Op.Floor, Op.Ceil, Op.Round,
]);

/** Channel axis of a layer's output (and input), counted from the end. */
function channelAxisFromEnd(view: WeightView): number {
  return view.node.op === Op.Conv ? view.value.const!.rank - 1 : 1;
}

/** Only ungrouped layers have one input channel per weight channel index. */
const channelsMatch = (view: WeightView): boolean => view.node.op !== Op.Conv || view.node.attrInt('group', 1) === 1;

/**
 * The value of a per-channel constant at channel c, broadcast against an output whose channel
 * axis is `axFromEnd` from the end; undefined when it does not broadcast per channel.
 */
function channelValue(t: Tensor, c: number, axFromEnd: number): number | undefined {
  if (t.size === 1) return t.get(0);
  const at = t.rank - axFromEnd;
  if (at < 0) return undefined;
  for (let d = 0; d < t.rank; d++) if (d !== at && t.shape[d] !== 1) return undefined;
  return c < t.shape[at]! ? t.get(c) : undefined;
}

function biasOf(view: WeightView): Tensor | undefined {
  const op = view.node.op;
  return op === Op.Linear || op === Op.Gemm || op === Op.Conv ? view.node.inputs[2]?.const : undefined;
}

export function findRemovableChannels(
  views: readonly WeightView[],
  dead: ReadonlyMap<WeightView, { rows: readonly number[]; cols: readonly number[] }>,
): ChannelRemoval[] {
  const byNode = new Map(views.map((v) => [v.node, v]));
  const out: ChannelRemoval[] = [];
  for (const view of views) {
    const d = dead.get(view);
    if (!d) continue;
    if (d.rows.length > 0) out.push(...forwardFromDeadRows(view, d.rows, byNode));
    if (d.cols.length > 0 && channelsMatch(view)) out.push(...backwardFromDeadCols(view, d.cols, byNode));
  }
  return out;
}

// ---- forward ----

function forwardFromDeadRows(view: WeightView, rows: readonly number[], byNode: ReadonlyMap<Node, WeightView>): ChannelRemoval[] {
  const ax = channelAxisFromEnd(view);
  const bias = biasOf(view);
  const gemmBiasOk = view.node.op !== Op.Gemm || !bias || bias.rank < 2 || bias.shape[0] === 1;
  const consumerCols = new Map<WeightView, number[]>();
  const removableRows: number[] = [];
  for (const r of rows) {
    if (bias && (!gemmBiasOk || channelValue(bias, r, 1) !== 0)) continue;
    const reached: WeightView[] = [];
    const blocked = walkZeroChannel(view.node.outputs[0]!, r, ax, view.node.op === Op.Conv, byNode, reached);
    for (const consumer of reached) consumerCols.set(consumer, [...(consumerCols.get(consumer) ?? []), r]);
    if (!blocked && reached.length > 0) removableRows.push(r);
  }
  const out: ChannelRemoval[] = [];
  for (const [consumer, cols] of consumerCols) {
    out.push({
      layer: consumer.name,
      node: consumer.node.name,
      axis: 'cols',
      channels: [...new Set(cols)].sort((a, b) => a - b),
      reason: `multiplies exact zeros: dead output rows of '${view.name}'`,
    });
  }
  if (removableRows.length > 0) {
    out.push({ layer: view.name, node: view.node.name, axis: 'rows', channels: removableRows, reason: 'all-zero rows that every consumer can drop' });
  }
  return out;
}

/** Follow an exact-zero channel; collects the layers it reaches, returns true if blocked. */
function walkZeroChannel(
  v: Value, c: number, ax: number, fromConv: boolean, byNode: ReadonlyMap<Node, WeightView>, reached: WeightView[],
): boolean {
  if (v.isGraphOutput) return true;
  let blocked = false;
  for (const { node, index } of v.uses) {
    const consumer = byNode.get(node);
    if (consumer && index === 0) {
      if (channelAxisFromEnd(consumer) === ax && channelsMatch(consumer)) reached.push(consumer);
      else blocked = true;
      continue;
    }
    if (keepsZero(node, index, c, ax, fromConv)) {
      blocked = walkZeroChannel(node.outputs[0]!, c, ax, fromConv, byNode, reached) || blocked;
    } else {
      blocked = true;
    }
  }
  return blocked;
}

/** Whether `node` maps an exact-zero channel c of its input `index` to an exact-zero channel. */
function keepsZero(node: Node, index: number, c: number, ax: number, fromConv: boolean): boolean {
  const other = (i: number) => node.inputs[i]?.const;
  switch (node.op) {
    case Op.Mul:
      return true;
    case Op.Div:
      return index === 0;
    case Op.Add:
    case Op.Sub: {
      const k = other(1 - index);
      return k !== undefined && channelValue(k, c, ax) === 0;
    }
    case Op.Clip: {
      const lo = other(1);
      const hi = other(2);
      return index === 0 && (lo === undefined || lo.get(0) <= 0) && (hi === undefined || hi.get(0) >= 0) && (!node.inputs[1] || !!lo) && (!node.inputs[2] || !!hi);
    }
    case Op.BatchNormalization: {
      // y = (x - mean) / sqrt(var + eps) * scale + bias: zero at x = 0 only if bias = mean * scale / sqrt(var + eps).
      const [scale, bias, mean, variance] = [other(1), other(2), other(3), other(4)];
      if (index !== 0 || !fromConv || !scale || !bias || !mean || !variance) return false;
      const eps = node.attrFloat('epsilon', 1e-5);
      return bias.get(c) - (mean.get(c) * scale.get(c)) / Math.sqrt(variance.get(c) + eps) === 0;
    }
    default:
      return index === 0 && ZeroPreserving.has(node.op);
  }
}

// ---- backward ----

function backwardFromDeadCols(view: WeightView, cols: readonly number[], byNode: ReadonlyMap<Node, WeightView>): ChannelRemoval[] {
  const ax = channelAxisFromEnd(view);
  const rowsOf = new Map<WeightView, number[]>();
  // Which nodes ignore channel c does not depend on c: walk once, then apply to every column.
  for (const producer of producersIgnoringChannel(view, ax, byNode)) rowsOf.set(producer, [...cols]);
  return [...rowsOf].map(([producer, rows]) => ({
    layer: producer.name,
    node: producer.node.name,
    axis: 'rows' as const,
    channels: rows.filter((r) => r < producer.rows),
    reason: `output unused: dead input channels of '${view.name}'`,
  }));
}

/**
 * Layers whose output channel would be read only by nodes that ignore it, given that `view`
 * ignores that input channel. A value qualifies when every one of its readers ignores the
 * channel; elementwise producers then ignore it in their own inputs.
 */
function producersIgnoringChannel(view: WeightView, ax: number, byNode: ReadonlyMap<Node, WeightView>): WeightView[] {
  const ignoring = new Set<Node>([view.node]);
  const found: WeightView[] = [];
  let pending: Value[] = [view.input];
  const done = new Set<Value>();
  for (let progress = true; progress; ) {
    progress = false;
    const retry: Value[] = [];
    for (const v of pending) {
      if (done.has(v)) continue;
      if (v.isGraphOutput || v.isGraphInput || v.isConstant || !v.producer) {
        done.add(v);
        continue;
      }
      if (!v.uses.every((u) => ignoring.has(u.node))) {
        retry.push(v);
        continue;
      }
      done.add(v);
      progress = true;
      const p = v.producer;
      const producer = byNode.get(p);
      if (producer && p.outputs[0] === v) {
        if (channelAxisFromEnd(producer) === ax) found.push(producer);
        continue;
      }
      if (!passesChannel(p)) continue;
      ignoring.add(p);
      const inputs = p.op === Op.BatchNormalization || p.op === Op.Clip ? [p.inputs[0]] : p.inputs;
      for (const u of inputs) if (u && !u.isConstant && hasFullChannelAxis(u, ax)) retry.push(u);
    }
    pending = retry;
  }
  return found;
}

function passesChannel(node: Node): boolean {
  return (Elementwise.has(node.op) && node.outputs.length === 1) || ElementwiseUnary.has(node.op) || node.op === Op.BatchNormalization || node.op === Op.Dropout;
}

/** False when the value's known shape broadcasts along the channel axis (size 1 there). */
function hasFullChannelAxis(v: Value, ax: number): boolean {
  const shape = v.shape;
  if (!shape) return true;
  const d = shape[shape.length - ax];
  return d === undefined ? false : d !== 1;
}
