// The 'wasm' conformance backend: each test's model built by the WebAssembly backend and run
// through the runtime, the path users take (buildArtifacts -> load -> run).
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
import { error, SparsecError } from '../../ir/diagnostics.js';
import type { Graph } from '../../ir/graph.js';
import type { RuntimeValue } from '../../ir/opdef.js';
import { Tensor } from '../../ir/tensor.js';
import { load, type Feed, type Model as Runtime } from '../../runtime/index.js';
import { BackendLimitError, type PreparedModel } from './backends.js';

export function onWasm(graph: Graph, modelPath: string): PreparedModel {
  const built = new Map<string, Promise<Runtime>>();
  return {
    graph,
    run: async (inputs) => {
      const feeds = toFeeds(inputs, modelPath);
      const shapes = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, [...t.shape]]));
      const key = JSON.stringify(shapes);
      if (!built.has(key)) built.set(key, build(modelPath, shapes));
      const runtime = await built.get(key)!;
      const got = runtime.run(feeds);
      return new Map(Object.entries(got).map(([name, t]) => [name, new Tensor('float32', [...t.shape], t.data)]));
    },
  };
}

async function build(modelPath: string, shapes: Record<string, number[]>): Promise<Runtime> {
  const model = await loadModel(modelPath);
  try {
    // Weights stay inside the module: no weights file to hand the runtime.
    const { files } = await buildArtifacts(model, { compilerVersion: 'conformance', name: 'model', shapes, externalWeightsBytes: Infinity });
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
