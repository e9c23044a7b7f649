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

export function headScoresFromCalibration(graph: Graph, sites: readonly HeadSite[], batches: Batches): Float64Array[] {
  const scores = sites.map((s) => new Float64Array(s.heads));
  const byValue = new Map<Value, number[]>();
  sites.forEach((s, i) => {
    const v = s.out.inputs[0]!;
    byValue.set(v, [...(byValue.get(v) ?? []), i]);
  });
  const weights = sites.map((s) => inputMajor(s.out));
  runWithObserver(graph, batches, new Set(byValue.keys()), (v, t) => {
    for (const i of byValue.get(v)!) accumulateHeads(t, sites[i]!, weights[i]!, scores[i]!);
  });
  return scores;
}

function accumulateHeads(t: Tensor, site: HeadSite, { k, n, w }: { k: number; n: number; w: Float32Array }, into: Float64Array): void {
  const x = t.toFloat32();
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

export function neuronScoresFromCalibration(graph: Graph, sites: readonly MlpSite[], batches: Batches): Float64Array[] {
  const sums = sites.map((s) => new Float64Array(channelRows(s.up, 'out').rows));
  const byValue = new Map<Value, number[]>();
  sites.forEach((s, i) => {
    const v = s.down.inputs[0]!;
    byValue.set(v, [...(byValue.get(v) ?? []), i]);
  });
  runWithObserver(graph, batches, new Set(byValue.keys()), (v, t) => {
    const x = t.toFloat32();
    for (const i of byValue.get(v)!) {
      const acc = sums[i]!;
      const c = acc.length;
      for (let r = 0; r < x.length; r += c) for (let j = 0; j < c; j++) acc[j]! += x[r + j]! * x[r + j]!;
    }
  });
  return sites.map((s, i) => {
    const down = channelRows(s.down, 'in');
    return sums[i]!.map((sq, j) => Math.sqrt(sq * down.norms(j, j + 1)));
  });
}
