// `sparsec prune-heads model.onnx -o out.onnx --ratio 0.25 | --heads 0:1,3:2 [--calib tokens.npy]
// [--eval tokens.npy]` and `sparsec prune-neurons model.onnx -o out.onnx --ratio 0.25 [...]`:
// remove whole attention heads or FFN hidden channels as coupled groups (passes/heads), write
// the smaller dense model (atomically), and report what each layer lost, the parameters before
// and after, and with --eval the perplexity cost.

import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import {
  parseHeadList,
  pruneHeads as pruneHeadSites,
  pruneNeurons as pruneMlpSites,
  type HeadPruneReport,
  type HeadSite,
  type Labeled,
  type MlpSite,
  type NeuronPruneReport,
} from '../../passes/heads/index.js';
import type { ModelStructure } from '../../passes/structure/types.js';
import type { InputBinding } from '../args.js';
import { loadCalibration, type CalibrationSet } from '../calib-data.js';
import { baseline, formatSummary, summarize, type CompressionSummary } from '../compression-report.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { loadUserModel, recognizeUserModel, saveUserModel } from './model.js';

interface StructuralOptions {
  model: string;
  /** -o / --out: where to write the pruned model. */
  out: string;
  /** --calib, --calib-batch: calibration data (file names, or bindings as the other commands parse them). */
  calib: readonly (string | InputBinding)[];
  calibBatch: number;
  /** --eval: token windows to measure perplexity on before and after. */
  eval?: string;
  json: boolean;
  /** Leave out the WASM speed comparison (it builds and times both models). */
  noSpeed?: boolean;
  /**
   * With --calib: refit the reading projection (out or down) on the kept channels (default
   * true); false only moves the removed channels' mean output into its bias.
   */
  refit?: boolean;
}

export interface PruneHeadsOptions extends StructuralOptions {
  /** --ratio r: remove round(r * all heads), the least important across layers. */
  ratio?: number;
  /** --heads layer:head,...: remove exactly these heads. */
  heads?: string;
}

export interface PruneNeuronsOptions extends StructuralOptions {
  /** --ratio r: remove round(r * hidden) channels of every MLP and expert. */
  ratio: number;
}

export async function pruneHeads(opts: PruneHeadsOptions, ctx: CommandContext): Promise<void> {
  if ((opts.ratio === undefined) === (opts.heads === undefined)) {
    throw error('BAD_OPTION', 'prune-heads needs exactly one of --ratio and --heads', undefined, 'Write --ratio 0.25, or --heads 0:1,2:3 (layer:head).');
  }
  const heads = opts.heads !== undefined ? headList(opts.heads) : undefined;
  checkRatio(opts.ratio);
  const { model, structure } = await prepare(opts, ctx);
  const sites = attentionSites(structure, opts.model);
  const calib = calibration(model, opts);
  const base = await baseline(model, reportOptions(opts), ctx);
  const report = guarded(opts.model, ctx, 'scoring heads', () =>
    pruneHeadSites(model.graph, sites, { ...(heads ? { heads } : { ratio: opts.ratio! }), ...(calib ? { calib } : {}), refit: opts.refit !== false }),
  );
  for (const l of report.layers) if (l.skipped) warnSkipped(ctx, opts.model, l.name, l.skipped);
  if (report.layers.some((l) => l.removed.length === 0 && heads?.has(l.layer))) {
    throw error('UNSUPPORTED_OP', `the heads asked for could not be removed: ${report.layers.filter((l) => l.skipped).map((l) => `${l.name}: ${l.skipped}`).join('; ')}`, { file: opts.model });
  }
  await saveUserModel(model, opts.out, 'pruned model');
  const summary = await summarize(base, model, reportOptions(opts), ctx);
  if (opts.json) ctx.print(JSON.stringify({ model: opts.model, out: opts.out, ...(calib ? { calibration: calib.description } : {}), ...report, ...summary }, null, 2));
  else ctx.print(formatHeads(report, summary, opts, calib));
}

export async function pruneNeurons(opts: PruneNeuronsOptions, ctx: CommandContext): Promise<void> {
  checkRatio(opts.ratio);
  const { model, structure } = await prepare(opts, ctx);
  const sites = mlpSites(structure, opts.model);
  const calib = calibration(model, opts);
  const base = await baseline(model, reportOptions(opts), ctx);
  const report = guarded(opts.model, ctx, 'scoring channels', () => pruneMlpSites(model.graph, sites, { ratio: opts.ratio, ...(calib ? { calib } : {}), refit: opts.refit !== false }));
  for (const l of report.layers) if (l.skipped) warnSkipped(ctx, opts.model, l.name, l.skipped);
  await saveUserModel(model, opts.out, 'pruned model');
  const summary = await summarize(base, model, reportOptions(opts), ctx);
  if (opts.json) ctx.print(JSON.stringify({ model: opts.model, out: opts.out, ...(calib ? { calibration: calib.description } : {}), ...report, ...summary }, null, 2));
  else ctx.print(formatNeurons(report, summary, opts, calib));
}

function checkRatio(ratio: number | undefined): void {
  if (ratio !== undefined && !(ratio >= 0 && ratio < 1)) throw error('BAD_OPTION', `--ratio must be at least 0 and below 1, not ${ratio}`);
}

function headList(text: string): Map<number, number[]> {
  try {
    const list = parseHeadList(text);
    if (list.size === 0) throw new Error('it names no head');
    return list;
  } catch (e) {
    throw error('BAD_OPTION', `--heads ${text}: ${(e as Error).message}`, undefined, 'Write --heads 0:1,2:3 (layer:head, counted from 0).');
  }
}

async function prepare(opts: StructuralOptions, ctx: CommandContext): Promise<{ model: Model; structure: ModelStructure }> {
  const model = await loadUserModel(opts.model, ctx);
  return { model, structure: recognizeUserModel(model, opts.model, ctx) };
}

function attentionSites(structure: ModelStructure, file: string): Labeled<HeadSite>[] {
  const sites = structure.layers.flatMap((l) => l.sublayers.filter((s) => s.kind === 'attention').map((site) => ({ layer: l.index, name: `layer ${l.index}`, site })));
  if (sites.length > 0) return sites;
  throw notFound(structure, file, 'attention', 'prune-heads removes heads of recognized attention blocks (a Softmax over q k^T with heads split by Reshape).');
}

function mlpSites(structure: ModelStructure, file: string): Labeled<MlpSite>[] {
  const sites: Labeled<MlpSite>[] = [];
  for (const l of structure.layers) {
    for (const s of l.sublayers) {
      if (s.kind === 'mlp') sites.push({ layer: l.index, name: `layer ${l.index} mlp`, site: s });
      if (s.kind === 'moe') for (const e of s.experts) sites.push({ layer: l.index, name: `layer ${l.index} expert ${e.index}`, site: e });
    }
  }
  if (sites.length > 0) return sites;
  throw notFound(structure, file, 'MLP', 'prune-neurons removes hidden channels of recognized MLP blocks and experts.');
}

function notFound(structure: ModelStructure, file: string, what: string, hint: string): SparsecError {
  const why = structure.unrecognized[0];
  return error('UNSUPPORTED_OP', `no ${what} block recognized${why ? ` (${why.reason})` : ''}`, { file, ...(why?.node ? { node: why.node.name } : {}) }, hint);
}

function calibration(model: Model, opts: StructuralOptions): CalibrationSet | undefined {
  const bindings = opts.calib.map((c) => (typeof c === 'string' ? { file: c } : c));
  return bindings.length > 0 ? loadCalibration(model, bindings, { batchRows: opts.calibBatch, modelFile: opts.model }) : undefined;
}

function reportOptions(opts: StructuralOptions) {
  return { model: opts.model, ...(opts.eval !== undefined ? { eval: opts.eval } : {}), ...(opts.noSpeed ? { noSpeed: true } : {}) };
}

function guarded<T>(file: string, ctx: CommandContext, label: string, work: () => T): T {
  ctx.progress.update(label);
  try {
    return work();
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

function warnSkipped(ctx: CommandContext, file: string, name: string, reason: string): void {
  ctx.warn({ code: 'UNSUPPORTED_OP', severity: 'warning', text: `${name} left as it was: ${reason}`, location: { file } });
}

const SCORING = {
  calibration: 'by calibration (how much the output of each head, x_h W_o[h], varies around its mean over the calibration tokens)',
  weights: 'by weights alone (||W_v[kv(h)]|| * ||W_o[h]||; give --calib to rank by calibration)',
  explicit: 'as listed by --heads',
} as const;

const COMPENSATED = { refit: 'reader refit on calibration', mean: 'mean output moved into the bias', none: '' } as const;

const list = (xs: readonly number[]) => (xs.length ? xs.join(',') : '-');

function formatHeads(r: HeadPruneReport, s: CompressionSummary, opts: PruneHeadsOptions, calib: CalibrationSet | undefined): string {
  const removed = r.layers.reduce((n, l) => n + l.removed.length, 0);
  const total = r.layers.reduce((n, l) => n + l.heads, 0);
  const rows = r.layers.map((l) => [
    l.name,
    `${l.heads} -> ${l.heads - l.removed.length}`,
    `${l.kvHeads} -> ${l.kvHeads - l.removedKv.length}`,
    list(l.removed),
    list(l.removedKv),
    l.skipped ? `left as it was (${l.skipped})` : COMPENSATED[l.compensated ?? 'none'],
  ]);
  const lines = [`${opts.model}: ${removed} of ${total} attention heads removed, chosen ${SCORING[r.scoring]}`];
  if (calib) lines.push(`calibration: ${calib.description}`);
  lines.push('', formatTable([['layer', 'heads', 'kv heads', 'removed', 'kv removed', ''], ...rows], ['l', 'r', 'r', 'l', 'l', 'l']), '', ...formatSummary(s), `wrote ${opts.out}`);
  return lines.join('\n');
}

function formatNeurons(r: NeuronPruneReport, s: CompressionSummary, opts: PruneNeuronsOptions, calib: CalibrationSet | undefined): string {
  const removed = r.layers.reduce((n, l) => n + l.removed, 0);
  const total = r.layers.reduce((n, l) => n + l.hidden, 0);
  const how = r.scoring === 'calibration' ? 'by calibration (std(x_j) * ||W_down[j]||)' : 'by weights alone (||W_up[j]|| * ||W_gate[j]|| * ||W_down[j]||; give --calib to rank by calibration)';
  const rows = r.layers.map((l) => [l.name, `${l.hidden} -> ${l.hidden - l.removed}`, l.skipped ? `left as it was (${l.skipped})` : COMPENSATED[l.compensated ?? 'none']]);
  const lines = [`${opts.model}: ${removed} of ${total} FFN hidden channels removed, chosen ${how}`];
  if (calib) lines.push(`calibration: ${calib.description}`);
  lines.push('', formatTable([['layer', 'hidden', ''], ...rows], ['l', 'r', 'l']), '', ...formatSummary(s), `wrote ${opts.out}`);
  return lines.join('\n');
}
