// The 'wasm' and 'wasm-weights' conformance backends: each test's model built by the
// WebAssembly backend and run through the runtime, the path users take (buildArtifacts ->
// load -> run). 'wasm-weights' first binds the inputs after the first as constants.
//
// The data sets fix the input shapes, so the model is built when the first data set arrives,
// with its inputs' shapes bound, and again only for a data set whose shapes differ. Lowering
// rewrites the model it is given, so each build starts from a fresh import of model.onnx; the
// runner binds data to the untouched graph it loaded. What the backend cannot lower is refused
// with UNSUPPORTED_OP (lower.ts: among others, outputs that are not float32, which the runtime
// cannot return) and counted as unsupported; so are inputs the runtime cannot take (it takes
// float32 and int64). Shapes that depend on input values (NON_STATIC_SHAPE) are a limit of the
// backend, counted as unsupported (backend).

import { loadModel } from '../../frontend/index.js';
import { buildArtifacts } from '../../codegen/artifacts.js';
import type { LowerOptions } from '../../codegen/lower.js';
import type { FormatOption } from '../../codegen/schedule.js';
import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import type { RuntimeValue } from '../../ir/opdef.js';
import { Tensor } from '../../ir/tensor.js';
import { load, type Feed, type Model as Runtime } from '../../runtime/index.js';
import { BackendLimitError, type PreparedModel } from './backends.js';
import { UnsupportedDataError } from './data.js';

export interface WasmBackendOptions {
  /**
   * Bind every graph input after the first to its data as a constant, as an exporter writes
   * weights: the ONNX tests pass Conv's and Gemm's weights as inputs, which the backend (built
   * for constant weights) refuses. The model is then built once per data set.
   */
  constantWeights?: boolean;
  /** Weight layout for every weight (lower's `format`): csr, nm or bsr reach the sparse kernels. */
  format?: FormatOption;
}

export function onWasm(graph: Graph, modelPath: string, opts: WasmBackendOptions = {}): PreparedModel {
  const built = new Map<string, Promise<Runtime>>();
  const live = opts.constantWeights ? new Set(graph.inputs.slice(0, 1).map((v) => v.name)) : undefined;
  return {
    graph,
    run: async (inputs) => {
      const weights = new Map([...inputs].filter(([name]) => live && !live.has(name)));
      const feeds = toFeeds(new Map([...inputs].filter(([name]) => !weights.has(name))), modelPath);
      const shapes = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, [...t.shape]]));
      const key = JSON.stringify(shapes);
      if (weights.size > 0) built.clear();
      if (!built.has(key)) built.set(key, build(modelPath, { shapes, format: opts.format ?? 'auto' }, weights));
      const runtime = await built.get(key)!;
      const got = runtime.run(feeds);
      return new Map(Object.entries(got).map(([name, t]) => [name, new Tensor('float32', [...t.shape], t.data)]));
    },
  };
}

async function build(modelPath: string, lowering: Pick<LowerOptions, 'shapes' | 'format'>, weights: ReadonlyMap<string, RuntimeValue>): Promise<Runtime> {
  const model = await loadModel(modelPath);
  bindConstants(model.graph, weights, modelPath);
  try {
    // Weights stay inside the module: no weights file to hand the runtime.
    const { files } = await buildArtifacts(model, { compilerVersion: 'conformance', name: 'model', ...lowering, externalWeightsBytes: Infinity });
    return await load(files.find((f) => f.name === 'model.wasm')!.bytes);
  } catch (e) {
    // The backend compiles for shapes, not values: a shape computed from an input's values
    // (Tile's repeats, Expand's shape, Range) is out of its reach, like a missing kernel.
    if (e instanceof SparsecError && e.diagnostic.code === 'NON_STATIC_SHAPE') {
      throw new BackendLimitError(`wasm backend: ${e.message}`);
    }
    throw e;
  }
}

/** Turn the named graph inputs into constants holding their data (ONNX initializers). */
function bindConstants(graph: Graph, values: ReadonlyMap<string, RuntimeValue>, file: string): void {
  for (const [name, t] of values) {
    const v = graph.inputs.find((x) => x.name === name)!;
    if (!(t instanceof Tensor)) throw new UnsupportedDataError(`'${name}' is not a tensor and cannot be a constant (${file})`);
    v.const = t;
    v.dtype = t.dtype;
    v.shape = [...t.shape];
    graph.constants.set(name, v);
    graph.inputs = graph.inputs.filter((x) => x !== v);
  }
}

function toFeeds(inputs: ReadonlyMap<string, RuntimeValue>, file: string): Record<string, { data: Float32Array | BigInt64Array; shape: number[] }> {
  const feeds: Record<string, { data: Float32Array | BigInt64Array; shape: number[] }> = {};
  for (const [name, v] of inputs) {
    if (!(v instanceof Tensor) || (v.dtype !== 'float32' && v.dtype !== 'int64')) {
      const what = v instanceof Tensor ? `a ${v.dtype} tensor` : 'not a tensor';
      throw error('UNSUPPORTED_DTYPE', `the wasm runtime takes float32 or int64 inputs; '${name}' is ${what}`, { file });
    }
    feeds[name] = { data: v.data as Float32Array | BigInt64Array, shape: [...v.shape] };
  }
  return feeds satisfies Record<string, Feed>;
}
