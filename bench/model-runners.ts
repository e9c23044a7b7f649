// Whole-model contenders for bench/models.ts: one ONNX model (as bytes) run by sparsec's built
// WASM artifact, onnxruntime-web (WASM backend, one thread) and onnxruntime-node (CPU, one
// intra-op thread). Each runner binds its feed once and returns the first output after a run.

import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { buildArtifacts, type Manifest } from '../codegen/artifacts.js';
import { decodeModel } from '../frontend/index.js';
import { load, type Feed } from '../runtime/index.js';

export type FeedData = Float32Array | BigInt64Array;

export interface ModelRunner {
  run: () => unknown;
  /** The model's first output after one more run. */
  output: () => Promise<Float32Array>;
}

export interface SparsecRunner extends ModelRunner {
  manifest: Manifest;
  buildMs: number;
  /** The built artifact's files (for the code-size figure). */
  files: readonly { name: string; bytes: Uint8Array }[];
}

/** Build `bytes` in memory (layouts auto, shapes bound) and load the artifact through the runtime. */
export async function sparsecRunner(bytes: Uint8Array, input: string, shape: number[], data: FeedData): Promise<SparsecRunner> {
  const t0 = performance.now();
  const built = await buildArtifacts(decodeModel(bytes), { compilerVersion: 'bench', name: 'model', shapes: { [input]: shape }, format: 'auto' });
  const buildMs = performance.now() - t0;
  const file = (suffix: string) => built.files.find((f) => f.name.endsWith(suffix))?.bytes;
  const weights = file('.weights.bin');
  const model = await load(file('.wasm')!, weights ? { weights } : {});
  const feeds: Record<string, Feed> = { [input]: data };
  const out = model.outputs[0]!.name;
  return {
    run: () => model.run(feeds),
    output: async () => model.run(feeds)[out]!.data,
    manifest: built.manifest,
    buildMs,
    files: built.files,
  };
}

const dtypeOf = (data: FeedData) => (data instanceof BigInt64Array ? 'int64' : 'float32');

export async function ortWebModelRunner(bytes: Uint8Array, input: string, shape: number[], data: FeedData): Promise<ModelRunner> {
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.logLevel = 'error';
  const session = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feeds = { [input]: new ortWeb.Tensor(dtypeOf(data), data, shape) };
  const out = session.outputNames[0]!;
  return {
    run: () => session.run(feeds),
    output: async () => (await session.run(feeds))[out]!.data as Float32Array,
  };
}

export async function ortNodeModelRunner(bytes: Uint8Array, input: string, shape: number[], data: FeedData): Promise<ModelRunner> {
  const session = await ortNode.InferenceSession.create(bytes, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
  });
  const feeds = { [input]: new ortNode.Tensor(dtypeOf(data), data, shape) };
  const out = session.outputNames[0]!;
  return {
    run: () => session.run(feeds),
    output: async () => (await session.run(feeds))[out]!.data as Float32Array,
  };
}
