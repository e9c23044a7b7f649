// Attention-head and FFN-neuron pruning: score, choose, and remove each layer's choice as one
// coupled group through the coupling graph (passes/structure/coupling.ts). For heads the seed
// is the query projection's rows of the removed heads; the walk finds the key/value rows (and,
// with grouped-query attention, removes a kv head only when all its query heads go, turning the
// kv repeat into a Gather otherwise), the output projection's input rows, biases and the head
// count and merged width in the reshape shapes. For neurons the seed is the up projection's
// rows; the walk finds the gate's rows through the SwiGLU product and the down projection's.
// A layer whose group meets something the coupling cannot carry is left as it was, with the
// reason in the report.

import { error } from '../../ir/diagnostics.js';
import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { applyCoupling, describeStops, layerOutputSeed, planCoupling, type RemovalSeed } from '../structure/coupling.js';
import {
  headScoresFromCalibration,
  headScoresFromWeights,
  neuronScoresFromCalibration,
  neuronScoresFromWeights,
  type HeadSite,
  type MlpSite,
  type ScoreSource,
} from './importance.js';
import { canCompensate, compensateBias } from './compensate.js';
import { refitReader, type ReaderStats } from './refit.js';
import { lowestAcrossLayers, lowestPerLayer } from './select.js';

export type { HeadSite, MlpSite, ScoreSource } from './importance.js';
export { parseHeadList } from './select.js';

/** A site with the name and index the report uses for it. */
export interface Labeled<T> {
  /** Transformer layer index. */
  readonly layer: number;
  /** For people: `layer 2 attention`, `layer 0 expert 3`. */
  readonly name: string;
  readonly site: T;
}

type Batches = Iterable<ReadonlyMap<string, Tensor>>;

export interface HeadPruneOptions {
  /** Remove round(ratio * all heads), the least important across layers. */
  readonly ratio?: number;
  /** Remove exactly these heads, by transformer layer index. */
  readonly heads?: ReadonlyMap<number, readonly number[]>;
  readonly calib?: Batches;
  /** With calib: refit the output projection on the kept heads (default true; see refit.ts). */
  readonly refit?: boolean;
}

export interface HeadLayerReport {
  readonly layer: number;
  readonly name: string;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly removed: readonly number[];
  /** kv heads removed with them (all their query heads went). */
  readonly removedKv: readonly number[];
  /** Importance per head (calibration or weight scores, see importance.ts). */
  readonly scores: readonly number[];
  /** How the output projection made up for the removal (with calibration: refit). */
  readonly compensated?: Compensated;
  /** Why this layer was left unchanged. */
  readonly skipped?: string;
}

export interface HeadPruneReport {
  /** How the heads were chosen. */
  readonly scoring: ScoreSource | 'explicit';
  readonly layers: readonly HeadLayerReport[];
}

export function pruneHeads(graph: Graph, sites: readonly Labeled<HeadSite>[], opts: HeadPruneOptions): HeadPruneReport {
  // Option mistakes surface before the calibration pass.
  const explicit = opts.heads ? explicitHeads(sites, opts.heads) : undefined;
  const ratio = explicit ? 0 : checkRatio(opts.ratio);
  const plain = sites.map((s) => s.site);
  const calibrated = opts.calib ? headScoresFromCalibration(graph, plain, opts.calib) : undefined;
  const scores = calibrated?.scores ?? headScoresFromWeights(plain);
  const stats = calibrated?.stats;
  const scoring: HeadPruneReport['scoring'] = explicit ? 'explicit' : calibrated ? 'calibration' : 'weights';
  const choice = explicit ?? lowestAcrossLayers(scores, ratio);
  const layers = sites.map(({ layer, name, site }, i): HeadLayerReport => {
    const removed = choice[i]!;
    const base = { layer, name, heads: site.heads, kvHeads: site.kvHeads, headDim: site.headDim, scores: [...scores[i]!] };
    if (removed.length === 0) return { ...base, removed, removedKv: [] };
    const channels = removed.flatMap((h) => channelsOf(h, site.headDim));
    const seed: RemovalSeed = { value: site.q.value, axis: -1, remove: channels };
    const done = removeGroup(graph, seed, stats && { reader: site.out, stats: stats[i]!, channels, refit: opts.refit !== false });
    if ('skipped' in done) return { ...base, removed: [], removedKv: [], skipped: done.skipped };
    return { ...base, removed, removedKv: wholeGroups(removed, site.heads, site.kvHeads), compensated: done.compensated };
  });
  return { scoring, layers };
}

export interface NeuronPruneOptions {
  /** Remove round(ratio * hidden) channels of every MLP (and expert). */
  readonly ratio: number;
  readonly calib?: Batches;
  /** With calib: refit the down projection on the kept channels (default true). */
  readonly refit?: boolean;
}

export interface NeuronLayerReport {
  readonly layer: number;
  readonly name: string;
  readonly hidden: number;
  readonly removed: number;
  readonly compensated?: Compensated;
  readonly skipped?: string;
}

export interface NeuronPruneReport {
  readonly scoring: ScoreSource;
  readonly layers: readonly NeuronLayerReport[];
}

export function pruneNeurons(graph: Graph, sites: readonly Labeled<MlpSite>[], opts: NeuronPruneOptions): NeuronPruneReport {
  const ratio = checkRatio(opts.ratio);
  const plain = sites.map((s) => s.site);
  const calibrated = opts.calib ? neuronScoresFromCalibration(graph, plain, opts.calib) : undefined;
  const scores = calibrated?.scores ?? neuronScoresFromWeights(plain);
  const stats = calibrated?.stats;
  const choice = lowestPerLayer(scores, ratio);
  const layers = sites.map(({ layer, name, site }, i): NeuronLayerReport => {
    const removed = choice[i]!;
    const hidden = scores[i]!.length;
    if (removed.length === 0) return { layer, name, hidden, removed: 0 };
    const done = removeGroup(graph, layerOutputSeed(site.up, removed), stats && { reader: site.down, stats: stats[i]!, channels: removed, refit: opts.refit !== false });
    return 'skipped' in done ? { layer, name, hidden, removed: 0, skipped: done.skipped } : { layer, name, hidden, removed: removed.length, compensated: done.compensated };
  });
  return { scoring: opts.calib ? 'calibration' : 'weights', layers };
}

/** The reading layer is refit on the kept channels (or takes the removed ones' mean output). */
interface Compensation {
  readonly reader: Node;
  readonly stats: ReaderStats;
  readonly channels: readonly number[];
  /** Refit by least squares; otherwise only the mean output moves into the bias. */
  readonly refit: boolean;
}

/** How the reading layer made up for a removal. */
export type Compensated = 'refit' | 'mean' | 'none';

/** Plan and apply one coupled removal: what compensated it, or why it cannot be applied. */
function removeGroup(graph: Graph, seed: RemovalSeed, compensation?: Compensation): { skipped: string } | { compensated: Compensated } {
  const plan = planCoupling(graph, [seed]);
  if (plan.stops.length > 0) return { skipped: describeStops(plan) };
  let compensated: Compensated = 'none';
  if (compensation && canCompensate(compensation.reader)) {
    const { reader, stats, channels } = compensation;
    const refit = compensation.refit && stats.gram.length > 0 && refitReader(graph, reader, stats, channels);
    if (!refit) compensateBias(graph, reader, stats.mean, channels);
    compensated = refit ? 'refit' : 'mean';
  }
  applyCoupling(graph, plan);
  return { compensated };
}

const channelsOf = (head: number, headDim: number) => Array.from({ length: headDim }, (_, d) => head * headDim + d);

/** kv heads all of whose query heads are in `removed`. */
function wholeGroups(removed: readonly number[], heads: number, kvHeads: number): number[] {
  const per = heads / kvHeads;
  const out: number[] = [];
  for (let g = 0; g < kvHeads; g++) {
    let all = true;
    for (let r = 0; r < per && all; r++) all = removed.includes(g * per + r);
    if (all) out.push(g);
  }
  return out;
}

function checkRatio(ratio: number | undefined): number {
  if (ratio === undefined || !(ratio >= 0 && ratio < 1)) {
    throw error('BAD_OPTION', `--ratio must be at least 0 and below 1${ratio === undefined ? '' : `, not ${ratio}`}`);
  }
  return ratio;
}

function explicitHeads(sites: readonly Labeled<HeadSite>[], heads: ReadonlyMap<number, readonly number[]>): number[][] {
  const byLayer = new Map(sites.map((s, i) => [s.layer, i]));
  const choice = sites.map(() => [] as number[]);
  for (const [layer, list] of heads) {
    const i = byLayer.get(layer);
    if (i === undefined) {
      throw error('BAD_OPTION', `--heads names layer ${layer}, but the attention layers are ${[...byLayer.keys()].join(', ') || 'none'}`);
    }
    const site = sites[i]!.site;
    const bad = list.find((h) => h < 0 || h >= site.heads);
    if (bad !== undefined) throw error('BAD_OPTION', `--heads names head ${bad} of layer ${layer}, which has ${site.heads} heads (0..${site.heads - 1})`);
    if (list.length >= site.heads) throw error('BAD_OPTION', `--heads would remove every head of layer ${layer}; keep at least one`);
    choice[i] = [...list].sort((a, b) => a - b);
  }
  return choice;
}
