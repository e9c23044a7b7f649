// `sparsec slice model.onnx -o out.onnx --ratio 0.25 --calib tokens.npy [--eval tokens.npy]`:
// SliceGPT. Rotate the residual stream into its principal basis (from calibration data) and
// keep the leading channels; write the smaller dense model (a plain ONNX model, atomically) and
// report the parameters before and after (shortcut matrices included), per sublayer how much
// of the stream's energy the kept channels hold, and with --eval the perplexity cost.

import { SparsecError } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import { checkSliceOptions, sliceModel, type BasisScope, type SliceReport } from '../../passes/slice/index.js';
import type { ModelStructure } from '../../passes/structure/types.js';
import type { InputBinding } from '../args.js';
import { loadCalibration, type CalibrationSet } from '../calib-data.js';
import { baseline, formatSummary, summarize, type CompressionSummary } from '../compression-report.js';
import type { CommandContext } from '../context.js';
import { formatCount, formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { loadUserModel, recognizeUserModel, saveUserModel } from './model.js';

export interface SliceOptions {
  model: string;
  /** -o / --out: where to write the sliced model. */
  out: string;
  /** --ratio: fraction of the residual width to remove, in [0, 1). */
  ratio: number;
  /** --multiple: the kept width is rounded down to a multiple of this (default 8). */
  multiple: number;
  /**
   * --basis: which stream states share a rotation. 'model' (default): one for the whole
   * stream, no shortcut matrices; 'layer': one per transformer layer; 'sublayer': one per
   * sublayer input as in the SliceGPT paper, a shortcut matrix on every residual connection.
   */
  basis: BasisScope;
  /** --untie-head: give a tied head its own rotated weight instead of keeping it tied. */
  untieHead: boolean;
  /** --calib: calibration token windows (or arrays per input), as for `sparsec prune`. */
  calib: InputBinding[];
  /** --calib-batch: rows per calibration batch. */
  calibBatch: number;
  /** --eval: held-out token windows; perplexity before and after. */
  eval?: string;
  json: boolean;
  /** --no-speed: leave out the WASM speed comparison (it builds and times both models). */
  noSpeed?: boolean;
}

export async function slice(opts: SliceOptions, ctx: CommandContext): Promise<void> {
  checkSliceOptions({ ratio: opts.ratio, multiple: opts.multiple, scope: opts.basis, hasCalib: opts.calib.length > 0 });
  const model = await loadUserModel(opts.model, ctx);
  const structure = recognizeUserModel(model, opts.model, ctx);
  const calib = opts.calib.length > 0 ? loadCalibration(model, opts.calib, { batchRows: opts.calibBatch, modelFile: opts.model }) : undefined;
  const reportOpts = { model: opts.model, ...(opts.eval !== undefined ? { eval: opts.eval } : {}), ...(opts.noSpeed ? { noSpeed: true } : {}) };
  const base = await baseline(model, reportOpts, ctx);
  const report = runSlicing(model, structure, opts, calib, ctx);
  await saveUserModel(model, opts.out, 'sliced model');
  const summary = await summarize(base, model, reportOpts, ctx);

  if (opts.json) {
    ctx.print(JSON.stringify({ model: opts.model, out: opts.out, ratio: opts.ratio, ...report, ...(calib ? { calibration: calib.description } : {}), ...summary }, null, 2));
  } else {
    ctx.print(formatReport(report, summary, opts, calib));
  }
}

function runSlicing(model: Model, structure: ModelStructure, opts: SliceOptions, calib: CalibrationSet | undefined, ctx: CommandContext): SliceReport {
  try {
    return sliceModel(model, structure, {
      ratio: opts.ratio,
      multiple: opts.multiple,
      scope: opts.basis,
      tieHead: !opts.untieHead,
      file: opts.model,
      ...(calib ? { calib } : {}),
      onProgress: (p) => (p.phase === 'calibrate' ? ctx.progress.update('calibrating', p.done, calib?.batches) : ctx.progress.update('rotating and slicing')),
    });
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, opts.model);
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

const SCOPE_TEXT: Record<BasisScope, string> = {
  model: 'one rotation for the whole stream (no shortcut matrices)',
  layer: 'one rotation per layer (shortcut matrices between layers)',
  sublayer: 'one rotation per sublayer input (a shortcut matrix on every residual connection)',
};

function formatReport(r: SliceReport, summary: CompressionSummary, opts: SliceOptions, calib: CalibrationSet | undefined): string {
  const lines = [
    `${opts.model}: residual stream ${r.width} -> ${r.kept} channels (--ratio ${opts.ratio}, multiple of ${opts.multiple}), ${SCOPE_TEXT[r.scope]}`,
    r.centered
      ? 'LayerNorm -> RMSNorm: gamma and beta folded into the readers, embeddings and output projections mean-centered'
      : 'RMSNorm: gamma folded into the readers',
  ];
  if (calib) lines.push(`calibration: ${calib.description} (${formatCount(r.calibrationSamples)} tokens)`);
  lines.push(`shortcut matrices: ${r.shortcuts}, ${formatCount(r.shortcutParameters)} parameters (counted below)`);
  if (r.headTie === 'kept') lines.push(`the output head stays tied to the token embedding table, reading it through a fitted ${r.kept}-row matrix`);
  if (r.headTie === 'untied') lines.push(`the output head shared the token embedding table; it now has its own ${r.kept}-row weight (untied)`);
  if (r.pinnedShapes > 0) lines.push(`${r.pinnedShapes} Shape nodes of sliced values now report the original width ${r.width} (attention reshapes)`);
  const energy = (x: number | undefined) => (x === undefined ? '' : percent(x));
  lines.push(
    '',
    formatTable(
      [
        ['sublayer', 'readers', 'writers', 'shortcut', 'energy kept'],
        ...r.sublayers.map((s) => [s.name, String(s.readers), String(s.writers), s.shortcut ? `${r.kept}x${r.kept}` : '', energy(s.retained)]),
        ['final norm', '', '', '', energy(r.finalRetained)],
      ],
      ['l', 'r', 'r', 'r', 'r'],
    ),
  );
  lines.push('', ...formatSummary(summary), `wrote ${opts.out} (${(r.ms / 1000).toFixed(1)} s slicing)`);
  return lines.join('\n');
}
