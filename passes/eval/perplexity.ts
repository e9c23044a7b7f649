// Perplexity of a causal language model over token windows: each window w of T+1 tokens feeds
// w[:T] and scores the logits at every position t against the next token w[t+1]. The result is
// exp(mean negative log-likelihood over all N*T positions), the definition the fixtures'
// meta.json uses for torch's figure. Log-softmax runs in float64.

import { error } from '../../ir/diagnostics.js';
import { execute } from '../../ir/executor/index.js';
import type { Graph, Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';

export interface PerplexityOptions {
  /** Windows per executor run (default 16). */
  batch?: number;
  /** The token input, when the graph has several inputs. */
  input?: string;
  /** The logits output (default: the graph's first output). */
  output?: string;
  onProgress?: (windowsDone: number, windows: number) => void;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per token (nats). */
  nll: number;
  /** Scored positions: windows * (window length - 1). */
  tokens: number;
  windows: number;
}

/** `windows`: int64 or int32 [N, T+1] token ids. */
export function perplexity(graph: Graph, windows: Tensor, opts: PerplexityOptions = {}): PerplexityResult {
  const input = tokenInput(graph, opts.input);
  const output = logitsOutput(graph, opts.output);
  if ((windows.dtype !== 'int64' && windows.dtype !== 'int32') || windows.rank !== 2 || windows.shape[1]! < 2) {
    throw error('BAD_INPUT', `token windows must be int64 [N, T+1] with T >= 1, not ${windows.dtype} [${windows.shape.join(',')}]`, undefined, 'Each row holds T input tokens and the next-token target after them.');
  }
  const [n, width] = windows.shape as [number, number];
  const t = width - 1;
  const batch = Math.max(1, opts.batch ?? 16);
  const ids = windows.toNumbers();
  let nll = 0;
  for (let b0 = 0; b0 < n; b0 += batch) {
    const rows = Math.min(batch, n - b0);
    const feed = Tensor.zeros(input.dtype === 'int32' ? 'int32' : 'int64', [rows, t]);
    for (let r = 0; r < rows; r++) for (let j = 0; j < t; j++) feed.set(r * t + j, ids[(b0 + r) * width + j]!);
    const logits = execute(graph, new Map([[input.name, feed]])).get(output.name)!;
    if (logits.rank !== 3 || logits.shape[0] !== rows || logits.shape[1] !== t) {
      throw error('BAD_MODEL', `output '${output.name}' has shape [${logits.shape.join(',')}], expected logits [${rows}, ${t}, vocab]`, { value: output.name }, 'Name the logits output with --output.');
    }
    const vocab = logits.shape[2]!;
    const values = logits.toFloat32();
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < t; j++) {
        const target = ids[(b0 + r) * width + j + 1]!;
        if (!(target >= 0 && target < vocab)) {
          throw error('BAD_INPUT', `token ${target} in window ${b0 + r} is outside the vocabulary [0, ${vocab})`);
        }
        nll -= logSoftmaxAt(values, (r * t + j) * vocab, vocab, target);
      }
    }
    opts.onProgress?.(b0 + rows, n);
  }
  const mean = nll / (n * t);
  return { perplexity: Math.exp(mean), nll: mean, tokens: n * t, windows: n };
}

/** log softmax(x[off .. off+v))[target], with the max subtracted first, in float64. */
function logSoftmaxAt(x: Float32Array, off: number, v: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < v; i++) if (x[off + i]! > max) max = x[off + i]!;
  let sum = 0;
  for (let i = 0; i < v; i++) sum += Math.exp(x[off + i]! - max);
  return x[off + target]! - max - Math.log(sum);
}

function tokenInput(graph: Graph, name: string | undefined): Value {
  const inputs = graph.inputs.filter((v) => !v.isConstant);
  if (name !== undefined) {
    const v = inputs.find((i) => i.name === name);
    if (!v) throw error('BAD_OPTION', `the model has no input '${name}'; its inputs are ${inputs.map((i) => `'${i.name}'`).join(', ')}`);
    return v;
  }
  if (inputs.length !== 1) {
    throw error('BAD_MODEL', `perplexity needs a model with one token input, this one has ${inputs.length} (${inputs.map((i) => `'${i.name}'`).join(', ')})`);
  }
  return inputs[0]!;
}

function logitsOutput(graph: Graph, name: string | undefined): Value {
  const v = name === undefined ? graph.outputs[0] : graph.outputs.find((o) => o.name === name);
  if (!v) throw error('BAD_OPTION', `the model has no output '${name ?? ''}'; its outputs are ${graph.outputs.map((o) => `'${o.name}'`).join(', ')}`);
  return v;
}
