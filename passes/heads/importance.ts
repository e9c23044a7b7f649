// How much each attention head and each FFN hidden channel contributes, to rank what to remove.
//
// From calibration (preferred): a head's output contribution, sum over tokens of
// ||x_h W_o[h]||^2 where x_h is the head's slice of the merged attention output (what the output
// projection reads) and W_o[h] the projection's rows for that slice; a hidden channel's
// ||x_j|| over tokens (at the down projection's input) times its down-projection row norm.
// Both stream through the reference executor; only the running sums are kept.
//
// Without calibration, from weights alone: a head scores ||W_v[kv(h)]|| * ||W_o[h]|| (its value
// rows and output rows, Frobenius norms), a channel ||W_up[j]|| (* ||W_gate[j]||) * ||W_down[j]||.

import type { Graph, Node, Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { runWithObserver } from '../calibration.js';
import { linearLayer } from '../permute/layers.js';
import type { AttentionBlock, MlpBlock } from '../structure/types.js';
import type { ReaderStats } from './refit.js';

export type ScoreSource = 'calibration' | 'weights';

/** What head pruning needs of an attention block. */
export type HeadSite = Pick<AttentionBlock, 'q' | 'v' | 'out' | 'heads' | 'kvHeads' | 'headDim'>;

/** What neuron pruning needs of an MLP (or one expert): the hidden channels are up's outputs. */
export type MlpSite = Pick<MlpBlock, 'up' | 'gate' | 'down'>;

type Batches = Iterable<ReadonlyMap<string, Tensor>>;

/** A linear layer's weight as rows over one channel axis: row(i) is the vector for channel i. */
function channelRows(node: Node, side: 'in' | 'out'): { rows: number; norms: (from: number, to: number) => number } {
  const layer = linearLayer(node);
  if (!layer) throw new Error(`${node.describe()} is not a linear layer with a constant weight`);
  const w = node.inputs[layer.weightIndex]!.const!;
  const axis = side === 'in' ? layer.weightInAxis : layer.weightOutAxis;
  const data = w.toFloat32();
  const [r, c] = w.shape as [number, number];
  /** Sum of squares over channels [from, to) along `axis`. */
  const norms = (from: number, to: number) => {
    let s = 0;
    if (axis === 0) for (let i = from * c; i < to * c; i++) s += data[i]! * data[i]!;
    else for (let i = 0; i < r; i++) for (let j = from; j < to; j++) s += data[i * c + j]! * data[i * c + j]!;
    return s;
  };
  return { rows: w.shape[axis]!, norms };
}

/** The out projection's weight as a row-major [inputs, outputs] float array. */
function inputMajor(node: Node): { k: number; n: number; w: Float32Array } {
  const layer = linearLayer(node)!;
  const t = node.inputs[layer.weightIndex]!.const!;
  const data = t.toFloat32();
  const [r, c] = t.shape as [number, number];
  if (layer.weightInAxis === 0) return { k: r, n: c, w: data };
  const w = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) w[j * r + i] = data[i * c + j]!;
  return { k: c, n: r, w };
}

export function headScoresFromWeights(sites: readonly HeadSite[]): Float64Array[] {
  return sites.map((s) => {
    const out = channelRows(s.out, 'in');
    const v = s.v && channelRows(s.v.node, 'out');
    const perKv = s.heads / s.kvHeads;
    return Float64Array.from({ length: s.heads }, (_, h) => {
      const o = out.norms(h * s.headDim, (h + 1) * s.headDim);
      const g = Math.floor(h / perKv);
      const vOffset = s.v ? s.v.offset : 0;
      const vn = v ? v.norms(vOffset + g * s.headDim, vOffset + (g + 1) * s.headDim) : 1;
      return Math.sqrt(o * vn);
    });
  });
}

/**
 * Scores from calibration, with the mean of every input channel of the reading layer (the out
 * or down projection): removal replaces a group by its mean output (see compensate.ts), so a
 * group's importance is how much its output fluctuates around that mean.
 */
export interface CalibratedScores {
  readonly scores: Float64Array[];
  /** Per site: the reading layer's input statistics (X^T X only up to MAX_GRAM channels). */
  readonly stats: ReaderStats[];
}

/** Widest reader input that gets X^T X for the refit (2048^2 doubles are 32 MiB). */
export const MAX_GRAM = 2048;

/** Per head: sum over tokens of ||(x_h - mean_h) W_o[h]||^2, the centered output contribution. */
export function headScoresFromCalibration(graph: Graph, sites: readonly HeadSite[], batches: Batches): CalibratedScores {
  const raw = sites.map((s) => new Float64Array(s.heads));
  const weights = sites.map((s) => inputMajor(s.out));
  const sums = weights.map((w) => new Float64Array(w.k));
  const grams = weights.map((w) => new Float64Array(w.k <= MAX_GRAM ? w.k * w.k : 0));
  const tokens = observeReaderInputs(graph, sites.map((s) => s.out), batches, (i, x) => {
    accumulateHeads(x, sites[i]!, weights[i]!, raw[i]!);
    addColumnSums(x, sums[i]!);
    addGram(x, sums[i]!.length, grams[i]!);
  });
  const means = sums.map((s, i) => s.map((x) => x / Math.max(1, tokens[i]!)));
  const scores = sites.map((site, i) => {
    const { n, w } = weights[i]!;
    return raw[i]!.map((r, h) => {
      // sum_t ||(x_t - m) W||^2 = sum_t ||x_t W||^2 - T ||m W||^2
      let mean = 0;
      for (let j = 0; j < n; j++) {
        let y = 0;
        for (let d = 0; d < site.headDim; d++) y += means[i]![h * site.headDim + d]! * w[(h * site.headDim + d) * n + j]!;
        mean += y * y;
      }
      return Math.max(0, r - tokens[i]! * mean);
    });
  });
  return { scores, stats: sites.map((_, i) => ({ tokens: tokens[i]!, mean: means[i]!, gram: mirrored(grams[i]!, sums[i]!.length) })) };
}

/** Run the batches, calling `observe(site, x)` with each reader's input; returns tokens seen per site. */
function observeReaderInputs(graph: Graph, readers: readonly Node[], batches: Batches, observe: (site: number, x: Float32Array) => void): number[] {
  const byValue = new Map<Value, number[]>();
  readers.forEach((r, i) => {
    const v = r.inputs[0]!;
    byValue.set(v, [...(byValue.get(v) ?? []), i]);
  });
  const tokens = readers.map(() => 0);
  runWithObserver(graph, batches, new Set(byValue.keys()), (v, t) => {
    const x = t.toFloat32();
    for (const i of byValue.get(v)!) {
      tokens[i]! += x.length / t.shape[t.shape.length - 1]!;
      observe(i, x);
    }
  });
  return tokens;
}

/** X^T X (upper triangle accumulated, mirrored as it goes: cheap enough at these widths). */
function addGram(x: Float32Array, k: number, into: Float64Array): void {
  if (into.length === 0) return;
  for (let r = 0; r < x.length; r += k) {
    for (let i = 0; i < k; i++) {
      const xi = x[r + i]!;
      if (xi === 0) continue;
      const row = i * k;
      for (let j = i; j < k; j++) into[row + j]! += xi * x[r + j]!;
    }
  }
}

/** The symmetric X^T X from its accumulated upper triangle. */
function mirrored(gram: Float64Array, k: number): Float64Array {
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) gram[j * k + i] = gram[i * k + j]!;
  return gram;
}

function addColumnSums(x: Float32Array, into: Float64Array): void {
  const k = into.length;
  for (let r = 0; r < x.length; r += k) for (let j = 0; j < k; j++) into[j]! += x[r + j]!;
}

function accumulateHeads(x: Float32Array, site: HeadSite, { k, n, w }: { k: number; n: number; w: Float32Array }, into: Float64Array): void {
  const tokens = x.length / k;
  const y = new Float64Array(n);
  for (let r = 0; r < tokens; r++) {
    for (let h = 0; h < site.heads; h++) {
      y.fill(0);
      for (let d = 0; d < site.headDim; d++) {
        const c = h * site.headDim + d;
        const xv = x[r * k + c]!;
        if (xv === 0) continue;
        const row = c * n;
        for (let j = 0; j < n; j++) y[j]! += xv * w[row + j]!;
      }
      let s = 0;
      for (let j = 0; j < n; j++) s += y[j]! * y[j]!;
      into[h]! += s;
    }
  }
}

export function neuronScoresFromWeights(sites: readonly MlpSite[]): Float64Array[] {
  return sites.map((s) => {
    const up = channelRows(s.up, 'out');
    const gate = s.gate && channelRows(s.gate, 'out');
    const down = channelRows(s.down, 'in');
    return Float64Array.from({ length: up.rows }, (_, j) => Math.sqrt(up.norms(j, j + 1) * (gate ? gate.norms(j, j + 1) : 1) * down.norms(j, j + 1)));
  });
}

/** Per channel: its standard deviation over tokens times its down-projection row norm. */
export function neuronScoresFromCalibration(graph: Graph, sites: readonly MlpSite[], batches: Batches): CalibratedScores {
  const sums = sites.map((s) => new Float64Array(channelRows(s.up, 'out').rows));
  const squares = sums.map((s) => new Float64Array(s.length));
  const grams = sums.map((s) => new Float64Array(s.length <= MAX_GRAM ? s.length * s.length : 0));
  const tokens = observeReaderInputs(graph, sites.map((s) => s.down), batches, (i, x) => {
    addColumnSums(x, sums[i]!);
    addGram(x, sums[i]!.length, grams[i]!);
    const sq = squares[i]!;
    const c = sq.length;
    for (let r = 0; r < x.length; r += c) for (let j = 0; j < c; j++) sq[j]! += x[r + j]! * x[r + j]!;
  });
  const means = sums.map((s, i) => s.map((x) => x / Math.max(1, tokens[i]!)));
  const scores = sites.map((s, i) => {
    const down = channelRows(s.down, 'in');
    const t = Math.max(1, tokens[i]!);
    return squares[i]!.map((sq, j) => Math.sqrt(Math.max(0, sq / t - means[i]![j]! ** 2) * down.norms(j, j + 1)));
  });
  return { scores, stats: sites.map((_, i) => ({ tokens: tokens[i]!, mean: means[i]!, gram: mirrored(grams[i]!, sums[i]!.length) })) };
}
