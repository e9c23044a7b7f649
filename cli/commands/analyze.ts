// `sparsec analyze model.onnx`: how sparse a model's weights are and in which patterns, what
// dead channels make removable, zero attention heads; with --calib, activation sparsity and
// expert routing. A table and summary on stdout, --json for the whole report, --report for a
// self-contained HTML page with a heat map of every weight.

import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { error, SparsecError } from '../../ir/diagnostics.js';
import { unsupportedNodes } from '../../ir/executor/index.js';
import type { Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { analyzeSparsity, type LayerSparsity, type SparsityReport } from '../../passes/analysis/sparsity.js';
import { findWeights } from '../../passes/analysis/weights.js';
import type { AnalyzeOptions } from '../args.js';
import { loadCalibration, type CalibrationSet } from '../calib-data.js';
import type { CommandContext } from '../context.js';
import { formatCount } from '../format.js';
import { renderHtmlReport } from '../report-html.js';
import { withFile } from '../tensor-files.js';
import { inferTypesOrWarn, loadUserModel, resolveShapeBindings, specialize } from './model.js';
import { unsupportedOps } from './run.js';

export async function analyze(opts: AnalyzeOptions, ctx: CommandContext): Promise<void> {
  const file = opts.model;
  const loaded = await loadUserModel(file, ctx);
  const model = specialize(loaded, resolveShapeBindings(loaded, opts.shapes, file), file);
  const calibration = opts.calib.length > 0 ? loadCalibration(model, opts.calib, { batchRows: opts.calibBatch, modelFile: file }) : undefined;
  if (calibration) {
    const unsupported = unsupportedNodes(model.graph);
    if (unsupported.length > 0) throw unsupportedOps(unsupported, file);
  }
  // Shapes let the channel analysis see broadcasts; a model inference cannot type is still analyzed.
  inferTypesOrWarn(model, file, ctx);

  const report = runAnalysis(model, calibration, file, ctx);
  if (opts.report !== undefined) {
    const html = renderHtmlReport({ title: file, report, views: findWeights(model.graph) });
    await writeAtomically(opts.report, html);
  }
  ctx.print(opts.json ? JSON.stringify({ model: file, ...report }, null, 2) : formatReport(report, calibration, opts.report));
}

function runAnalysis(model: Model, calibration: CalibrationSet | undefined, file: string, ctx: CommandContext): SparsityReport {
  if (!calibration) return analyzeSparsity(model.graph);
  const total = calibration.batches;
  const withProgress = (function* (): Iterable<ReadonlyMap<string, Tensor>> {
    let done = 0;
    for (const batch of calibration) {
      ctx.progress.update('calibrating', done, total);
      yield batch;
      done++;
    }
  })();
  try {
    return analyzeSparsity(model.graph, { calibration: withProgress });
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

/** Write through a temporary file in the same folder, so a reader never sees half a report. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw error('WRITE_FAILED', `cannot write the report: ${(e as Error).message}`, { file: path }, 'Check that --report names a file in a writable folder.');
  }
}

// ---- text ----

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const nm24 = (l: LayerSparsity) => l.nm.find((p) => p.pattern === '2:4')?.compliance ?? 0;

function formatReport(r: SparsityReport, calibration: CalibrationSet | undefined, reportFile: string | undefined): string {
  const rows = [
    ['layer', 'op', 'shape', 'density', '2:4', 'best block', 'dead rows/cols'],
    ...r.layers.map((l) => [
      l.node + (l.role === 'hidden' ? '' : ` (${l.role})`),
      l.op,
      `${l.rows}x${l.cols}`,
      pct(l.density),
      pct(nm24(l)),
      l.bestBlock ? `${l.bestBlock.shape} ${pct(l.bestBlock.zeroFraction)}` : '-',
      `${l.deadRows.length}/${l.deadCols.length}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  const s = r.summary;
  lines.push(
    '',
    `${s.layers} weights, ${formatCount(s.params)} parameters, ${formatCount(s.nonzeros)} nonzero: density ${pct(s.density)}`,
    `2:4 compliance ${pct(s.compliance24)} of groups; ${s.layers24} of ${s.layers} layers fully 2:4`,
    `dead rows ${s.deadRows}, dead input channels ${s.deadCols}; ${s.removableChannels} channels removable through the graph`,
  );
  for (const x of r.removable) lines.push(`  ${x.node}: ${x.axis === 'rows' ? 'output rows' : 'input channels'} ${shortList(x.channels)} (${x.reason})`);
  const heads = r.heads;
  if (heads.projections.length > 0) {
    const zero = heads.projections.filter((p) => p.zeroHeads.length > 0);
    lines.push(`attention heads: ${heads.projections.length} projections recognized, ${s.zeroHeads} zero heads`);
    for (const p of zero) lines.push(`  ${p.node}${p.part !== undefined ? ` part ${p.part}` : ''}: heads ${p.zeroHeads.join(', ')} of ${p.heads} are zero`);
  } else if (heads.note) {
    lines.push(heads.note);
  }
  if (r.activations && calibration) {
    lines.push(`calibration: ${calibration.description}`);
    lines.push(`activation sparsity: mean exact-zero fraction of layer inputs ${pct(s.activationZeroFraction ?? 0)}`);
    const sparsest = r.activations.map((a, i) => ({ a, node: r.layers[i]!.node })).sort((x, y) => y.a.zeroFraction - x.a.zeroFraction).slice(0, 5);
    for (const { a, node } of sparsest) {
      if (a.zeroFraction > 0) lines.push(`  ${node}: ${pct(a.zeroFraction)} zeros, ${pct(a.nearZeroFraction)} below 1e-3 of max`);
    }
  }
  for (const x of r.routing ?? []) {
    lines.push(`expert routing at ${x.node} (top-${x.k} of ${x.experts}, ${x.tokens} tokens): chosen ${x.selectedFraction.map(pct).join(' ')}`);
  }
  if (reportFile !== undefined) lines.push(`report written to ${reportFile}`);
  return lines.join('\n');
}

function shortList(xs: readonly number[]): string {
  return xs.length <= 12 ? xs.join(',') : `${xs.slice(0, 12).join(',')},... (${xs.length})`;
}
