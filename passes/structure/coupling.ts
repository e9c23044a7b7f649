// The coupling (dependency) graph of channel removal, after Torch-Pruning's DepGraph: removing
// some channels of one tensor forces removing the matching channels of every tensor they are
// computed from or feed into. A seed (a linear layer's output channels, or any value's axis,
// with the indices to remove) spreads to a closure of "members": each a value, the axis its
// channels run along, and the indices removed there. Linear layers end the spread (their input
// and output channels are independent); elementwise ops, activations, Transpose, Reshape
// around heads, Split/Slice/Concat with offsets, attention's MatMuls over the head axis and the
// grouped-query repeat of key/value heads carry it on. Sets only grow, so the walk reaches a
// fixpoint; the plan is then derived from the final sets: which constants lose which indices
// (weights, biases, norm and elementwise parameters), which shape constants change, and which
// repeat of kv heads becomes a Gather. Nothing is changed until `applyCoupling`.
//
// What cannot carry a removal (a norm over the channel axis, a graph output, an unknown op)
// is a stop: the plan names it and applying a plan with stops is refused.

import type { Graph, Node, Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';
import { applyEdits } from './coupling-apply.js';
import { editsOf, propagate, repeatChains, type RepeatChain } from './coupling-rules.js';
import { probeShapes } from './coupling-shapes.js';

export interface RemovalSeed {
  readonly value: Value;
  /** The axis the channels run along (negative counts from the end). */
  readonly axis: number;
  /** Indices along that axis to remove. */
  readonly remove: readonly number[];
}

/** A value in the closure: the channels on `axis` (of `size`) lose `removed`. */
export interface Member {
  readonly value: Value;
  readonly axis: number;
  readonly size: number;
  readonly removed: readonly number[];
}

export type Edit =
  /** Drop `indices` along `axis` of the constant input `input` of `node` (weights, biases, ...). */
  | { readonly kind: 'remove-indices'; readonly node: Node; readonly input: number; readonly axis: number; readonly indices: readonly number[] }
  /** Entry `position` of the shape input `input` of `node` (Reshape, Expand) becomes `size`. */
  | { readonly kind: 'set-shape-entry'; readonly node: Node; readonly input: number; readonly position: number; readonly size: number }
  /** Input `input` of `node` becomes this constant (Split sizes, Slice bounds). */
  | { readonly kind: 'set-constant'; readonly node: Node; readonly input: number; readonly tensor: Tensor }
  /**
   * A grouped-query repeat of kv heads (Unsqueeze -> Expand -> Reshape) is replaced by a Gather
   * along `axis` of `source` picking, for each kept query head, its kv head.
   */
  | { readonly kind: 'repeat-to-gather'; readonly reshape: Node; readonly source: Value; readonly axis: number; readonly indices: readonly number[] };

export interface Stop {
  readonly node?: Node;
  readonly value?: Value;
  readonly reason: string;
}

export interface CouplingPlan {
  readonly members: readonly Member[];
  readonly edits: readonly Edit[];
  /** Empty when the plan can be applied. */
  readonly stops: readonly Stop[];
}

/** Seed: remove output channels `remove` of the linear layer `node`. */
export function layerOutputSeed(node: Node, remove: readonly number[]): RemovalSeed {
  const layer = linearLayer(node);
  if (!layer) throw new Error(`${node.describe()} is not a linear layer with a constant weight`);
  return { value: node.outputs[0]!, axis: layer.outputAxis, remove };
}

/** Everything that has to change together with the seeds' removals. */
export function planCoupling(graph: Graph, seeds: readonly RemovalSeed[]): CouplingPlan {
  const walk = new CouplingWalk(graph, probeShapes(graph));
  for (const s of seeds) walk.require(s.value, s.axis, s.remove);
  walk.run();
  return walk.plan();
}

/**
 * Apply a plan without stops: edit the constants and shapes, rewire repeats, remove what died
 * and re-infer types. Throws if the plan has stops.
 */
export function applyCoupling(graph: Graph, plan: CouplingPlan): void {
  if (plan.stops.length > 0) throw new Error(`coupling plan has stops: ${plan.stops.map((s) => s.reason).join('; ')}`);
  applyEdits(graph, plan.edits);
}

/** One line per stop, for messages. */
export function describeStops(plan: CouplingPlan): string {
  return plan.stops.map((s) => (s.node ? `${s.node.opType} '${s.node.name}': ${s.reason}` : s.reason)).join('; ');
}

/** A dim whose size is not known statically (see `CouplingWalk.dims`). */
export const UNKNOWN_DIM = -1;

interface MemberState {
  axis: number;
  size: number;
  removed: Set<number>;
}

/** The fixpoint walk; rules (coupling-rules.ts) read and extend its members. */
export class CouplingWalk {
  private readonly members = new Map<Value, MemberState>();
  private readonly stops: Stop[] = [];
  private readonly stopKeys = new Set<string>();
  private readonly queue: Node[] = [];
  private readonly queued = new Set<Node>();
  /** Nodes a rule ran on, in first-visit order. */
  readonly visited: Node[] = [];
  private readonly seen = new Set<Node>();
  readonly repeats: ReadonlyMap<Node, RepeatChain>;

  constructor(
    readonly graph: Graph,
    private readonly shapes: ReadonlyMap<Value, number[]>,
  ) {
    this.repeats = repeatChains(graph, (v) => this.dims(v));
  }

  /**
   * Concrete dims of `v`: a constant's, the probe's, or the annotations with -1 for dims no
   * probe can fix (data-dependent ones, such as the tokens routed to an expert).
   */
  dims(v: Value | undefined): number[] | undefined {
    if (!v) return undefined;
    if (v.const) return [...v.const.shape];
    return this.shapes.get(v) ?? v.shape?.map((d) => (typeof d === 'number' ? d : UNKNOWN_DIM));
  }

  member(v: Value | undefined): Readonly<MemberState> | undefined {
    return v ? this.members.get(v) : undefined;
  }

  stop(reason: string, node?: Node, value?: Value): void {
    const key = `${node?.id ?? ''}:${value?.id ?? ''}:${reason}`;
    if (this.stopKeys.has(key)) return;
    this.stopKeys.add(key);
    this.stops.push({ ...(node ? { node } : {}), ...(value ? { value } : {}), reason });
  }

  /** `v`'s channels on `axis` lose (at least) `indices`. */
  require(v: Value, axis: number, indices: Iterable<number>): void {
    const list = [...indices];
    if (list.length === 0) return;
    if (v.const) return this.stop(`constant ${v} reached as an activation`, v.producer, v);
    const dims = this.dims(v);
    if (!dims) return this.stop(`shape of ${v} unknown`, v.producer, v);
    const a = axis < 0 ? axis + dims.length : axis;
    if (a < 0 || a >= dims.length) return this.stop(`${v} has no axis ${axis}`, v.producer, v);
    if (dims[a] === UNKNOWN_DIM) return this.stop(`the channel count of ${v} on axis ${a} is unknown`, v.producer, v);
    let m = this.members.get(v);
    if (m && m.axis !== a) return this.stop(`${v} would lose channels on two axes (${m.axis} and ${a})`, v.producer, v);
    if (!m) {
      m = { axis: a, size: dims[a]!, removed: new Set() };
      this.members.set(v, m);
      if (v.isGraphOutput) this.stop(`${v} is a graph output: its shape is part of the model's interface`, v.producer, v);
      if (v.isGraphInput) this.stop(`${v} is a graph input: its shape is part of the model's interface`, undefined, v);
    }
    let grew = false;
    for (const i of list) {
      if (i < 0 || i >= m.size) return this.stop(`index ${i} out of range for ${m.size} channels of ${v}`, v.producer, v);
      if (!m.removed.has(i)) {
        m.removed.add(i);
        grew = true;
      }
    }
    if (!grew) return;
    if (v.producer) this.enqueue(v.producer);
    for (const use of v.uses) {
      if (use.node.graph !== this.graph) this.stop(`${v} is used inside a subgraph`, use.node, v);
      else this.enqueue(use.node);
    }
  }

  private enqueue(node: Node): void {
    if (this.queued.has(node)) return;
    this.queued.add(node);
    this.queue.push(node);
  }

  run(): void {
    for (let node = this.queue.shift(); node; node = this.queue.shift()) {
      this.queued.delete(node);
      if (!this.seen.has(node)) {
        this.seen.add(node);
        this.visited.push(node);
      }
      propagate(this, node);
    }
  }

  plan(): CouplingPlan {
    // Edits are derived from the final sets; deriving them may find stops of its own.
    const edits = this.visited.flatMap((n) => editsOf(this, n));
    const members = [...this.members].map(([value, m]) => ({ value, axis: m.axis, size: m.size, removed: [...m.removed].sort((a, b) => a - b) }));
    return { members, edits: this.stops.length === 0 ? edits : [], stops: [...this.stops] };
  }
}
