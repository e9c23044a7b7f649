// `sparsec run model.onnx --input x=x.npy`: run a model with the reference executor, or a
// built artifact (a folder from `sparsec build`, its .wasm or its .json) with the runtime.
//
// Everything that can be wrong with the user's input (files, names, shapes, dtypes, unsupported
// ops) is checked before any output is written, and outputs are written all-or-nothing.

import { createHash } from 'node:crypto';
import { encodeTensorProto } from '../../frontend/index.js';
import { error, SparsecError } from '../../ir/diagnostics.js';
import { execute, unsupportedNodes } from '../../ir/executor/index.js';
import type { Model, Node } from '../../ir/graph.js';
import { writeNpy } from '../../ir/npy.js';
import type { Tensor } from '../../ir/tensor.js';
import type { RunOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatShape } from '../format.js';
import { outputFileName, withFile, writeAllOrNothing } from '../tensor-files.js';
import { readFeeds, type Feed } from './feeds.js';
import { findArtifact, runArtifact, type ArtifactBuild } from './run-artifact.js';
import { loadUserModel, resolveShapeBindings, specialize } from './model.js';

export interface OutputSummary {
  name: string;
  dtype: string;
  shape: number[];
  /** Checksums: the sum of all elements and the SHA-256 of the raw little-endian bytes. */
  sum: number;
  sha256: string;
  min?: number;
  max?: number;
  mean?: number;
  /** NaN elements (float outputs only; excluded from min/max/mean/sum). */
  nans?: number;
  /** Where the output was written (with --out). */
  file?: string;
}

export async function runModel(opts: RunOptions, ctx: CommandContext): Promise<void> {
  const artifact = await findArtifact(opts.model);
  const { outputs, build } = artifact !== undefined ? await runArtifact(artifact, opts, ctx) : { outputs: await runOnnxModel(opts, ctx), build: undefined };
  const summaries = [...outputs].map(([name, t]) => summarizeOutput(name, t));

  if (opts.out !== undefined) {
    const taken = new Set<string>();
    const files = [...outputs].map(([name, t]) => {
      const fileName = outputFileName(name, opts.format, taken);
      return { name: fileName, bytes: encodeOutput(name, t, opts.format, opts.out!) };
    });
    await writeAllOrNothing(opts.out, files);
    files.forEach((f, i) => (summaries[i]!.file = `${opts.out}/${f.name}`));
  }
  if (opts.json) ctx.print(JSON.stringify({ ...(build ? { build } : {}), outputs: summaries }, null, 2));
  else ctx.print(build ? `${formatOutputs(summaries)}\n${describeBuild(build)}` : formatOutputs(summaries));
}

/** One line: which of a built artifact's modules ran. */
function describeBuild(b: ArtifactBuild): string {
  return b.simd === 'relaxed' ? `ran ${b.module}: the relaxed-SIMD build` : `ran ${b.module}: the SIMD128 build (${b.reason})`;
}

/** Run an .onnx model with the reference executor. */
async function runOnnxModel(opts: RunOptions, ctx: CommandContext): Promise<Map<string, Tensor>> {
  const file = opts.model;
  const model = await loadUserModel(file, ctx);
  const bindings = resolveShapeBindings(model, opts.shapes, file);
  const unsupported = unsupportedNodes(model.graph);
  if (unsupported.length > 0) throw unsupportedOps(unsupported, file);
  const feeds = await readFeeds(model, opts.inputs, file);
  return runExecutor(specialize(model, bindings, file), feeds, file, ctx);
}


export function runExecutor(model: Model, feeds: ReadonlyMap<string, Feed>, file: string, ctx: CommandContext): Map<string, Tensor> {
  const tensors = new Map([...feeds].map(([name, f]) => [name, f.tensor]));
  const total = model.graph.nodes.reduce((n, node) => n + node.outputs.length, 0);
  let done = 0;
  try {
    return execute(model.graph, tensors, { onValue: () => ctx.progress.update(`running ${file}`, Math.min(++done, total), total) });
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    // Point input problems at the input's file, everything else at the model.
    for (const d of e.diagnostics) {
      const value = d.location?.value;
      const feed = value !== undefined ? feeds.get(value) : undefined;
      if (feed && !d.location?.node) d.location = { ...d.location, file: feed.file };
    }
    throw withFile(e, file);
  } finally {
    ctx.progress.clear();
  }
}

export function unsupportedOps(nodes: readonly Node[], file: string): SparsecError {
  const first = nodes[0]!;
  const kinds = [...new Set(nodes.map((n) => (n.op === 'Opaque' ? `${n.domain ? `${n.domain}.` : ''}${n.opType}` : n.op)))];
  const more = nodes.length > 1 ? ` (${nodes.length} nodes in all, ops ${kinds.join(', ')})` : '';
  return error(
    'UNSUPPORTED_OP',
    `op ${kinds[0]} is not supported by the reference executor${more}`,
    { file, node: first.name, opType: first.opType },
    `Run 'sparsec inspect ${file}' to list them.`,
  );
}

function encodeOutput(name: string, t: Tensor, format: 'npy' | 'pb', dir: string): Uint8Array {
  try {
    return format === 'pb' ? encodeTensorProto(name, t) : writeNpy(t);
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    const d = e.diagnostic;
    throw error(d.code, `output '${name}': ${d.text}`, { file: dir, value: name }, format === 'npy' ? 'Use --format pb.' : d.hint);
  }
}

export function summarizeOutput(name: string, t: Tensor): OutputSummary {
  const summary: OutputSummary = { name, dtype: t.dtype, shape: [...t.shape], sum: 0, sha256: sha256Of(t) };
  if (t.dtype === 'string' || t.dtype === 'complex64' || t.dtype === 'complex128') return summary;
  const isFloat = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let nans = 0;
  for (let i = 0; i < t.size; i++) {
    const x = t.get(i);
    if (Number.isNaN(x)) {
      nans++;
      continue;
    }
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  summary.sum = sum;
  const counted = t.size - nans;
  if (counted > 0) Object.assign(summary, { min, max, mean: sum / counted });
  if (isFloat) summary.nans = nans;
  return summary;
}

function sha256Of(t: Tensor): string {
  const hash = createHash('sha256');
  if (t.dtype === 'string') for (const s of t.data as string[]) hash.update(`${s}\0`);
  else {
    const d = t.data as Exclude<Tensor['data'], string[]>;
    hash.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return hash.digest('hex');
}

const num = (x: number | undefined) => (x === undefined ? '-' : Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))));

function formatOutputs(outputs: readonly OutputSummary[]): string {
  const withNans = outputs.some((o) => o.nans);
  const rows = [
    ['output', 'dtype', 'shape', 'min', 'max', 'mean', 'sum', ...(withNans ? ['nans'] : []), 'sha256', ...(outputs.some((o) => o.file) ? ['file'] : [])],
    ...outputs.map((o) => [
      o.name,
      o.dtype,
      formatShape(o.shape),
      num(o.min),
      num(o.max),
      num(o.mean),
      num(o.sum),
      ...(withNans ? [String(o.nans ?? 0)] : []),
      o.sha256.slice(0, 12),
      ...(o.file ? [o.file] : []),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  return lines.join('\n');
}
