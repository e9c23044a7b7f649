// Prune a model's weights to a sparsity pattern, in place.
//
//   pruneModel(model, {pattern: parsePattern('2:4'), method: 'wanda', calib})
//
// Which weights: every weight view (passes/analysis/weights.ts) except embeddings and the output
// head (unless asked), narrowed by `only` / `skip` globs on the weight's or its node's name.
// A constant shared by several consumers is pruned once. How: one importance score per weight
// (magnitude, Wanda) and a mask per layer, or SparseGPT's OBS with weight updates. With
// calibration data every layer reports its relative reconstruction error on that data.

import { error } from '../../ir/diagnostics.js';
import type { Graph, Model, Node, Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { findWeights, type WeightRole, type WeightView } from '../analysis/weights.js';
import { collectInputStats, type InputStats } from '../calibration.js';
import { permuteForNM, type PermuteReport } from '../permute/index.js';
import { compileGlobs, globToRegExp } from './glob.js';
import { pruneSmallest, selectMask } from './masks.js';
import { formatPattern, type SparsityPattern } from './patterns.js';
import { reconstructionError } from './reconstruction.js';
import { applyMask, magnitudeScores, wandaScores } from './scores.js';
import { sparseGpt, type SparseGptOptions } from './sparsegpt.js';

export { findViolation, formatPattern, parsePattern, targetSparsity, type SparsityPattern } from './patterns.js';

export type PruneMethod = 'magnitude' | 'wanda' | 'sparsegpt';
export const PRUNE_METHODS: readonly PruneMethod[] = ['magnitude', 'wanda', 'sparsegpt'];

/** 'layer': every layer reaches the pattern's sparsity; 'global': one ranking across layers. */
export type Allocation = 'layer' | 'global';

export interface PruneModelOptions {
  pattern: SparsityPattern;
  method: PruneMethod;
  allocation?: Allocation;
  /**
   * Calibration batches (needed by wanda and sparsegpt); iterated once, or once per stage when
   * `sequential`.
   */
  calib?: Iterable<ReadonlyMap<string, Tensor>>;
  /**
   * Calibrate in stages, as the SparseGPT paper does: a layer's input statistics are measured
   * on the model with every layer before it already pruned, so each layer also corrects the
   * error its predecessors left. One calibration pass per stage (layers that depend on no
   * unpruned layer share one).
   */
  sequential?: boolean;
  /**
   * N:M only: first permute input channels (folded into their producers, so the function is
   * unchanged) so that the N:M masks keep more magnitude.
   */
  permute?: boolean;
  /** Time for the permutation search over the whole model (default one minute). */
  permuteTimeLimitMs?: number;
  /** Globs on weight or node names: prune only these. */
  only?: readonly string[];
  /** Globs on weight or node names: leave these dense. */
  skip?: readonly string[];
  includeEmbeddings?: boolean;
  includeHead?: boolean;
  /** SparseGPT's slab width and damping (defaults: 128 columns, 1%). */
  sparseGpt?: SparseGptOptions;
  /** Progress: calibration batches done, then layers done. */
  onProgress?: (p: PruneProgress) => void;
}

export interface PruneProgress {
  phase: 'calibrate' | 'prune';
  done: number;
  total?: number;
}

export interface LayerReport {
  /** The weight (constant) name and the node multiplying by it. */
  name: string;
  node: string;
  opType: string;
  role: WeightRole;
  rows: number;
  cols: number;
  /** Why the weight stayed as it was; undefined when it was pruned. */
  skipped?: 'embedding' | 'head' | 'only' | 'skip' | 'shared';
  /** Fraction of zeros before and after. */
  sparsityBefore: number;
  sparsity: number;
  /** ||WX - W'X|| / ||WX|| on the calibration data ('diagonal': estimated from column norms). */
  relError?: number;
  errorKind?: 'exact' | 'diagonal';
  /** What happened instead of the method asked for. */
  note?: string;
  ms: number;
}

export interface PruneReport {
  pattern: string;
  method: PruneMethod;
  allocation: Allocation;
  layers: LayerReport[];
  /** Over the pruned layers: weights and zeros after pruning. */
  prunedWeights: number;
  prunedZeros: number;
  calibrationMs: number;
  /** With `permute`: what the channel permutation achieved (and which groups it skipped). */
  permutation?: PermuteReport;
  ms: number;
}

/** Validate the option combination; the CLI calls this before loading anything. */
export function checkPruneOptions(opts: Pick<PruneModelOptions, 'pattern' | 'method' | 'allocation' | 'permute'> & { hasCalib: boolean }): void {
  if (opts.permute && opts.pattern.kind !== 'nm') {
    throw error('BAD_OPTION', `channel permutation serves N:M patterns only, not ${formatPattern(opts.pattern)}`, undefined, 'Use --permute with a pattern such as 2:4.');
  }
  if (opts.method !== 'magnitude' && !opts.hasCalib) {
    throw error('BAD_OPTION', `method '${opts.method}' needs calibration data`, undefined, `Pass --calib with sample inputs (e.g. token windows), or use --method magnitude.`);
  }
  if ((opts.allocation ?? 'layer') === 'global' && !(opts.method === 'magnitude' && opts.pattern.kind === 'unstructured')) {
    throw error(
      'BAD_OPTION',
      `global allocation works with unstructured magnitude pruning only (not ${opts.method} to ${formatPattern(opts.pattern)})`,
      undefined,
      'N:M and block patterns fix the sparsity of every layer, and Wanda and SparseGPT scores are not comparable across layers; use --allocation layer.',
    );
  }
}

export function pruneModel(model: Model, opts: PruneModelOptions): PruneReport {
  const start = performance.now();
  const allocation = opts.allocation ?? 'layer';
  checkPruneOptions({ ...opts, hasCalib: opts.calib !== undefined });
  const pattern = opts.pattern;
  // Permutation rewrites constants and producers, so weights are looked up after it.
  const permutation =
    opts.permute && pattern.kind === 'nm'
      ? permuteForNM(model, {
          n: pattern.n,
          m: pattern.m,
          timeLimitMs: opts.permuteTimeLimitMs ?? 60_000,
          // The head and embeddings steer the search only when they are pruned too.
          includeHead: opts.includeHead,
          includeEmbeddings: opts.includeEmbeddings,
          ...(opts.only?.length ? { only: opts.only } : {}),
        })
      : undefined;
  const views = findWeights(model.graph);
  const { targets, reports } = chooseTargets(views, opts);

  let calibrationMs = 0;
  const calibrate = (views: readonly WeightView[]): Map<WeightView, InputStats> => {
    if (!opts.calib || views.length === 0) return new Map();
    const t0 = performance.now();
    const stats = collectInputStats(model.graph, views, opts.calib, {
      hessian: opts.method === 'sparsegpt',
      onProgress: (done) => opts.onProgress?.({ phase: 'calibrate', done }),
    });
    calibrationMs += performance.now() - t0;
    return stats;
  };

  if (allocation === 'global' && opts.pattern.kind === 'unstructured') {
    pruneGlobally(targets, opts.pattern.ratio, calibrate(targets), reports);
  } else {
    const stages = opts.sequential && opts.calib ? pruningStages(model.graph, targets) : [targets];
    let done = 0;
    for (const stage of stages) {
      const stats = calibrate(stage);
      for (const view of stage) {
        opts.onProgress?.({ phase: 'prune', done: done++, total: targets.length });
        pruneLayer(view, opts, stats.get(view), reports.get(view)!);
      }
    }
  }
  const layers = views.map((v) => reports.get(v)!);
  const pruned = layers.filter((l) => l.skipped === undefined);
  const prunedWeights = pruned.reduce((n, l) => n + l.rows * l.cols, 0);
  const prunedZeros = pruned.reduce((n, l) => n + Math.round(l.sparsity * l.rows * l.cols), 0);
  return {
    pattern: formatPattern(opts.pattern),
    method: opts.method,
    allocation,
    layers,
    prunedWeights,
    prunedZeros,
    calibrationMs,
    ...(permutation ? { permutation } : {}),
    ms: performance.now() - start,
  };
}

/**
 * Targets grouped by stage: a weight's stage is one more than the highest stage of any target
 * weight its input depends on (0 when none), so each stage's inputs only depend on stages
 * already pruned. One sweep over the nodes in topological order.
 */
export function pruningStages(graph: Graph, targets: readonly WeightView[]): WeightView[][] {
  const byNode = new Map<Node, WeightView[]>();
  for (const v of targets) byNode.set(v.node, [...(byNode.get(v.node) ?? []), v]);
  const level = new Map<Value, number>();
  const stages: WeightView[][] = [];
  for (const node of graph.nodes) {
    let upstream = -1;
    for (const x of node.inputs) if (x) upstream = Math.max(upstream, level.get(x) ?? -1);
    const views = byNode.get(node);
    const out = views ? upstream + 1 : upstream;
    if (views) (stages[out] ??= []).push(...views);
    for (const y of node.outputs) level.set(y, out);
  }
  return stages.filter((s) => s.length > 0);
}

/** The views to prune, and a report for every view (skipped ones say why). */
function chooseTargets(views: readonly WeightView[], opts: PruneModelOptions): { targets: WeightView[]; reports: Map<WeightView, LayerReport> } {
  checkGlobsMatch(views, opts.only ?? [], '--only');
  checkGlobsMatch(views, opts.skip ?? [], '--skip');
  const only = opts.only && opts.only.length > 0 ? compileGlobs(opts.only) : undefined;
  const skip = compileGlobs(opts.skip ?? []);
  const seen = new Set<unknown>();
  const targets: WeightView[] = [];
  const reports = new Map<WeightView, LayerReport>();
  for (const v of views) {
    const names = [v.name, v.node.name];
    let skipped: LayerReport['skipped'];
    if (v.role === 'embedding' && !opts.includeEmbeddings) skipped = 'embedding';
    else if (v.role === 'head' && !opts.includeHead) skipped = 'head';
    else if (only && !names.some((n) => only(n))) skipped = 'only';
    else if (names.some((n) => skip(n))) skipped = 'skip';
    else if (seen.has(v.value)) skipped = 'shared';
    const sparsity = zeroFraction(v.read());
    reports.set(v, {
      name: v.name,
      node: v.node.name,
      opType: v.node.opType,
      role: v.role,
      rows: v.rows,
      cols: v.cols,
      ...(skipped ? { skipped } : {}),
      sparsityBefore: sparsity,
      sparsity,
      ms: 0,
    });
    if (skipped) continue;
    seen.add(v.value);
    targets.push(v);
  }
  return { targets, reports };
}

/** A glob that matches no weight is a typo: pruning everything (or nothing) instead would be silent. */
function checkGlobsMatch(views: readonly WeightView[], globs: readonly string[], flag: string): void {
  for (const glob of globs) {
    const re = globToRegExp(glob);
    if (views.some((v) => re.test(v.name) || re.test(v.node.name))) continue;
    const examples = views.slice(0, 3).map((v) => `'${v.name}' (node '${v.node.name}')`).join(', ');
    throw error('BAD_OPTION', `${flag} '${glob}' matches no weight or node name`, undefined, `Globs match whole names with * and ?; the model's weights include ${examples || 'none'}.`);
  }
}

function pruneLayer(view: WeightView, opts: PruneModelOptions, stats: InputStats | undefined, report: LayerReport): void {
  const t0 = performance.now();
  const { rows, cols } = view;
  const before = view.read();
  let after: Float32Array;
  if (opts.method === 'sparsegpt' && stats?.hessian) {
    after = sparseGpt(before, rows, cols, stats.hessian, opts.pattern, opts.sparseGpt);
  } else {
    if (opts.method === 'sparsegpt') report.note = `no Hessian for ${cols} columns: pruned with Wanda`;
    const useWanda = opts.method !== 'magnitude' && stats !== undefined;
    const scores = useWanda ? wandaScores(before, rows, cols, stats.colSqNorm) : magnitudeScores(before);
    // Wanda compares weights within each output row (the paper's choice); magnitude per layer.
    const keep = selectMask(scores, rows, cols, opts.pattern, { perRow: useWanda });
    after = before.slice();
    applyMask(after, keep);
  }
  view.write(after);
  finishReport(report, before, after, view, stats, t0);
}

/** Unstructured magnitude pruning with one threshold over all target layers. */
function pruneGlobally(targets: readonly WeightView[], ratio: number, stats: Map<WeightView, InputStats>, reports: Map<WeightView, LayerReport>): void {
  const t0 = performance.now();
  const weights = targets.map((v) => v.read());
  const keeps = weights.map((w) => new Uint8Array(w.length).fill(1));
  const total = weights.reduce((n, w) => n + w.length, 0);
  pruneSmallest(weights.map(magnitudeScores), Math.round(ratio * total), keeps);
  const share = (performance.now() - t0) / Math.max(1, targets.length);
  targets.forEach((view, i) => {
    const t1 = performance.now() - share;
    const after = weights[i]!.slice();
    applyMask(after, keeps[i]!);
    view.write(after);
    finishReport(reports.get(view)!, weights[i]!, after, view, stats.get(view), t1);
  });
}

function finishReport(report: LayerReport, before: Float32Array, after: Float32Array, view: WeightView, stats: InputStats | undefined, t0: number): void {
  report.sparsity = zeroFraction(after);
  if (stats) {
    const e = reconstructionError(before, after, view.rows, view.cols, stats);
    report.relError = e.relative;
    report.errorKind = e.kind;
  }
  report.ms = performance.now() - t0;
}

function zeroFraction(w: Float32Array): number {
  let zeros = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  return w.length ? zeros / w.length : 0;
}
