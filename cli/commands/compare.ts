// `sparsec compare a.onnx b.onnx --input x=x.npy`: run both models on the same inputs and report,
// per output, how far b's result is from a's.

import { SparsecError } from '../../ir/diagnostics.js';
import { unsupportedNodes } from '../../ir/executor/index.js';
import type { Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { compareOutputs, type OutputDifference } from '../../passes/eval/index.js';
import type { CompareOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatShape, formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { loadUserModel, resolveShapeBindings, specialize } from './model.js';
import { readFeeds } from './feeds.js';
import { runExecutor, unsupportedOps } from './run.js';

export async function compare(opts: CompareOptions, ctx: CommandContext): Promise<void> {
  const [a, b] = [await loadUserModel(opts.model, ctx), await loadUserModel(opts.other, ctx)];
  const outputsA = await runOn(a, opts.model, opts, ctx);
  const outputsB = await runOn(b, opts.other, opts, ctx);
  let diffs: OutputDifference[];
  try {
    diffs = compareOutputs(outputsA, outputsB);
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, opts.other);
    throw e;
  }
  if (opts.json) {
    ctx.print(JSON.stringify({ reference: opts.model, compared: opts.other, outputs: diffs }, null, 2));
    return;
  }
  const num = (x: number) => (Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(3));
  ctx.print(
    formatTable([
      ['output', 'shape', 'max abs', 'relative', 'mean abs', 'cosine'],
      ...diffs.map((d) => [d.name, formatShape(d.shape), num(d.maxAbs), num(d.relative), num(d.meanAbs), d.cosine.toFixed(6)]),
    ]),
  );
}

async function runOn(model: Model, file: string, opts: CompareOptions, ctx: CommandContext): Promise<Map<string, Tensor>> {
  const unsupported = unsupportedNodes(model.graph);
  if (unsupported.length > 0) throw unsupportedOps(unsupported, file);
  const feeds = await readFeeds(model, opts.inputs, file);
  return runExecutor(specialize(model, resolveShapeBindings(model, opts.shapes, file), file), feeds, file, ctx);
}
