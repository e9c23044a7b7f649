// npm run bench (kernels): sparsec's WASM kernels against onnxruntime-web (WASM, 1 thread) and
// onnxruntime-node (CPU, 1 thread) on the FFN-sized product 768 -> 3072, at 64 tokens and at
// 1 token, dense and magnitude-pruned (50/70/90/95% unstructured, 2:4, 4:8, 4x1/8x1/1x4/4x4 blocks at 80%), plus the baked
// (SparseRT-style) variant on a medium matrix. All contenders of a shape are timed in one
// process, interleaved, medians reported. Each sparsec kernel is also timed as its relaxed-SIMD
// build (f32x4.relaxed_madd; Node 20 validates it only behind --experimental-wasm-relaxed-simd,
// which this script sets at start) in the same interleaved rounds: the relaxed* fields.
// Prints a table; writes bench/results.json and the chart bench/results.svg (bench/chart.ts).

import './v8-flags.js';
import { setFlagsFromString } from 'node:v8';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { BLOCK_SHAPES, blockShape, type BlockLabel } from '../codegen/wasm/kernels/bsr-format.js';
import { matmulRef, maxRelError, prune2of4, pruneBlocks, pruneNM, pruneUnstructured, randomFloats } from '../codegen/wasm/kernels/reference.js';
import { hasRelaxedSimd } from '../runtime/index.js';
import { benchPath, writeChart } from './chart.js';
import { denseKernel, sparseKernel, type SparseKind } from './contenders.js';
import { matmulModel, ortNodeRunner, ortWebRunner } from './ort.js';
import { timeCpuInterleaved } from './cpu-timing.js';
import { timeInterleaved, type Contender } from './timing.js';

/** One core's f32x4 mul+add limit measured on the project's machines (environment notes). */
const SIMD128_PEAK_GFLOPS = 55;

interface Row {
  shape: string;
  name: string;
  medianMs: number;
  minMs: number;
  gflops: number;
  vsOrtWeb: number;
  vsOurDense: number;
  /** CPU-time median and its ratios (bench/cpu-timing.ts): steadier than wall time on a busy machine. */
  cpuMedianMs: number;
  cpuVsOrtWeb: number;
  cpuVsOurDense: number;
  maxRelError: number;
  weightBytes?: number;
  wasmBytes?: number;
  /** The relaxed-SIMD build of the same kernel, timed in the same rounds (sparsec rows only). */
  relaxedMedianMs?: number;
  relaxedVsPlain?: number;
  relaxedVsOrtWeb?: number;
  relaxedMaxRelError?: number;
}

interface Case {
  M: number;
  K: number;
  N: number;
  sparse: { kind: SparseKind; sparsity: number }[];
  peers: boolean;
  rounds: number;
  inner: number;
}

// Node 20 validates relaxed SIMD only behind this flag (browsers ship it); set before any compile.
setFlagsFromString('--experimental-wasm-relaxed-simd');
const RELAXED = hasRelaxedSimd();
const RELAXED_SUFFIX = ' [relaxed]';

const SPARSITIES = [0.5, 0.7, 0.9, 0.95];
const FFN_SPARSE: Case['sparse'] = [
  ...SPARSITIES.map((s) => ({ kind: 'unstructured' as const, sparsity: s })),
  { kind: '2:4', sparsity: 0.5 },
  { kind: '4:8', sparsity: 0.5 },
  ...BLOCK_SHAPES.map((b) => ({ kind: `block${b}` as const, sparsity: 0.8 })),
];
const CASES: Case[] = [
  { M: 64, K: 768, N: 3072, sparse: FFN_SPARSE, peers: true, rounds: 25, inner: 1 },
  { M: 1, K: 768, N: 3072, sparse: FFN_SPARSE, peers: true, rounds: 61, inner: 5 },
  { M: 64, K: 128, N: 256, sparse: [0.9, 0.95].flatMap((s) => [{ kind: 'unstructured' as const, sparsity: s }, { kind: 'baked' as const, sparsity: s }]), peers: false, rounds: 61, inner: 5 },
];

async function runCase(c: Case): Promise<Row[]> {
  const { M, K, N } = c;
  const shape = `${M}x${K}x${N}`;
  const X = randomFloats(M * K, 11);
  const W = randomFloats(K * N, 12);
  const denseRef = matmulRef(X, W, M, K, N);
  const entries: { c: Contender; error: () => Promise<number>; weightBytes?: number; wasmBytes?: number; twinOf?: string }[] = [];
  /** The relaxed-SIMD twins, appended after the plain contenders and folded into their rows. */
  const twins: typeof entries = [];

  const dense = await denseKernel('sparsec dense', M, K, N, X, W);
  entries.push({ c: dense, error: async () => maxRelError(dense.output(), denseRef), weightBytes: dense.weightBytes, wasmBytes: dense.wasmBytes });
  if (RELAXED) {
    const twin = await denseKernel(`sparsec dense${RELAXED_SUFFIX}`, M, K, N, X, W, true);
    twins.push({ c: twin, error: async () => maxRelError(twin.output(), denseRef), twinOf: dense.name });
  }
  if (c.peers) {
    const model = matmulModel(M, K, N, W);
    const web = await ortWebRunner(model, X, M, K);
    const node = await ortNodeRunner(model, X, M, K);
    entries.push({ c: { name: 'onnxruntime-web (wasm, 1 thread)', run: web.run }, error: async () => maxRelError(await web.output(), denseRef) });
    entries.push({ c: { name: 'onnxruntime-node (cpu, 1 thread)', run: node.run }, error: async () => maxRelError(await node.output(), denseRef) });
  }
  for (const { kind, sparsity } of c.sparse) {
    const block = kind.startsWith('block') ? blockShape(kind.slice('block'.length) as BlockLabel) : undefined;
    const Ws = kind === '2:4' ? prune2of4(W, K, N) : kind === '4:8' ? pruneNM(W, K, N, 4, 8) : block ? pruneBlocks(W, K, N, block.rows, block.cols, sparsity) : pruneUnstructured(W, sparsity);
    const ref = matmulRef(X, Ws, M, K, N);
    const pct = `${Math.round(sparsity * 100)}%`;
    const label = kind === '2:4' || kind === '4:8' ? `sparsec ${kind}` : block ? `sparsec block ${block.rows}x${block.cols} ${pct}` : `sparsec ${kind === 'baked' ? 'baked' : 'unstructured'} ${pct}`;
    const k = await sparseKernel(label, kind, M, K, N, X, Ws);
    entries.push({ c: k, error: async () => maxRelError(k.output(), ref), weightBytes: k.weightBytes, wasmBytes: k.wasmBytes });
    if (RELAXED) {
      const twin = await sparseKernel(`${label}${RELAXED_SUFFIX}`, kind, M, K, N, X, Ws, true);
      twins.push({ c: twin, error: async () => maxRelError(twin.output(), ref), twinOf: label });
    }
  }
  entries.push(...twins);

  for (const e of entries) await e.c.run();
  const errors = await Promise.all(entries.map((e) => e.error()));
  const timings = await timeInterleaved(entries.map((e) => e.c), { rounds: c.rounds, warmup: 3, inner: c.inner });
  // CPU time: each sample batches calls to span several ms (cpuUsage is coarse).
  const cpuInner = Math.max(c.inner, Math.ceil(4 / Math.min(...timings.map((t) => t.minMs))));
  const cpu = await timeCpuInterleaved(entries.map((e) => e.c), { rounds: Math.min(c.rounds, 15), inner: cpuInner });
  const flops = 2 * M * K * N;
  const web = timings.findIndex((t) => t.name.startsWith('onnxruntime-web'));
  const webMs = web >= 0 ? timings[web]!.medianMs : NaN;
  const webCpu = web >= 0 ? cpu[web]!.cpuMedianMs : NaN;
  const denseMs = timings[0]!.medianMs;
  const rows: Row[] = timings.map((t, i) => ({
    shape, name: t.name, medianMs: t.medianMs, minMs: t.minMs,
    gflops: flops / t.medianMs / 1e6,
    vsOrtWeb: webMs / t.medianMs,
    vsOurDense: denseMs / t.medianMs,
    cpuMedianMs: cpu[i]!.cpuMedianMs,
    cpuVsOrtWeb: webCpu / cpu[i]!.cpuMedianMs,
    cpuVsOurDense: cpu[0]!.cpuMedianMs / cpu[i]!.cpuMedianMs,
    maxRelError: errors[i]!,
    weightBytes: entries[i]!.weightBytes,
    wasmBytes: entries[i]!.wasmBytes,
  }));
  return foldRelaxed(rows, entries.map((e) => e.twinOf));
}

/** Move each relaxed twin's timing into its plain row's relaxed* fields. */
function foldRelaxed(rows: Row[], twinOf: (string | undefined)[]): Row[] {
  const plain = rows.filter((_, i) => twinOf[i] === undefined);
  rows.forEach((t, i) => {
    const row = plain.find((r) => r.name === twinOf[i]);
    if (!row) return;
    Object.assign(row, { relaxedMedianMs: t.medianMs, relaxedVsPlain: row.medianMs / t.medianMs, relaxedVsOrtWeb: t.vsOrtWeb, relaxedMaxRelError: t.maxRelError });
  });
  return plain;
}

function table(rows: Row[]): string {
  const head = ['shape', 'contender', 'median ms', 'GFLOP/s (dense-equiv.)', 'x ort-web', 'x our dense', 'cpu ms', 'cpu x ort-web', 'cpu x our dense', 'relaxed x plain', 'weights kB', 'max rel err'];
  const ratio = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(2));
  const body = rows.map((r) => [
    r.shape, r.name, r.medianMs.toFixed(3), r.gflops.toFixed(1),
    ratio(r.vsOrtWeb), r.vsOurDense.toFixed(2), r.cpuMedianMs.toFixed(3), ratio(r.cpuVsOrtWeb), r.cpuVsOurDense.toFixed(2),
    r.relaxedVsPlain === undefined ? '-' : r.relaxedVsPlain.toFixed(2), r.weightBytes === undefined ? '-' : (r.weightBytes / 1024).toFixed(0), r.maxRelError.toExponential(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const rows: Row[] = [];
  for (const c of CASES) {
    process.stderr.write(`timing ${c.M}x${c.K}x${c.N} ...\n`);
    rows.push(...(await runCase(c)));
  }
  const gemm = rows.find((r) => r.shape === '64x768x3072' && r.name === 'sparsec dense');
  process.stdout.write(`${table(rows)}\n\n`);
  if (gemm) process.stdout.write(`dense GEMM 64x768x3072: ${gemm.gflops.toFixed(1)} GFLOP/s = ${((gemm.gflops / SIMD128_PEAK_GFLOPS) * 100).toFixed(0)}% of the ~${SIMD128_PEAK_GFLOPS} GFLOP/s SIMD128 mul+add peak\n`);
  const failed = rows.filter((r) => !(r.maxRelError < 1e-4) || (r.relaxedMaxRelError !== undefined && !(r.relaxedMaxRelError < 1e-4)));
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    simd128PeakGflops: SIMD128_PEAK_GFLOPS,
    relaxedSimd: RELAXED,
    // The machine is shared: a high load average means noisy medians (ratios within one run hold better).
    loadavg: { before: loadBefore, after: loadavg() },
    note: 'medians of interleaved rounds in one process (wall time; cpu* fields: CPU time of the process per call, steadier on a busy machine); sparsec times are the kernel call alone (inputs already in wasm memory), onnxruntime times are session.run (including its input/output copies); sparse kernels take transposed activations [K,M]',
    rows,
  };
  writeFileSync(benchPath('results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeChart(results);
  if (failed.length > 0) {
    process.stderr.write(`wrong results: ${failed.map((r) => `${r.shape} ${r.name} (${r.maxRelError})`).join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();
