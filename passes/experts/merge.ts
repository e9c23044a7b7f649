// Merging a dropped expert into the kept expert that inherits its tokens (after DERN and
// MC-SMoE): experts are sets of neurons (a gate row, an up row and a down column for SwiGLU;
// up and down for a plain MLP), and the same function can sit at different neuron positions in
// two experts. So the dropped expert's neurons are first matched one-to-one to the inheritor's
// by the cosine similarity of their input weights ([gate; up] rows), then each matched pair is
// averaged, the dropped expert weighted by `alpha`. The inheritor keeps its width, so the merge
// costs no parameters.
//
// Who inherits: after pruning, a token that had chosen a dropped expert goes to the best kept
// expert it had not chosen. `inheritors` counts that from router scores seen in calibration.
// Whether merging helps is an empirical question; the caller measures the block's output
// error with and without it and keeps the better one.

import type { Node } from '../../ir/graph.js';
import type { WeightView } from '../analysis/weights.js';
import type { Expert } from '../structure/types.js';

/**
 * For each dropped router column, the kept column that most often takes its place in the
 * top-k, from router scores `scores` [tokens, experts] (probabilities or logits: only their
 * order matters). Columns never chosen get no inheritor.
 */
export function inheritors(scores: Float32Array, experts: number, k: number, kept: readonly number[]): Map<number, number> {
  const keptSet = new Set(kept);
  const counts = new Map<number, Map<number, number>>();
  const order = new Array<number>(experts);
  for (let t = 0; t * experts < scores.length; t++) {
    const row = scores.subarray(t * experts, (t + 1) * experts);
    for (let e = 0; e < experts; e++) order[e] = e;
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    const before = order.slice(0, k);
    const after = order.filter((e) => keptSet.has(e)).slice(0, k);
    const newcomers = after.filter((e) => !before.includes(e));
    const lost = before.filter((e) => !keptSet.has(e));
    lost.forEach((d, i) => {
      const heir = newcomers[i] ?? newcomers[0];
      if (heir === undefined) return;
      const c = counts.get(d) ?? new Map<number, number>();
      c.set(heir, (c.get(heir) ?? 0) + 1);
      counts.set(d, c);
    });
  }
  const out = new Map<number, number>();
  for (const [d, c] of counts) out.set(d, [...c].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0]);
  return out;
}

/** An expert's weights as neurons: rows of `inputs` (gate, up) and columns of `down`. */
interface NeuronWeights {
  readonly inputs: readonly WeightView[];
  readonly down: WeightView;
  readonly hidden: number;
}

function neuronWeights(x: Expert, viewOf: (n: Node) => WeightView | undefined): NeuronWeights | undefined {
  const inputs = [x.gate, x.up].filter((n): n is Node => n !== undefined).map(viewOf);
  const down = viewOf(x.down);
  if (!down || inputs.some((v) => v === undefined)) return undefined;
  const hidden = down.cols;
  if (inputs.some((v) => v!.rows !== hidden)) return undefined;
  return { inputs: inputs as WeightView[], down, hidden };
}

/** Whether two experts can be merged neuron by neuron (same kinds and shapes of weights). */
export function mergeable(a: Expert, b: Expert, viewOf: (n: Node) => WeightView | undefined): boolean {
  const wa = neuronWeights(a, viewOf);
  const wb = neuronWeights(b, viewOf);
  return (
    wa !== undefined && wb !== undefined && wa.hidden === wb.hidden && wa.inputs.length === wb.inputs.length &&
    wa.inputs.every((v, i) => v.cols === wb.inputs[i]!.cols) && wa.down.rows === wb.down.rows
  );
}

/** Neuron n's input weights (all input views' rows, concatenated), unit length. */
function neuronVectors(w: NeuronWeights): Float32Array[] {
  const mats = w.inputs.map((v) => v.read());
  const width = w.inputs.reduce((s, v) => s + v.cols, 0);
  return Array.from({ length: w.hidden }, (_, n) => {
    const vec = new Float32Array(width);
    let at = 0;
    mats.forEach((m, i) => {
      const cols = w.inputs[i]!.cols;
      vec.set(m.subarray(n * cols, (n + 1) * cols), at);
      at += cols;
    });
    let norm = 0;
    for (let i = 0; i < width; i++) norm += vec[i]! * vec[i]!;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < width; i++) vec[i]! /= norm;
    return vec;
  });
}

/** One-to-one matching of source neurons to target neurons, most similar pairs first. */
export function matchNeurons(source: readonly Float32Array[], target: readonly Float32Array[]): Int32Array {
  const pairs: [number, number, number][] = [];
  for (let s = 0; s < source.length; s++) {
    for (let t = 0; t < target.length; t++) {
      let dot = 0;
      const a = source[s]!;
      const b = target[t]!;
      for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
      pairs.push([dot, s, t]);
    }
  }
  pairs.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  const match = new Int32Array(source.length).fill(-1);
  const taken = new Set<number>();
  for (const [, s, t] of pairs) {
    if (match[s] !== -1 || taken.has(t)) continue;
    match[s] = t;
    taken.add(t);
  }
  return match;
}

/**
 * Average each neuron of `dropped` into its matched neuron of `heir` (weight `alpha` for the
 * dropped one). Returns a function that restores the heir's weights.
 */
export function mergeExpert(dropped: Expert, heir: Expert, alpha: number, viewOf: (n: Node) => WeightView | undefined): () => void {
  const src = neuronWeights(dropped, viewOf)!;
  const dst = neuronWeights(heir, viewOf)!;
  const match = matchNeurons(neuronVectors(src), neuronVectors(dst));
  const saved = [...dst.inputs, dst.down].map((v) => ({ v, m: v.read() }));
  const blend = (to: Float32Array, from: Float32Array, toAt: number, fromAt: number) => {
    to[toAt] = (1 - alpha) * to[toAt]! + alpha * from[fromAt]!;
  };
  dst.inputs.forEach((view, i) => {
    const to = view.read();
    const from = src.inputs[i]!.read();
    const cols = view.cols;
    for (let s = 0; s < match.length; s++) {
      for (let c = 0; c < cols; c++) blend(to, from, match[s]! * cols + c, s * cols + c);
    }
    view.write(to);
  });
  const to = dst.down.read();
  const from = src.down.read();
  const hidden = dst.hidden;
  for (let r = 0; r < dst.down.rows; r++) {
    for (let s = 0; s < match.length; s++) blend(to, from, r * hidden + match[s]!, r * hidden + s);
  }
  dst.down.write(to);
  return () => {
    for (const { v, m } of saved) v.write(m);
  };
}
