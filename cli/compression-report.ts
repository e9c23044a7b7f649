// What every structural command (slice, prune-heads, prune-neurons, prune-experts) reports
// besides its own per-layer details: parameters before and after (counted the same way for
// both), the perplexity cost on held-out windows when --eval is given, and the speed change in
// sparsec's WASM backend, measured by building and timing both models.

import { encodeModel } from '../frontend/index.js';
import { SparsecError } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import { countParameters } from '../passes/analysis/parameters.js';
import type { PerplexityResult } from '../passes/eval/index.js';
import { formatPerplexity, measurePerplexity, readTokenWindows } from './commands/eval.js';
import type { CommandContext } from './context.js';
import { formatCount } from './format.js';
import { compareWasmSpeed, timingShapes, type SpeedComparison } from './wasm-speed.js';

export interface CompressionSummary {
  readonly parameters: { readonly before: number; readonly after: number };
  readonly quality?: { readonly data: string; readonly before: PerplexityResult; readonly after: PerplexityResult; readonly increase: number };
  /** The WASM speed check, or why it was not made. */
  readonly speed: SpeedComparison | { readonly skipped: string };
}

/** The source model as it was before a transform: its bytes, parameters and perplexity. */
export interface Baseline {
  readonly bytes: Uint8Array;
  readonly parameters: number;
  readonly perplexity?: PerplexityResult;
}

export interface ReportOptions {
  readonly model: string;
  readonly eval?: string;
  /** Skip the WASM speed check (tests; it builds both models). */
  readonly noSpeed?: boolean;
}

/** Snapshot `model` before it is transformed in place. */
export async function baseline(model: Model, opts: ReportOptions, ctx: CommandContext): Promise<Baseline> {
  const perplexity = opts.eval !== undefined ? measurePerplexity(model, await readTokenWindows(opts.eval), { model: opts.model, data: opts.eval, label: `${opts.model} (before)` }, ctx) : undefined;
  return { bytes: encodeModel(model), parameters: countParameters(model.graph), ...(perplexity ? { perplexity } : {}) };
}

/** Compare the transformed `model` with its baseline. */
export async function summarize(base: Baseline, model: Model, opts: ReportOptions, ctx: CommandContext): Promise<CompressionSummary> {
  const parameters = { before: base.parameters, after: countParameters(model.graph) };
  let quality: CompressionSummary['quality'];
  if (opts.eval !== undefined && base.perplexity) {
    const after = measurePerplexity(model, await readTokenWindows(opts.eval), { model: opts.model, data: opts.eval, label: 'the result' }, ctx);
    quality = { data: opts.eval, before: base.perplexity, after, increase: after.perplexity / base.perplexity.perplexity - 1 };
  }
  const speed = opts.noSpeed ? { skipped: 'not requested' } : await speedCheck(base.bytes, model, ctx);
  return { parameters, ...(quality ? { quality } : {}), speed };
}

async function speedCheck(before: Uint8Array, model: Model, ctx: CommandContext): Promise<CompressionSummary['speed']> {
  const shapes = timingShapes(model);
  ctx.progress.update('timing both models in the WASM backend');
  try {
    return await compareWasmSpeed(before, encodeModel(model), shapes);
  } catch (e) {
    // A model the backend cannot build still gets its transform; the report says why no timing.
    if (e instanceof SparsecError) return { skipped: `the WASM backend could not build it: ${e.diagnostic.text}` };
    throw e;
  } finally {
    ctx.progress.clear();
  }
}

export function formatSummary(s: CompressionSummary): string[] {
  const p = s.parameters;
  const lines = [`parameters  ${formatCount(p.before)} -> ${formatCount(p.after)} (${formatPercent(p.after / p.before - 1)})`];
  if (s.quality) {
    const q = s.quality;
    lines.push(`perplexity  ${formatPerplexity(q.before.perplexity)} -> ${formatPerplexity(q.after.perplexity)} (${formatPercent(q.increase)}) on ${q.data}`);
  }
  if ('skipped' in s.speed) lines.push(`wasm speed  not measured: ${s.speed.skipped}`);
  else {
    const shapes = Object.entries(s.speed.shapes).map(([n, d]) => `${n}=${d.join('x')}`).join(' ');
    lines.push(`wasm speed  ${s.speed.beforeMs.toFixed(2)} ms -> ${s.speed.afterMs.toFixed(2)} ms (${s.speed.speedup.toFixed(2)}x) at ${shapes}`);
  }
  return lines;
}

function formatPercent(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
}
