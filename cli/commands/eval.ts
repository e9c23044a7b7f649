// `sparsec eval model.onnx --data tokens.npy`: a causal language model's perplexity.

import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { perplexity, type PerplexityResult } from '../../passes/eval/index.js';
import type { EvalOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatCount } from '../format.js';
import { readTensorFile, withFile } from '../tensor-files.js';
import { loadUserModel } from './model.js';

export async function evaluate(opts: EvalOptions, ctx: CommandContext): Promise<void> {
  const model = await loadUserModel(opts.model, ctx);
  const windows = await readTokenWindows(opts.data);
  const result = measurePerplexity(model, windows, { model: opts.model, data: opts.data, batch: opts.batch }, ctx);
  if (opts.json) ctx.print(JSON.stringify({ model: opts.model, data: opts.data, ...result }, null, 2));
  else ctx.print(`perplexity ${formatPerplexity(result.perplexity)} (${formatCount(result.tokens)} tokens in ${result.windows} windows of ${opts.data}; mean NLL ${result.nll.toFixed(4)} nats)`);
}

/** An int64/int32 [N, T+1] array of token windows. */
export async function readTokenWindows(file: string): Promise<Tensor> {
  const { tensor } = await readTensorFile(file);
  if ((tensor.dtype !== 'int64' && tensor.dtype !== 'int32') || tensor.rank !== 2 || tensor.shape[1]! < 2) {
    throw error('BAD_INPUT', `token windows must be int64 [N, T+1], not ${tensor.dtype} [${tensor.shape.join(',')}]`, { file }, 'Each row holds T input tokens followed by the last target.');
  }
  return tensor;
}

/** Perplexity with progress, errors pointing at the model or data file. */
export function measurePerplexity(model: Model, windows: Tensor, where: { model: string; data: string; batch?: number; label?: string }, ctx: CommandContext): PerplexityResult {
  try {
    return perplexity(model.graph, windows, {
      ...(where.batch !== undefined ? { batch: where.batch } : {}),
      onProgress: (done, total) => ctx.progress.update(`evaluating ${where.label ?? where.model}`, done, total),
    });
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    const d = e.diagnostic;
    throw withFile(e, d.code === 'BAD_INPUT' ? where.data : where.model);
  } finally {
    ctx.progress.clear();
  }
}

export function formatPerplexity(p: number): string {
  return p.toFixed(p < 100 ? 4 : 2);
}
