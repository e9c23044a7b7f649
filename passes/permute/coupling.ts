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
// Blocks. A group permutes `channels` channels, and an axis that carries them may hold several
// blocks of them: the permutation then moves channels within every block alike (channel
// b*channels + i goes to b*channels + perm[i]). That is what lets a group pass an attention
// head reshape: the output projection reads heads*head_dim channels that were head_dim
// channels of each head, so a permutation of head_dim shared by all heads passes back through
// the merge, the attention product and the split to the value projection's output rows (and,
// for a fused qkv projection, to q and k too, whose head channels meet only in their product).
// A group starts with all of the reader's channels in one block; when a reshape, Split or
// Concat cuts the channel axis into pieces that are not whole blocks, the walk starts over
// with blocks of the largest size that divides them all (when that size can still hold N:M
// groups), see findChannelGroups.
//
// An op that cannot pass a permutation through (a reshape mixing channels with another axis,
// a Slice of channels, a graph output, ...) stops the group; the group is then left alone and
// the stop names the node. The walk still finishes the group, so every reader meets its group
// once and no stop is reported twice.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Dims } from './dims.js';
import { linearLayer, type LinearLayer } from './layers.js';
import { ruleFor } from './rules.js';

/** Permute the constant `node.inputs[index]` along `axis` (blockwise when the axis is longer). */
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
  /** Channels the permutation moves; an axis carrying them holds a whole number of blocks of them. */
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

export interface GroupOptions {
  /**
   * Blocks smaller than the reader's channels are tried only when their size is a multiple of
   * this (M of N:M: a block must hold whole N:M groups) and at least twice it (one stripe has
   * nothing to rearrange). Default 1.
   */
  readonly granularity?: number;
}

/** The channel group of each reader's input; a reader appears in exactly one group. */
export function findChannelGroups(graph: Graph, readers: readonly Node[], opts: GroupOptions = {}): ChannelGroup[] {
  const granularity = opts.granularity ?? 1;
  const dims = new Dims(graph);
  const groups: ChannelGroup[] = [];
  const seen = new Set<Node>();
  for (const reader of readers) {
    if (seen.has(reader)) continue;
    const layer = linearLayer(reader);
    if (!layer || layer.channelwise) continue;
    let channels = reader.inputs[layer.weightIndex]!.const!.shape[layer.weightInAxis]!;
    let walk: GroupWalk;
    for (;;) {
      walk = new GroupWalk(graph, channels, dims);
      walk.join(reader.inputs[0]!, layer.inputAxis);
      walk.run();
      const smaller = walk.blockHint;
      const retry = walk.stops.length > 0 && walk.stops.length === walk.misfits && smaller < channels && smaller % granularity === 0 && smaller >= 2 * granularity;
      if (!retry) break;
      channels = smaller;
    }
    for (const r of walk.readers) seen.add(r);
    groups.push(walk.result());
  }
  return groups;
}

export type Entry = { side: 'in'; index: number; axis: number } | { side: 'out'; index: number; axis: number };

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The walk of one group; rules (rules.ts) call join/joinInput/stop to spread it across a node. */
export class GroupWalk {
  readonly members = new Map<Value, number>();
  readonly readers: Node[] = [];
  readonly writers: Node[] = [];
  readonly edits: ConstEdit[] = [];
  readonly stops: Stop[] = [];
  /** The largest block size dividing every axis length met that `channels` did not divide. */
  blockHint: number;
  /** Stops made by fits(): a smaller block size may pass where these stopped. */
  misfits = 0;
  private readonly queue: Value[] = [];
  /** Nodes already coupled, by role ('in'/'out' for linear layers, 'all' otherwise). */
  private readonly done = new Set<string>();

  constructor(
    readonly graph: Graph,
    readonly channels: number,
    readonly dims: Dims,
  ) {
    this.blockHint = channels;
  }

  result(): ChannelGroup {
    const { channels, members, readers, writers, edits, stops } = this;
    return { channels, members, readers, writers, edits, stops };
  }

  stop(reason: string, node?: Node, value?: Value): void {
    this.stops.push({ node, value, reason });
  }

  /**
   * Whether an axis of `size` entries can carry the channels (whole blocks of them). If not,
   * stops there and remembers the block size that would fit.
   */
  fits(size: number, what: string, node?: Node, value?: Value): boolean {
    if (size % this.channels === 0) return true;
    this.blockHint = gcd(this.blockHint, size);
    this.misfits++;
    this.stop(`${what} has ${size} entries on the channel axis, not a multiple of ${this.channels}`, node, value);
    return false;
  }

  /** `v` carries the channels on `axis`. */
  join(v: Value, axis: number): void {
    const known = this.members.get(v);
    if (known !== undefined) {
      if (known !== axis) this.stop(`${v} would carry channels on two axes (${known} and ${axis})`, v.producer, v);
      return;
    }
    if (v.const) return this.stop(`constant ${v} reached without a consumer to edit it for`, v.producer, v);
    if (v.rank === undefined || axis < 0 || axis >= v.rank) return this.stop(`rank of ${v} unknown or too small`, v.producer, v);
    const size = this.dims.of(v, axis);
    if (size !== undefined && !this.fits(size, `${v}`, v.producer, v)) return;
    this.members.set(v, axis);
    this.queue.push(v);
  }

  /** Input `index` of `node` carries the channels on `axis`: join it, or edit it if constant. */
  joinInput(node: Node, index: number, axis: number): void {
    const v = node.inputs[index];
    if (!v) return;
    if (!v.const) return this.join(v, axis);
    const size = v.const.shape[axis];
    if (size === 1) return;
    if (size === undefined || !this.fits(size, `constant ${v}`, node)) return;
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
    const rule = ruleFor(node.op);
    if (rule) return rule.couple(this, node, entry);
    this.stop(`${node.opType} does not pass a channel permutation through`, node);
  }

  private coupleLayer(node: Node, entry: Entry, layer: LinearLayer): void {
    const axis = entry.side === 'in' ? layer.inputAxis : layer.outputAxis;
    if (entry.axis !== axis) return this.stop(`channels reach ${node.opType} on axis ${entry.axis}, not its channel axis ${axis}`, node);
    if (layer.channelwise) {
      this.join(node.inputs[0]!, layer.inputAxis);
      this.join(node.outputs[0]!, layer.outputAxis);
      this.editBias(node, layer.weightIndex, layer.weightOutAxis);
      if (layer.biasIndex !== undefined) this.editBias(node, layer.biasIndex);
      return;
    }
    const weightAxis = entry.side === 'in' ? layer.weightInAxis : layer.weightOutAxis;
    if (!this.fits(node.inputs[layer.weightIndex]!.const!.shape[weightAxis]!, `the weight of ${node.opType} '${node.name}'`, node)) return;
    if (entry.side === 'in') {
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
