// `sparsec slice model.onnx -o out.onnx --ratio 0.25 --calib tokens.npy [--eval tokens.npy]`:
// SliceGPT. Rotate the residual stream into its principal basis (from calibration data) and
// keep the leading channels; write the smaller dense model (a plain ONNX model, atomically) and
// report the parameters before and after (shortcut matrices included), per sublayer how much
// of the stream's energy the kept channels hold, and with --eval the perplexity cost.

import { saveModel } from '../../frontend/index.js';
import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import type { PerplexityResult } from '../../passes/eval/index.js';
import { checkSliceOptions, sliceModel, type BasisScope, type SliceReport } from '../../passes/slice/index.js';
import { canonicalStructure } from '../../passes/structure/canonical.js';
import type { ModelStructure } from '../../passes/structure/types.js';
import type { InputBinding } from '../args.js';
import { loadCalibration, type CalibrationSet } from '../calib-data.js';
import type { CommandContext } from '../context.js';
import { formatCount, formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { formatPerplexity, measurePerplexity, readTokenWindows } from './eval.js';
import { loadUserModel } from './model.js';

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
}

interface Quality {
  data: string;
  before: PerplexityResult;
  after: PerplexityResult;
  /** after / before - 1 */
  increase: number;
}

export async function slice(opts: SliceOptions, ctx: CommandContext): Promise<void> {
  checkSliceOptions({ ratio: opts.ratio, multiple: opts.multiple, scope: opts.basis, hasCalib: opts.calib.length > 0 });
  const model = await loadUserModel(opts.model, ctx);
  const structure = recognize(model, opts.model, ctx);
  const calib = opts.calib.length > 0 ? loadCalibration(model, opts.calib, { batchRows: opts.calibBatch, modelFile: opts.model }) : undefined;
  const windows = opts.eval !== undefined ? await readTokenWindows(opts.eval) : undefined;
  const evaluate = (label: string) => measurePerplexity(model, windows!, { model: opts.model, data: opts.eval!, label }, ctx);

  const before = windows ? evaluate(`${opts.model} (dense)`) : undefined;
  const report = runSlicing(model, structure, opts, calib, ctx);
  await save(model, opts.out);
  const after = windows ? evaluate(`${opts.out} (sliced)`) : undefined;
  const quality = before && after ? { data: opts.eval!, before, after, increase: after.perplexity / before.perplexity - 1 } : undefined;

  if (opts.json) {
    ctx.print(JSON.stringify({ model: opts.model, out: opts.out, ratio: opts.ratio, ...report, ...(calib ? { calibration: calib.description } : {}), ...(quality ? { quality } : {}) }, null, 2));
  } else {
    ctx.print(formatReport(report, opts, calib, quality));
  }
}

/** Canonicalize in place and recognize the transformer; pipeline warnings name the file. */
function recognize(model: Model, file: string, ctx: CommandContext): ModelStructure {
  try {
    const { structure, warnings } = canonicalStructure(model);
    for (const w of warnings) ctx.warn({ ...w, location: { ...w.location, file } });
    return structure;
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
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

async function save(model: Model, file: string): Promise<void> {
  try {
    await saveModel(model, file);
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw error('WRITE_FAILED', `cannot write the sliced model: ${(e as Error).message}`, { file }, 'Check that -o names a writable path.');
  }
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const signedPercent = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%`;

const SCOPE_TEXT: Record<BasisScope, string> = {
  model: 'one rotation for the whole stream (no shortcut matrices)',
  layer: 'one rotation per layer (shortcut matrices between layers)',
  sublayer: 'one rotation per sublayer input (a shortcut matrix on every residual connection)',
};

function formatReport(r: SliceReport, opts: SliceOptions, calib: CalibrationSet | undefined, quality: Quality | undefined): string {
  const change = r.parametersAfter / r.parametersBefore - 1;
  const lines = [
    `${opts.model}: residual stream ${r.width} -> ${r.kept} channels (--ratio ${opts.ratio}, multiple of ${opts.multiple}), ${SCOPE_TEXT[r.scope]}`,
    r.centered
      ? 'LayerNorm -> RMSNorm: gamma and beta folded into the readers, embeddings and output projections mean-centered'
      : 'RMSNorm: gamma folded into the readers',
  ];
  if (calib) lines.push(`calibration: ${calib.description} (${formatCount(r.calibrationSamples)} tokens)`);
  lines.push(
    `parameters: ${formatCount(r.parametersBefore)} -> ${formatCount(r.parametersAfter)} (${signedPercent(change)}), ` +
      `${r.shortcuts} shortcut matrices with ${formatCount(r.shortcutParameters)} parameters included`,
  );
  if (r.storedParametersBefore !== r.parametersBefore) {
    lines.push(`(the tied embedding table counted once: ${opts.model} stores the head's copy too, ${formatCount(r.storedParametersBefore)} in all)`);
  }
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
  if (quality) {
    lines.push(
      '',
      `perplexity on ${quality.data}: ${formatPerplexity(quality.before.perplexity)} dense -> ${formatPerplexity(quality.after.perplexity)} sliced (${signedPercent(quality.increase)})`,
    );
  }
  lines.push(`wrote ${opts.out} (${(r.ms / 1000).toFixed(1)} s)`);
  return lines.join('\n');
}
