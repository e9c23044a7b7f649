// What calibration data shows that weights alone do not: how sparse each layer's input
// activations are, and how a mixture of experts routes tokens. One streaming pass over the
// batches; per watched value only running counts are kept.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';
import { runWithObserver } from '../calibration.js';
import type { WeightView } from './weights.js';

export interface ActivationSparsity {
  /** The weight whose input this is, and the activation's name. */
  readonly layer: string;
  readonly input: string;
  /** Elements seen. */
  readonly elements: number;
  /** Fraction of exact zeros. */
  readonly zeroFraction: number;
  /** Fraction with |x| < 1e-3 * max|x| (zeros included), to within a quarter octave. */
  readonly nearZeroFraction: number;
  readonly maxAbs: number;
}

export interface ExpertRouting {
  /** The TopK node choosing experts. */
  readonly node: string;
  readonly experts: number;
  readonly k: number;
  /** Routing decisions seen (tokens). */
  readonly tokens: number;
  /** How often each expert was among the chosen k, as a fraction of tokens. */
  readonly selectedFraction: number[];
  /** Mean gate probability each expert received per token (0 where not chosen); only for TopK over a Softmax. */
  readonly gateMass?: number[];
}

export interface ActivationAnalysis {
  activations: ActivationSparsity[];
  routing: ExpertRouting[];
}

export const NEAR_ZERO_RATIO = 1e-3;

/** Log-magnitude histogram: 4 buckets per octave, enough for "below 1e-3 of the max". */
const BUCKETS_PER_OCTAVE = 4;
const MIN_EXP = -160;
const MAX_EXP = 130;

class MagnitudeStats {
  elements = 0;
  zeros = 0;
  maxAbs = 0;
  readonly histogram = new Float64Array((MAX_EXP - MIN_EXP) * BUCKETS_PER_OCTAVE);

  add(t: Tensor): void {
    const x = t.toFloat32();
    this.elements += x.length;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]!);
      if (a === 0) {
        this.zeros++;
        continue;
      }
      if (a > this.maxAbs) this.maxAbs = a;
      this.histogram[bucketOf(a)]!++;
    }
  }

  nearZero(): number {
    if (this.maxAbs === 0 || !Number.isFinite(this.maxAbs)) return this.zeros;
    const limit = bucketOf(this.maxAbs * NEAR_ZERO_RATIO);
    let n = this.zeros;
    for (let b = 0; b < limit; b++) n += this.histogram[b]!;
    return n;
  }
}

function bucketOf(a: number): number {
  const b = Math.floor((Math.log2(a) - MIN_EXP) * BUCKETS_PER_OCTAVE);
  return Math.max(0, Math.min((MAX_EXP - MIN_EXP) * BUCKETS_PER_OCTAVE - 1, Number.isFinite(b) ? b : 0));
}

class RoutingStats {
  tokens = 0;
  experts = 0;
  k = 0;
  selected: Float64Array = new Float64Array(0);
  mass: Float64Array = new Float64Array(0);
  private values: Tensor | undefined;

  constructor(
    readonly node: Node,
    readonly softmaxed: boolean,
  ) {}

  observe(v: Value, t: Tensor): void {
    if (v === this.node.inputs[0]) {
      const e = t.shape.at(-1) ?? 0;
      if (e > this.experts) this.grow(e);
    } else if (v === this.node.outputs[0]) {
      this.values = t;
    } else if (v === this.node.outputs[1]) {
      this.addChoices(t, this.values);
      this.values = undefined;
    }
  }

  private grow(e: number): void {
    const selected = new Float64Array(e);
    const mass = new Float64Array(e);
    selected.set(this.selected);
    mass.set(this.mass);
    this.selected = selected;
    this.mass = mass;
    this.experts = e;
  }

  private addChoices(indices: Tensor, values: Tensor | undefined): void {
    const k = indices.shape.at(-1) ?? 0;
    if (k === 0) return;
    this.k = k;
    const tokens = indices.size / k;
    this.tokens += tokens;
    const gates = values?.toFloat32();
    for (let i = 0; i < indices.size; i++) {
      const e = indices.get(i);
      if (e >= this.experts) this.grow(e + 1);
      this.selected[e]!++;
      if (gates) this.mass[e]! += gates[i]!;
    }
  }

  result(): ExpertRouting {
    const per = (a: Float64Array) => Array.from(a, (x) => (this.tokens ? x / this.tokens : 0));
    return {
      node: this.node.name,
      experts: this.experts,
      k: this.k,
      tokens: this.tokens,
      selectedFraction: per(this.selected),
      ...(this.softmaxed ? { gateMass: per(this.mass) } : {}),
    };
  }
}

/** Expert choosers: TopK along the last axis, over router probabilities or logits. */
function routers(graph: Graph): RoutingStats[] {
  return graph.nodes
    .filter((n) => n.op === Op.TopK && n.outputs.length === 2 && (n.attrInt('axis', -1) === -1 || n.attrInt('axis', -1) === (n.inputs[0]!.rank ?? 0) - 1))
    .map((n) => new RoutingStats(n, n.inputs[0]!.producer?.op === Op.Softmax));
}

export function analyzeActivations(
  graph: Graph,
  views: readonly WeightView[],
  batches: Iterable<ReadonlyMap<string, Tensor>>,
): ActivationAnalysis {
  const magnitudes = new Map<Value, MagnitudeStats>();
  for (const v of views) if (!magnitudes.has(v.input)) magnitudes.set(v.input, new MagnitudeStats());
  const routing = routers(graph);
  const routingByValue = new Map<Value, RoutingStats>();
  for (const r of routing) for (const v of [r.node.inputs[0]!, ...r.node.outputs]) routingByValue.set(v, r);
  const watch = new Set<Value>([...magnitudes.keys(), ...routingByValue.keys()]);
  runWithObserver(graph, batches, watch, (v, t) => {
    magnitudes.get(v)?.add(t);
    routingByValue.get(v)?.observe(v, t);
  });
  return {
    activations: views.map((view) => {
      const s = magnitudes.get(view.input)!;
      const n = Math.max(1, s.elements);
      return {
        layer: view.name,
        input: view.input.name,
        elements: s.elements,
        zeroFraction: s.zeros / n,
        nearZeroFraction: s.nearZero() / n,
        maxAbs: s.maxAbs,
      };
    }),
    routing: routing.map((r) => r.result()),
  };
}
