// MoE expert pruning: rank each block's experts by how calibration tokens route to them (gate
// mass or selection frequency; router column norms without calibration data) or choose the kept
// set that keeps the block output closest to the original (error), keep `keep` per block, and
// remove the rest (remove.ts). With `merge`, two ways of recombining the dropped experts' work
// into the kept ones are tried per block and the best is kept if it lowers the block's output
// error on held-out calibration batches: averaging each dropped expert's neurons into the kept
// expert inheriting its tokens (merge.ts, after DERN / MC-SMoE), and a least-squares refit of
// the kept experts' down projections (refit.ts). Blocks are done in graph order, so a block's
// error is measured (and its refit fitted) with the blocks before it already pruned, against
// the unpruned model's block output.
//
// Memory: merging and rank 'error' keep the unpruned block outputs of `errorBatches` batches
// (tokens x width floats per block; rank 'error' also every expert's output).

import { SparsecError } from '../../ir/diagnostics.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import type { Tensor } from '../../ir/tensor.js';
import { verify } from '../../ir/verify.js';
import { findWeights, type WeightView } from '../analysis/weights.js';
import { eliminateDeadCode } from '../dce.js';
import type { MoeBlock } from '../structure/types.js';
import { inheritors, mergeable, mergeExpert } from './merge.js';
import { refitDownProjections } from './refit.js';
import { chooseByError, chooseExperts, routingScores, type ExpertChoice, type ExpertRankBy } from './rank.js';
import { removeExperts, type RemovalResult, type RouterEdit } from './remove.js';
import { collectRouting, expertCount, gateRule, routerColumnNorms, type RoutingStats } from './routing.js';
import { CalibrationSamples } from './samples.js';

export { chooseByError, chooseExperts, type ExpertRankBy } from './rank.js';
export { collectRouting, routerColumnNorms, type RoutingStats } from './routing.js';
export { removeExperts, type RemovalResult, type RouterEdit } from './remove.js';

export interface ExpertPruneConfig {
  /** Experts kept per block. */
  readonly keep: number;
  /** What ranks experts when calibration data is given (default 'mass'). */
  readonly rankBy?: ExpertRankBy;
  /** Calibration batches (iterable more than once). Without them experts rank by router norms. */
  readonly calib?: Iterable<ReadonlyMap<string, Tensor>>;
  /** Try merging dropped experts into kept ones (needs calib). */
  readonly merge?: boolean;
  /**
   * Calibration batches whose block outputs judge kept sets (rank 'error') and merges (default
   * 16; merges are fitted on the first three quarters and judged on the last).
   */
  readonly errorBatches?: number;
  readonly onProgress?: (step: string) => void;
}

export type MergeMethod = 'neurons' | 'refit';

export interface MergeCandidate {
  readonly method: MergeMethod;
  /** For 'neurons': the dropped experts' averaging weight. */
  readonly alpha?: number;
  /** Relative squared block output error on the held-out samples. */
  readonly error: number;
}

export interface MergeDecision {
  /** The method kept, or false when none lowered the error. */
  readonly applied: MergeMethod | false;
  /** Relative squared block output error (vs the unpruned model) on held-out samples, without merging. */
  readonly errorDropped: number;
  readonly candidates: readonly MergeCandidate[];
  /** Dropped router column -> the kept column inheriting most of its tokens (neurons merge into it). */
  readonly into: Readonly<Record<number, number>>;
  /** Why a method could not be tried or none was kept. */
  readonly notes: readonly string[];
}

export interface ExpertLayerReport {
  readonly layer: number;
  readonly router: string;
  readonly experts: number;
  readonly rankedBy: ExpertRankBy | 'router-norm';
  /** Routing decisions seen in calibration. */
  readonly tokens?: number;
  /** Per router column: fraction of tokens routed to the expert. */
  readonly frequency?: number[];
  /** Per router column: mean routing weight per token. */
  readonly mass?: number[];
  /** Per router column: the score experts were ranked by. */
  readonly scores: number[];
  /** With rank 'error': the kept set's relative squared block output error on the samples. */
  readonly error?: number;
  readonly kept: readonly number[];
  readonly dropped: readonly number[];
  readonly k?: { readonly before: number; readonly after: number };
  readonly routerEdit?: RouterEdit;
  readonly notes: readonly string[];
  readonly merge?: MergeDecision;
  /** Why this block was left as it was. */
  readonly skipped?: string;
}

export interface ExpertPruneReport {
  readonly layers: ExpertLayerReport[];
  readonly calibrationMs: number;
  readonly ms: number;
}

export interface LocatedBlock {
  readonly layer: number;
  readonly block: MoeBlock;
}

/** The averaging weights tried when merging a dropped expert's neurons into its heir's. */
const ALPHAS = [0.5, 0.25];

export function pruneExpertBlocks(graph: Graph, blocks: readonly LocatedBlock[], config: ExpertPruneConfig): ExpertPruneReport {
  const start = performance.now();
  const merge = config.merge === true && config.calib !== undefined;
  let stats: Map<MoeBlock, RoutingStats> | undefined;
  let samples: CalibrationSamples | undefined;
  if (config.calib) {
    config.onProgress?.('calibrating');
    stats = collectRouting(graph, blocks.map((b) => b.block), config.calib);
    if (merge || config.rankBy === 'error') {
      config.onProgress?.('recording block outputs');
      samples = new CalibrationSamples(blocks.map((b) => b.block), firstBatches(config.calib, config.errorBatches ?? 16));
      samples.record(graph, { experts: config.rankBy === 'error' });
    }
  }
  const calibrationMs = performance.now() - start;
  const views = merge ? new Map(findWeights(graph).map((v) => [v.node, v])) : new Map<Node, WeightView>();
  const layers: ExpertLayerReport[] = [];
  for (const { layer, block } of blocks) {
    config.onProgress?.(`pruning layer ${layer}`);
    const blockStats = stats?.get(block);
    const ctx = { graph, config, ...(blockStats ? { stats: blockStats } : {}), ...(samples ? { samples } : {}), merge: merge ? views : undefined };
    layers.push(pruneBlock(layer, block, ctx));
  }
  eliminateDeadCode(graph);
  inferTypes(graph, { overwrite: true });
  verify(graph);
  return { layers, calibrationMs, ms: performance.now() - start };
}

interface BlockContext {
  readonly graph: Graph;
  readonly config: ExpertPruneConfig;
  readonly stats?: RoutingStats;
  readonly samples?: CalibrationSamples;
  /** Weight views of the unpruned graph, when merging. */
  readonly merge: ReadonlyMap<Node, WeightView> | undefined;
}

/** The kept set, the scores shown for it, and what ranked it. */
function choose(block: MoeBlock, ctx: BlockContext): ExpertChoice & { rankedBy: ExpertRankBy | 'router-norm'; scores: Float64Array; error?: number; note?: string } {
  const { stats, samples, config } = ctx;
  const by = config.rankBy ?? 'mass';
  if (!stats) {
    const scores = routerColumnNorms(block);
    return { ...chooseExperts(scores, config.keep), rankedBy: 'router-norm', scores };
  }
  if (by === 'error') {
    const experts = expertCount(block);
    const rule = gateRule(block);
    const all = [...Array(experts).keys()];
    // The recorded expert outputs must rebuild the block's output, or the simulation judges nothing.
    const check = samples?.simulatedError(block, all, block.k, rule);
    if (samples && check !== undefined && check < 1e-8) {
      const picked = chooseByError(experts, Math.min(config.keep, experts), (kept) => samples.simulatedError(block, kept, block.k, rule)!);
      return { ...picked, rankedBy: 'error' };
    }
    const why = block.form === 'dense' ? 'the recorded expert outputs do not rebuild the block output' : 'error ranking needs the dense form';
    return { ...chooseExperts(stats.mass, config.keep), rankedBy: 'mass', scores: stats.mass, note: `ranked by gate mass: ${why}` };
  }
  const scores = routingScores(stats, by === 'frequency' ? 'frequency' : 'mass');
  return { ...chooseExperts(scores, config.keep), rankedBy: by === 'frequency' ? 'frequency' : 'mass', scores };
}

function pruneBlock(layer: number, block: MoeBlock, ctx: BlockContext): ExpertLayerReport {
  const { graph, stats } = ctx;
  const experts = expertCount(block);
  const choice = choose(block, ctx);
  const base = {
    layer,
    router: block.router.name,
    experts,
    rankedBy: choice.rankedBy,
    ...(stats ? { tokens: stats.tokens, frequency: perToken(stats.selected, stats.tokens), mass: perToken(stats.mass, stats.tokens) } : {}),
    scores: Array.from(choice.scores),
    ...(choice.error !== undefined ? { error: choice.error } : {}),
  } as const;
  const notes = choice.note ? [choice.note] : [];
  if (choice.dropped.length === 0) return { ...base, kept: choice.kept, dropped: [], notes: [...notes, `keeps all ${experts} experts`] };

  const consumer = outputConsumer(graph, block.output);
  const scoresSeen = ctx.samples?.routerScores(block);
  try {
    const removal = removeExperts(graph, block, choice.kept);
    eliminateDeadCode(graph);
    const decision =
      ctx.merge && ctx.samples && scoresSeen
        ? mergeDropped(graph, block, removal, experts, consumer, scoresSeen, ctx.samples, ctx.merge)
        : undefined;
    return { ...base, kept: removal.kept, dropped: removal.dropped, k: removal.k, routerEdit: removal.routerEdit, notes: [...notes, ...removal.notes], ...(decision ? { merge: decision } : {}) };
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    return { ...base, kept: [...Array(experts).keys()], dropped: [], notes, skipped: e.diagnostic.text };
  }
}

function perToken(a: Float64Array, tokens: number): number[] {
  return Array.from(a, (x) => (tokens ? x / tokens : 0));
}

/**
 * Try each way of recombining the dropped experts into the kept ones and keep the one with the
 * lowest block output error on held-out samples, if it beats plain dropping: fitting (the
 * refit's least squares) uses the first batches, the decision the last ones.
 */
function mergeDropped(
  graph: Graph,
  block: MoeBlock,
  removal: RemovalResult,
  experts: number,
  consumer: () => Value,
  scores: Float32Array,
  samples: CalibrationSamples,
  views: ReadonlyMap<Node, WeightView>,
): MergeDecision {
  const total = samples.batches.length;
  const held = Math.max(1, Math.floor(total / 4));
  const fitEnd = total > 1 ? total - held : total;
  const measure = () => samples.measuredError(graph, block, consumer(), fitEnd < total ? fitEnd : 0, total);
  const errorDropped = measure();
  const notes: string[] = [];
  if (fitEnd === total) notes.push('one calibration batch only: merges are judged on the data they were fit on');
  const viewOf = (n: Node) => views.get(n);
  const byIndex = new Map(block.experts.map((x) => [x.index, x]));
  const heirs = inheritors(scores, experts, removal.k.before, removal.kept);
  const pairs = removal.dropped
    .filter((d) => heirs.has(d) && mergeable(byIndex.get(d)!, byIndex.get(heirs.get(d)!)!, viewOf))
    .map((d) => [d, heirs.get(d)!] as const);
  if (pairs.length === 0) notes.push('neurons: no dropped expert was routed to, or none matches a kept one in shape');

  const tries: { candidate: MergeCandidate; apply: () => (() => void) | string }[] = [
    ...ALPHAS.filter(() => pairs.length > 0).map((alpha) => ({
      candidate: { method: 'neurons' as const, alpha, error: NaN },
      apply: () => {
        const undo = pairs.map(([d, j]) => mergeExpert(byIndex.get(d)!, byIndex.get(j)!, alpha, viewOf)).reverse();
        return () => undo.forEach((u) => u());
      },
    })),
    {
      candidate: { method: 'refit' as const, error: NaN },
      apply: () =>
        block.form !== 'dense'
          ? 'needs the dense form, where every expert sees every token'
          : refitDownProjections(graph, removal.kept.map((e) => byIndex.get(e)!), samples.batches.slice(0, fitEnd), samples.references(block, 0, fitEnd), viewOf),
    },
  ];
  const candidates: MergeCandidate[] = [];
  let best: (typeof tries)[number] | undefined;
  let bestError = errorDropped;
  for (const t of tries) {
    const undo = t.apply();
    if (typeof undo === 'string') {
      notes.push(`${t.candidate.method}: ${undo}`);
      continue;
    }
    const error = measure();
    undo();
    candidates.push({ ...t.candidate, error });
    if (error < bestError) {
      best = t;
      bestError = error;
    }
  }
  if (best) best.apply();
  else notes.push('no merge lowered the output error');
  return { applied: best ? best.candidate.method : false, errorDropped, candidates, into: Object.fromEntries(pairs), notes };
}

/** Whatever reads `v` now (the block's output may be replaced when its last Add goes). */
function outputConsumer(graph: Graph, v: Value): () => Value {
  const use = v.uses[0];
  if (use) return () => use.node.inputs[use.index]!;
  const i = graph.outputs.indexOf(v);
  return () => graph.outputs[i]!;
}

function firstBatches(batches: Iterable<ReadonlyMap<string, Tensor>>, n: number): ReadonlyMap<string, Tensor>[] {
  const out: ReadonlyMap<string, Tensor>[] = [];
  for (const b of batches) {
    if (out.length >= n) break;
    out.push(b);
  }
  return out;
}
