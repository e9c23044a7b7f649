// Whole-model benchmark: the gpt2 and mobilenet fixtures, dense and magnitude-pruned (80% and
// 90% unstructured, 2:4, 4x1 blocks at 80%; hidden layers only, as the pruner does by
// default), run by sparsec's WASM artifact (layouts auto), onnxruntime-web (WASM, 1 thread)
// and onnxruntime-node (CPU,
// 1 thread) on the same ONNX bytes. Every sparsec output is checked against onnxruntime-node
// on the same model. All contenders of a model are timed in one interleaved loop, medians
// reported. Prints a table; writes bench/models-results.json.
//
//   npx tsc -p bench && node dist/bench/models.js

import './v8-flags.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { randomFloats, maxRelError } from '../codegen/wasm/kernels/reference.js';
import { encodeModel, loadModel } from '../frontend/index.js';
import { readNpy } from '../ir/npy.js';
import { parsePattern, pruneModel } from '../passes/prune/index.js';
import { codeSize, type CodeSize } from './code-size.js';
import { ortNodeModelRunner, ortWebModelRunner, sparsecRunner, type FeedData, type ModelRunner, type SparsecRunner } from './model-runners.js';
import { timeInterleaved, type Contender } from './timing.js';

/** The repository root (this file runs from dist/bench/). */
const ROOT = new URL('../../', import.meta.url).pathname;
const TOLERANCE = 1e-4;
/** Wall time to spend on the timed rounds of one model (all its contenders together). */
const TIMING_BUDGET_MS = 20_000;

interface Case {
  label: string;
  file: string;
  input: string;
  /** Shapes to try in order: the first that sparsec builds is used. */
  shapes: number[][];
  feed: (shape: number[]) => FeedData;
}

const VARIANTS: { label: string; pattern?: string }[] = [
  { label: 'dense' },
  { label: 'unstructured 80%', pattern: 'unstructured:0.8' },
  { label: 'unstructured 90%', pattern: 'unstructured:0.9' },
  { label: '2:4', pattern: '2:4' },
  { label: 'block 4x1 80%', pattern: 'block:4x1:0.8' },
];

/** Token windows of the held-out text: the first row, cut to the sequence length. */
function tokens(shape: number[]): BigInt64Array {
  const t = readNpy(readFileSync(`${ROOT}fixtures/gpt2/eval_tokens.npy`));
  return (t.data as BigInt64Array).slice(0, shape[1]!);
}

function image(shape: number[]): Float32Array {
  if (shape[2] === 64) return readNpy(readFileSync(`${ROOT}fixtures/mobilenet/input_input.npy`)).data as Float32Array;
  return randomFloats(shape.reduce((a, b) => a * b, 1), 7);
}

const CASES: Case[] = [
  { label: 'gpt2', file: 'fixtures/gpt2/model.onnx', input: 'input_ids', shapes: [[1, 64], [1, 16]], feed: tokens },
  { label: 'mobilenet', file: 'fixtures/mobilenet/model.onnx', input: 'input', shapes: [[1, 3, 64, 64]], feed: image },
  { label: 'mobilenet', file: 'fixtures/mobilenet/model.onnx', input: 'input', shapes: [[1, 3, 224, 224]], feed: image },
];

interface Row {
  model: string;
  shape: number[];
  sparsity: string;
  /** Zeros over the pruned weights (hidden layers), from the pruner's report. */
  prunedFraction: number;
  layouts: Record<string, number>;
  buildMs: number;
  /** Code plus runtime, weights excluded, gzipped (bench/code-size.ts). */
  code: CodeSize;
  ms: { sparsec: number; ortWeb: number; ortNode: number };
  /** ort-web dense median / this median. */
  vsOrtWebDense: { sparsec: number; ortWeb: number; ortNode: number };
  errorVsOrtNode: { sparsec: number; ortWeb: number };
}

interface Prepared {
  variant: string;
  prunedFraction: number;
  sparsec: SparsecRunner;
  web: ModelRunner;
  node: ModelRunner;
}

/** The model's ONNX bytes, magnitude-pruned to `pattern` when given. */
async function modelBytes(file: string, pattern?: string): Promise<{ bytes: Uint8Array; prunedFraction: number }> {
  if (!pattern) return { bytes: new Uint8Array(readFileSync(`${ROOT}${file}`)), prunedFraction: 0 };
  const model = await loadModel(`${ROOT}${file}`);
  const report = pruneModel(model, { pattern: parsePattern(pattern), method: 'magnitude' });
  return { bytes: encodeModel(model), prunedFraction: report.prunedZeros / Math.max(1, report.prunedWeights) };
}

async function prepare(c: Case, shape: number[], variant: (typeof VARIANTS)[number]): Promise<Prepared> {
  const { bytes, prunedFraction } = await modelBytes(c.file, variant.pattern);
  const data = c.feed(shape);
  return {
    variant: variant.label,
    prunedFraction,
    sparsec: await sparsecRunner(bytes, c.input, shape, data),
    web: await ortWebModelRunner(bytes, c.input, shape, data),
    node: await ortNodeModelRunner(bytes, c.input, shape, data),
  };
}

/** The dense variant at the first shape that builds, then the pruned ones at that shape. */
async function prepareCase(c: Case): Promise<{ shape: number[]; prepared: Prepared[] }> {
  let lastError: unknown;
  for (const shape of c.shapes) {
    try {
      const dense = await prepare(c, shape, VARIANTS[0]!);
      const prepared = [dense];
      for (const v of VARIANTS.slice(1)) prepared.push(await prepare(c, shape, v));
      return { shape, prepared };
    } catch (e) {
      lastError = e;
      process.stderr.write(`${c.label} at ${shape.join('x')} failed: ${(e as Error).message}\n`);
    }
  }
  throw lastError;
}

const layoutCounts = (r: SparsecRunner) => {
  const counts: Record<string, number> = {};
  for (const l of r.manifest.layers) counts[l.layout] = (counts[l.layout] ?? 0) + 1;
  return counts;
};

async function runCase(c: Case): Promise<Row[]> {
  const { shape, prepared } = await prepareCase(c);
  const errors: Row['errorVsOrtNode'][] = [];
  for (const p of prepared) {
    const want = await p.node.output();
    errors.push({ sparsec: maxRelError(await p.sparsec.output(), want), ortWeb: maxRelError(await p.web.output(), want) });
  }
  const contenders: Contender[] = prepared.flatMap((p) => [
    { name: `${p.variant} sparsec`, run: p.sparsec.run },
    { name: `${p.variant} ort-web`, run: p.web.run },
    { name: `${p.variant} ort-node`, run: p.node.run },
  ]);
  // A short probe sizes the rounds to the budget; calls under 1 ms are repeated per sample.
  const probe = await timeInterleaved(contenders, { rounds: 3, warmup: 2 });
  const perRound = probe.reduce((s, t) => s + t.medianMs, 0);
  const inner = Math.max(1, Math.ceil(1 / Math.min(...probe.map((t) => t.medianMs))));
  const rounds = Math.min(101, Math.max(11, Math.floor(TIMING_BUDGET_MS / (perRound * inner)))) | 1;
  process.stderr.write(`timing ${c.label} ${shape.join('x')}: ${contenders.length} contenders, ${rounds} rounds x ${inner}\n`);
  const timings = await timeInterleaved(contenders, { rounds, warmup: 3, inner });
  const ms = (i: number) => ({ sparsec: timings[3 * i]!.medianMs, ortWeb: timings[3 * i + 1]!.medianMs, ortNode: timings[3 * i + 2]!.medianMs });
  const base = ms(0).ortWeb;
  return prepared.map((p, i) => {
    const m = ms(i);
    return {
      model: c.label, shape, sparsity: p.variant, prunedFraction: p.prunedFraction,
      layouts: layoutCounts(p.sparsec), buildMs: p.sparsec.buildMs, code: codeSize(p.sparsec.files), ms: m,
      vsOrtWebDense: { sparsec: base / m.sparsec, ortWeb: base / m.ortWeb, ortNode: base / m.ortNode },
      errorVsOrtNode: errors[i]!,
    };
  });
}

function table(rows: Row[]): string {
  const head = ['model', 'input', 'sparsity', 'sparsec ms', 'ort-web ms', 'ort-node ms', 'sparsec x', 'ort-web x', 'ort-node x', 'sparsec layouts', 'code kB gz', 'sparsec err'];
  const body = rows.map((r) => [
    r.model, r.shape.join('x'), r.sparsity,
    r.ms.sparsec.toFixed(3), r.ms.ortWeb.toFixed(3), r.ms.ortNode.toFixed(3),
    r.vsOrtWebDense.sparsec.toFixed(2), r.vsOrtWebDense.ortWeb.toFixed(2), r.vsOrtWebDense.ortNode.toFixed(2),
    Object.entries(r.layouts).map(([k, v]) => `${k} ${v}`).join(', '), (r.code.totalGzip / 1024).toFixed(1), r.errorVsOrtNode.sparsec.toExponential(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const rows: Row[] = [];
  for (const c of CASES) rows.push(...(await runCase(c)));
  process.stdout.write(`${table(rows)}\n\n'x' columns: onnxruntime-web dense median / this median (higher is faster). 'code kB gz': the .wasm without data segments plus the generated .js (runtime included), gzip -9.\n`);
  const failed = rows.filter((r) => !(r.errorVsOrtNode.sparsec < TOLERANCE));
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg: { before: loadBefore, after: loadavg() },
    note: 'medians of interleaved rounds in one process, per model; every time is one whole inference including input and output copies (sparsec: runtime run(); onnxruntime: session.run); pruning is magnitude, hidden layers only (embeddings and head dense); errors are max |a-b|/max(1,|b|) against onnxruntime-node on the same model',
    rows,
  };
  writeFileSync(`${ROOT}bench/models-results.json`, `${JSON.stringify(results, null, 2)}\n`);
  if (failed.length > 0) {
    process.stderr.write(`sparsec differs from onnxruntime-node: ${failed.map((r) => `${r.model} ${r.sparsity} (${r.errorVsOrtNode.sparsec})`).join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();
