// MoE expert pruning: rank each block's experts by how calibration tokens route to them (gate
// mass or selection frequency; router column norms without calibration data), keep the best
// `keep` per block, remove the rest (remove.ts), and optionally merge each dropped expert into
// the kept expert that inherits its tokens when that lowers the block's output error on
// calibration data (merge.ts). Blocks are done in graph order, so a block's error is measured
// with the blocks before it already pruned, against the unpruned model's block output.

import { SparsecError } from '../../ir/diagnostics.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import type { Tensor } from '../../ir/tensor.js';
import { verify } from '../../ir/verify.js';
import { findWeights, type WeightView } from '../analysis/weights.js';
import { runWithObserver } from '../calibration.js';
import { eliminateDeadCode } from '../dce.js';
import type { MoeBlock } from '../structure/types.js';
import { inheritors, mergeable, mergeExpert } from './merge.js';
import { chooseExperts, routingScores, type ExpertRankBy } from './rank.js';
import { removeExperts, type RouterEdit } from './remove.js';
import { collectRouting, expertCount, routerColumnNorms, type RoutingStats } from './routing.js';

export { chooseExperts, type ExpertRankBy } from './rank.js';
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
  /** Batches used to measure block output errors for the merge decision (default 4). */
  readonly errorBatches?: number;
  readonly onProgress?: (step: string) => void;
}

export interface MergeDecision {
  readonly applied: boolean;
  /** Relative block output error (squared, vs the unpruned model) without and with merging. */
  readonly errorDropped: number;
  readonly errorMerged?: number;
  /** Dropped router column -> the kept column it was merged into. */
  readonly into: Readonly<Record<number, number>>;
  /** The dropped experts' averaging weight that gave `errorMerged`. */
  readonly alpha?: number;
  readonly reason?: string;
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

/** The averaging weights tried for a dropped expert (its share, then less of it). */
const ALPHAS = [0.5, 0.25];

export function pruneExpertBlocks(graph: Graph, blocks: readonly LocatedBlock[], config: ExpertPruneConfig): ExpertPruneReport {
  const start = performance.now();
  const merge = config.merge === true && config.calib !== undefined;
  const errorSet = merge ? firstBatches(config.calib!, config.errorBatches ?? 4) : [];
  const references = new BlockOutputs(blocks.map((b) => b.block));
  let stats: Map<MoeBlock, RoutingStats> | undefined;
  if (config.calib) {
    config.onProgress?.('calibrating');
    stats = collectRouting(graph, blocks.map((b) => b.block), config.calib);
    if (merge) {
      config.onProgress?.('recording block outputs');
      references.record(graph, errorSet);
    }
  }
  const calibrationMs = performance.now() - start;
  const views = merge ? new Map(findWeights(graph).map((v) => [v.node, v])) : new Map<Node, WeightView>();
  const layers: ExpertLayerReport[] = [];
  for (const { layer, block } of blocks) {
    config.onProgress?.(`pruning layer ${layer}`);
    layers.push(pruneBlock(graph, layer, block, config, stats?.get(block), merge ? { errorSet, references, views } : undefined));
  }
  eliminateDeadCode(graph);
  inferTypes(graph, { overwrite: true });
  verify(graph);
  return { layers, calibrationMs, ms: performance.now() - start };
}

interface MergeContext {
  readonly errorSet: readonly ReadonlyMap<string, Tensor>[];
  readonly references: BlockOutputs;
  readonly views: ReadonlyMap<Node, WeightView>;
}

function pruneBlock(graph: Graph, layer: number, block: MoeBlock, config: ExpertPruneConfig, stats: RoutingStats | undefined, merge: MergeContext | undefined): ExpertLayerReport {
  const experts = expertCount(block);
  const rankedBy = stats ? (config.rankBy ?? 'mass') : 'router-norm';
  const scores = stats ? routingScores(stats, config.rankBy ?? 'mass') : routerColumnNorms(block);
  const choice = chooseExperts(scores, config.keep);
  const base = {
    layer,
    router: block.router.name,
    experts,
    rankedBy,
    ...(stats ? { tokens: stats.tokens, frequency: perToken(stats.selected, stats.tokens), mass: perToken(stats.mass, stats.tokens) } : {}),
    scores: Array.from(scores),
  } as const;
  if (choice.dropped.length === 0) return { ...base, kept: choice.kept, dropped: [], notes: [`keeps all ${experts} experts`] };

  const consumer = outputConsumer(graph, block.output);
  const scoresSeen = merge?.references.routerScores(block);
  try {
    const removal = removeExperts(graph, block, choice.kept);
    eliminateDeadCode(graph);
    const decision = merge && scoresSeen ? mergeDropped(graph, block, removal.kept, removal.dropped, experts, removal.k.before, consumer, scoresSeen, merge) : undefined;
    return { ...base, kept: removal.kept, dropped: removal.dropped, k: removal.k, routerEdit: removal.routerEdit, notes: removal.notes, ...(decision ? { merge: decision } : {}) };
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    return { ...base, kept: [...Array(experts).keys()], dropped: [], notes: [], skipped: e.diagnostic.text };
  }
}

function perToken(a: Float64Array, tokens: number): number[] {
  return Array.from(a, (x) => (tokens ? x / tokens : 0));
}

function mergeDropped(
  graph: Graph,
  block: MoeBlock,
  kept: readonly number[],
  dropped: readonly number[],
  experts: number,
  k: number,
  consumer: () => Value,
  scores: Float32Array,
  ctx: MergeContext,
): MergeDecision {
  const measure = () => ctx.references.error(graph, block, consumer(), ctx.errorSet);
  const errorDropped = measure();
  const heirs = inheritors(scores, experts, k, kept);
  const viewOf = (n: Node) => ctx.views.get(n);
  const byIndex = new Map(block.experts.map((x) => [x.index, x]));
  const pairs = dropped
    .filter((d) => heirs.has(d) && mergeable(byIndex.get(d)!, byIndex.get(heirs.get(d)!)!, viewOf))
    .map((d) => [d, heirs.get(d)!] as const);
  const into = Object.fromEntries(pairs);
  if (pairs.length === 0) return { applied: false, errorDropped, into, reason: 'no dropped expert was routed to, or none matches a kept one in shape' };
  let best: { alpha: number; error: number } | undefined;
  for (const alpha of ALPHAS) {
    const undo = pairs.map(([d, j]) => mergeExpert(byIndex.get(d)!, byIndex.get(j)!, alpha, viewOf)).reverse();
    const error = measure();
    for (const u of undo) u();
    if (!best || error < best.error) best = { alpha, error };
  }
  const applied = best!.error < errorDropped;
  if (applied) for (const [d, j] of pairs) mergeExpert(byIndex.get(d)!, byIndex.get(j)!, best!.alpha, viewOf);
  return { applied, errorDropped, errorMerged: best!.error, into, alpha: best!.alpha, ...(applied ? {} : { reason: 'merging did not lower the output error' }) };
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

/** The unpruned model's block outputs and router scores on the error batches. */
class BlockOutputs {
  private readonly outputs = new Map<MoeBlock, Float32Array[]>();
  private readonly scores = new Map<MoeBlock, Float32Array[]>();

  constructor(private readonly blocks: readonly MoeBlock[]) {}

  record(graph: Graph, batches: readonly ReadonlyMap<string, Tensor>[]): void {
    const byValue = new Map<Value, [MoeBlock, Map<MoeBlock, Float32Array[]>]>();
    for (const b of this.blocks) {
      this.outputs.set(b, []);
      this.scores.set(b, []);
      byValue.set(b.output, [b, this.outputs]);
      byValue.set(b.topK.inputs[0]!, [b, this.scores]);
    }
    runWithObserver(graph, batches, new Set(byValue.keys()), (v, t) => {
      const [b, into] = byValue.get(v)!;
      into.get(b)!.push(t.toFloat32().slice());
    });
  }

  routerScores(b: MoeBlock): Float32Array | undefined {
    const parts = this.scores.get(b);
    if (!parts || parts.length === 0) return undefined;
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** sum |y - ref|^2 / sum |ref|^2 of the value now computing block b's output. */
  error(graph: Graph, b: MoeBlock, output: Value, batches: readonly ReadonlyMap<string, Tensor>[]): number {
    const refs = this.outputs.get(b)!;
    let i = 0;
    let diff = 0;
    let norm = 0;
    runWithObserver(graph, batches, new Set([output]), (_, t) => {
      const y = t.toFloat32();
      const r = refs[i++]!;
      for (let j = 0; j < r.length; j++) {
        diff += (y[j]! - r[j]!) ** 2;
        norm += r[j]! ** 2;
      }
    });
    return norm > 0 ? diff / norm : 0;
  }
}
