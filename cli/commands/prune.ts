// `sparsec prune model.onnx -o out.onnx --pattern 2:4 [--method sparsegpt --calib tokens.npy]`:
// zero weights to a sparsity pattern, write the pruned model (atomically), and report what each
// layer reached and, with --eval, what it cost in perplexity.

import { SparsecError } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import type { PerplexityResult } from '../../passes/eval/index.js';
import { checkPruneOptions, pruneModel, type LayerReport, type PruneReport } from '../../passes/prune/index.js';
import type { PruneOptions } from '../args.js';
import { loadCalibration, type CalibrationSet } from '../calib-data.js';
import type { CommandContext } from '../context.js';
import { formatCount, formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { formatPerplexity, measurePerplexity, readTokenWindows } from './eval.js';
import { loadUserModel, saveUserModel } from './model.js';

interface Quality {
  data: string;
  before: PerplexityResult;
  after: PerplexityResult;
  /** after / before - 1 */
  increase: number;
}

export async function prune(opts: PruneOptions, ctx: CommandContext): Promise<void> {
  // Option mistakes surface before any file is read.
  checkPruneOptions({ ...opts, hasCalib: opts.calib.length > 0 });
  const model = await loadUserModel(opts.model, ctx);
  const calib = opts.calib.length > 0 ? loadCalibration(model, opts.calib, { batchRows: opts.calibBatch, modelFile: opts.model }) : undefined;
  const windows = opts.eval !== undefined ? await readTokenWindows(opts.eval) : undefined;
  const evaluate = (label: string) => measurePerplexity(model, windows!, { model: opts.model, data: opts.eval!, label }, ctx);

  const before = windows ? evaluate(`${opts.model} (dense)`) : undefined;
  const report = runPruning(model, opts, calib, ctx);
  for (const w of report.permutation?.warnings ?? []) ctx.warn(withFile(new SparsecError([w]), opts.model).diagnostic);
  await saveUserModel(model, opts.out, 'pruned model');
  const after = windows ? evaluate(`${opts.out} (pruned)`) : undefined;
  const quality = before && after ? { data: opts.eval!, before, after, increase: after.perplexity / before.perplexity - 1 } : undefined;

  if (opts.json) {
    const permutation = report.permutation && { ...report.permutation, groups: report.permutation.groups.map(({ permutation: _, ...g }) => g) };
    ctx.print(JSON.stringify({ model: opts.model, out: opts.out, ...report, permutation, ...(calib ? { calibration: calib.description } : {}), ...(quality ? { quality } : {}) }, null, 2));
  }
  else ctx.print(formatReport(report, opts, calib, quality));
}

function runPruning(model: Model, opts: PruneOptions, calib: CalibrationSet | undefined, ctx: CommandContext): PruneReport {
  try {
    return pruneModel(model, {
      pattern: opts.pattern,
      method: opts.method,
      allocation: opts.allocation,
      only: opts.only,
      skip: opts.skip,
      includeEmbeddings: opts.includeEmbeddings,
      includeHead: opts.includeHead,
      sequential: opts.sequential,
      permute: opts.permute,
      ...(opts.dampening !== undefined ? { sparseGpt: { dampening: opts.dampening } } : {}),
      ...(calib ? { calib } : {}),
      onProgress: (p) =>
        p.phase === 'calibrate'
          ? ctx.progress.update('calibrating', p.done, calib?.batches)
          : ctx.progress.update('pruning', p.done, p.total),
    });
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, opts.model);
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

function layerRow(l: LayerReport): string[] {
  const err = l.relError === undefined ? '' : `${l.errorKind === 'diagonal' ? '~' : ''}${l.relError.toFixed(4)}`;
  const status = l.skipped ? `kept (${l.skipped})` : (l.note ?? '');
  return [l.name, l.node, `${l.rows}x${l.cols}`, percent(l.sparsityBefore), percent(l.sparsity), err, l.skipped ? '' : l.ms.toFixed(0), status];
}

function formatReport(r: PruneReport, opts: PruneOptions, calib: CalibrationSet | undefined, quality: Quality | undefined): string {
  const pruned = r.layers.filter((l) => l.skipped === undefined);
  const lines = [
    `${opts.model}: ${r.pattern} with ${r.method} (${r.allocation} allocation): ${pruned.length} of ${r.layers.length} weights pruned, ` +
      `${formatCount(r.prunedZeros)} of ${formatCount(r.prunedWeights)} weights in them now zero (${percent(r.prunedWeights ? r.prunedZeros / r.prunedWeights : 0)})`,
  ];
  if (calib) lines.push(`calibration: ${calib.description} (${(r.calibrationMs / 1000).toFixed(1)} s)`);
  const p = r.permutation;
  if (p) {
    const permuted = p.groups.filter((g) => g.status === 'permuted').length;
    lines.push(
      `channel permutation: ${permuted} of ${p.groups.length} channel groups permuted (${p.layersPermuted} layers), mean efficacy ${percent(p.meanEfficacy)}, ` +
        `search ${(p.totalSearchMs / 1000).toFixed(1)} s`,
    );
  }
  lines.push(
    '',
    formatTable(
      [['weight', 'node', 'rows x cols', 'zeros before', 'after', 'rel. error', 'ms', ''], ...r.layers.map(layerRow)],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  if (pruned.some((l) => l.errorKind === 'diagonal')) lines.push('(~: output error estimated from input-channel norms, without their correlations)');
  if (quality) {
    lines.push(
      '',
      `perplexity on ${quality.data}: ${formatPerplexity(quality.before.perplexity)} dense -> ${formatPerplexity(quality.after.perplexity)} pruned ` +
        `(${quality.increase >= 0 ? '+' : ''}${(100 * quality.increase).toFixed(2)}%)`,
    );
  }
  lines.push(`wrote ${opts.out} (${(r.ms / 1000).toFixed(1)} s pruning)`);
  return lines.join('\n');
}
