// `sparsec prune-experts model.onnx -o out.onnx --keep 6 [--calib tokens.npy] [--rank mass|frequency]
// [--merge] [--eval tokens.npy]`: remove the least-used experts of every mixture-of-experts
// block, write the smaller model (atomically), and report the routing table per layer, the
// parameters before and after, and with --eval the perplexity cost.

import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { pruneExpertBlocks, type ExpertLayerReport, type ExpertRankBy, type ExpertPruneReport, type LocatedBlock } from '../../passes/experts/index.js';
import type { ModelStructure } from '../../passes/structure/types.js';
import type { InputBinding } from '../args.js';
import { loadCalibration, type CalibrationSet } from '../calib-data.js';
import { baseline, formatSummary, summarize, type CompressionSummary } from '../compression-report.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { loadUserModel, recognizeUserModel, saveUserModel } from './model.js';

export interface PruneExpertsOptions {
  model: string;
  /** -o / --out: where to write the pruned model. */
  out: string;
  /** --keep N: experts kept per MoE block. */
  keep: number;
  /**
   * --rank: what ranks experts with --calib: mass (default: the routing weight they carry),
   * frequency (how often they are in the top-k), or error (the kept set whose block outputs on
   * calibration samples stay closest to the original).
   */
  rank?: ExpertRankBy;
  /** --merge: merge dropped experts into the kept expert inheriting their tokens, where that lowers the error. */
  merge: boolean;
  /** --calib, --calib-batch: calibration data (file names, or bindings as the other commands parse them). */
  calib: readonly (string | InputBinding)[];
  calibBatch: number;
  /** --eval: token windows to measure perplexity on before and after. */
  eval?: string;
  json: boolean;
  /** Leave out the WASM speed comparison (it builds and times both models). */
  noSpeed?: boolean;
}

export async function pruneExperts(opts: PruneExpertsOptions, ctx: CommandContext): Promise<void> {
  checkOptions(opts);
  const model = await loadUserModel(opts.model, ctx);
  const blocks = moeBlocks(recognizeUserModel(model, opts.model, ctx), opts.model);
  const bindings = opts.calib.map((c) => (typeof c === 'string' ? { file: c } : c));
  const calib = bindings.length > 0 ? loadCalibration(model, bindings, { batchRows: opts.calibBatch, modelFile: opts.model }) : undefined;
  const base = await baseline(model, reportOptions(opts), ctx);
  const report = runPruning(model, blocks, opts, calib, ctx);
  const pruned = report.layers.filter((l) => l.skipped === undefined);
  if (pruned.length === 0) {
    throw error('UNSUPPORTED_OP', `no MoE block could be pruned: ${report.layers.map((l) => `layer ${l.layer}: ${l.skipped}`).join('; ')}`, { file: opts.model });
  }
  for (const l of report.layers) {
    if (l.skipped) ctx.warn({ code: 'UNSUPPORTED_OP', severity: 'warning', text: `layer ${l.layer} left as it was: ${l.skipped}`, location: { file: opts.model, node: l.router } });
  }
  await saveUserModel(model, opts.out, 'pruned model');
  const summary = await summarize(base, model, reportOptions(opts), ctx);
  if (opts.json) {
    ctx.print(JSON.stringify({ model: opts.model, out: opts.out, ...(calib ? { calibration: calib.description } : {}), ...report, ...summary }, null, 2));
  } else {
    ctx.print(formatReport(report, summary, opts, calib));
  }
}

function checkOptions(opts: PruneExpertsOptions): void {
  if (!Number.isInteger(opts.keep) || opts.keep < 1) throw error('BAD_OPTION', `--keep must be a positive integer, not ${opts.keep}`);
  if (opts.calib.length === 0 && opts.merge) {
    throw error('BAD_OPTION', '--merge needs --calib: a merge is kept only where it lowers the error measured on calibration data', undefined, 'Add --calib tokens.npy.');
  }
  if (opts.calib.length === 0 && opts.rank !== undefined) {
    throw error('BAD_OPTION', `--rank ${opts.rank} needs --calib: routing statistics come from calibration data`, undefined, 'Add --calib tokens.npy, or drop --rank to rank by router weight norms.');
  }
}

function reportOptions(opts: PruneExpertsOptions) {
  return { model: opts.model, ...(opts.eval !== undefined ? { eval: opts.eval } : {}), ...(opts.noSpeed ? { noSpeed: true } : {}) };
}

function moeBlocks(structure: ModelStructure, file: string): LocatedBlock[] {
  const blocks = structure.layers.flatMap((l) => l.sublayers.filter((s) => s.kind === 'moe').map((block) => ({ layer: l.index, block })));
  if (blocks.length > 0) return blocks;
  const near = structure.unrecognized.find((u) => u.node?.op === Op.TopK);
  throw error(
    'UNSUPPORTED_OP',
    near ? `no mixture-of-experts block recognized (at its TopK: ${near.reason})` : 'is not a mixture-of-experts model: no router with TopK over experts was found',
    { file, ...(near?.node ? { node: near.node.name, opType: near.node.opType } : {}) },
    near ? undefined : 'prune-experts removes experts of MoE blocks; for dense models see prune-heads and prune-neurons.',
  );
}

function runPruning(model: Model, blocks: LocatedBlock[], opts: PruneExpertsOptions, calib: CalibrationSet | undefined, ctx: CommandContext): ExpertPruneReport {
  try {
    return pruneExpertBlocks(model.graph, blocks, {
      keep: opts.keep,
      ...(opts.rank ? { rankBy: opts.rank } : {}),
      ...(calib ? { calib } : {}),
      merge: opts.merge,
      onProgress: (step) => ctx.progress.update(step),
    });
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, opts.model);
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

const RANKED_BY = { mass: 'gate mass', frequency: 'selection frequency', error: 'block output error', 'router-norm': 'router weight norm' } as const;

function layerTable(l: ExpertLayerReport): string {
  const header = ['expert', ...(l.frequency ? ['frequency', 'mass'] : []), ...(l.rankedBy === 'router-norm' ? ['router norm'] : []), ''];
  const rows = l.scores.map((score, e) => [
    String(e),
    ...(l.frequency ? [percent(l.frequency[e]!), l.mass![e]!.toFixed(4)] : []),
    ...(l.rankedBy === 'router-norm' ? [score.toFixed(4)] : []),
    l.skipped ? '' : l.dropped.includes(e) ? `dropped${mergedInto(l, e)}` : `kept${l.kept.length < l.experts ? ` (now ${l.kept.indexOf(e)})` : ''}`,
  ]);
  return formatTable([header, ...rows], header.map((_, i) => (i === 0 || i === header.length - 1 ? 'l' : 'r')));
}

const MERGE_METHOD = { neurons: 'neuron merge into the inheriting expert', refit: 'least-squares refit of the kept down projections' } as const;

function mergedInto(l: ExpertLayerReport, e: number): string {
  const into = l.merge?.applied === 'neurons' ? l.merge.into[e] : undefined;
  return into === undefined ? '' : `, merged into ${into}`;
}

function layerLines(l: ExpertLayerReport): string[] {
  const seen = l.tokens !== undefined ? ` over ${l.tokens} tokens` : '';
  const k = l.k ? `, top-${l.k.before}${l.k.after !== l.k.before ? ` -> top-${l.k.after}` : ''}` : '';
  const lines = [`layer ${l.layer}: router '${l.router}', ${l.experts} -> ${l.kept.length} experts${k}, ranked by ${RANKED_BY[l.rankedBy]}${seen}`, layerTable(l)];
  if (l.skipped) lines.push(`left as it was: ${l.skipped}`);
  for (const n of l.notes) lines.push(`note: ${n}`);
  const m = l.merge;
  if (m) {
    const errors = [`dropped ${m.errorDropped.toExponential(3)}`, ...m.candidates.map((c) => `${MERGE_METHOD[c.method]}${c.alpha !== undefined ? ` (alpha ${c.alpha})` : ''} ${c.error.toExponential(3)}`)];
    lines.push(`merge: ${m.applied ? `${MERGE_METHOD[m.applied]} applied` : 'not applied'}; held-out block output error: ${errors.join(', ')}`);
    for (const n of m.notes) lines.push(`merge note: ${n}`);
  }
  return lines;
}

function formatReport(r: ExpertPruneReport, s: CompressionSummary, opts: PruneExpertsOptions, calib: CalibrationSet | undefined): string {
  const lines = [calib ? `calibration: ${calib.description} (${(r.calibrationMs / 1000).toFixed(1)} s)` : 'no --calib: experts ranked by the norms of their router weights (a weak proxy for how often they are chosen)'];
  for (const l of r.layers) lines.push('', ...layerLines(l));
  lines.push('', ...formatSummary(s), `wrote ${opts.out} (${(r.ms / 1000).toFixed(1)} s pruning)`);
  return lines.join('\n');
}
