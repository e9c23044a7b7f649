// What runs a loaded model on a test's inputs. The conformance data checks more than the
// reference executor when the model takes a detour first:
//   reference  the IR as imported, run by the reference executor (the default);
//   roundtrip  the IR exported to ONNX bytes and imported again, then run by the executor:
//              checks that export + import keep the function;
//   ort        the IR exported (opset 21) and run by onnxruntime-node: checks that what sparsec
//              writes is valid ONNX that another runtime reads the same way;
//   ort-original  the test's own model.onnx run by onnxruntime-node, sparsec not involved: the
//              baseline that tells an export bug ('ort' fails, this passes) from a difference
//              between onnxruntime and the ONNX 1.12 data (both fail).
//   wasm       the model built by the WebAssembly backend (codegen/artifacts.ts, input shapes
//              bound to the data set's) and run through the runtime users load it with
//              (runtime/index.ts); what the backend cannot lower is refused as unsupported.
//   wasm-weights  the same with every input after the first bound to its data as a constant,
//              as exporters write weights: reaches the Conv, Gemm and constant-operand kernels.

import { readFile } from 'node:fs/promises';
import { decodeModel, encodeModel } from '../../frontend/index.js';
import { executeValues } from '../../ir/executor/index.js';
import type { FormatOption } from '../../codegen/schedule.js';
import type { Graph, Model, Value } from '../../ir/graph.js';
import type { RuntimeValue } from '../../ir/opdef.js';
import { Tensor } from '../../ir/tensor.js';
import { UnsupportedDataError } from './data.js';

export const BACKENDS = ['reference', 'roundtrip', 'ort', 'ort-original', 'wasm', 'wasm-weights'] as const;
export type BackendName = (typeof BACKENDS)[number];

export type ValueHook = (v: Value, t: Tensor) => void;

export interface PreparedModel {
  /** The graph whose inputs and outputs the data binds to (and whose values onValue sees). */
  readonly graph: Graph;
  run(inputs: ReadonlyMap<string, RuntimeValue>, onValue?: ValueHook): Promise<Map<string, RuntimeValue>>;
}

/** The backend cannot run this (onnxruntime: a kernel or data type it lacks; wasm: a data-dependent shape), whatever the model's op support. */
export class BackendLimitError extends Error {
  override name = 'BackendLimitError';
}

/** Weight layout for the wasm backends (default: the cost model's pick, which is dense for these small dense weights). */
export type WasmFormat = FormatOption;

export async function prepare(backend: BackendName, model: Model, modelPath: string, wasmFormat: WasmFormat = 'auto'): Promise<PreparedModel> {
  switch (backend) {
    case 'reference':
      return onExecutor(model.graph);
    case 'roundtrip':
      return onExecutor(decodeModel(encodeModel(model)).graph);
    case 'ort':
      return onOrt(model.graph, encodeModel(model));
    case 'ort-original':
      return onOrt(model.graph, new Uint8Array(await readFile(modelPath)));
    case 'wasm':
      // Loaded only when chosen: the codegen brings binaryen (tens of MB) with it.
      return (await import('./wasm-backend.js')).onWasm(model.graph, modelPath, { format: wasmFormat });
    case 'wasm-weights':
      return (await import('./wasm-backend.js')).onWasm(model.graph, modelPath, { constantWeights: true, format: wasmFormat });
  }
}

function onExecutor(graph: Graph): PreparedModel {
  return {
    graph,
    run: async (inputs, onValue) => executeValues(graph, inputs, onValue ? { onValue } : undefined),
  };
}

// ---- onnxruntime-node (a devDependency: loaded only when this backend is chosen) ----

type Ort = typeof import('onnxruntime-node');
type OrtTensor = import('onnxruntime-node').Tensor;

/** Element types the onnxruntime JS API can carry (bfloat16 and the float8 kinds cannot). */
const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

/** onnxruntime messages that mean "not implemented here" rather than "this model is wrong". */
const ORT_LIMITS = [
  /Could not find an implementation for/,
  /Unsupported data type/,
  /Non tensor type is temporarily not supported/,
  // StringNormalizer needs a locale (en_US.UTF-8) the machine may not have installed.
  /StringNormalizer::Locale/,
  /Batchwise recurrent operations \(layout == 1\) are not supported/,
];

/**
 * Tests where onnxruntime itself disagrees with the ONNX 1.12 data (they fail under
 * 'ort-original' too), so a failure under the onnxruntime backends says nothing about sparsec.
 */
const ORT_DEVIATIONS = new Map<string, string>([
  ...['test_cast_FLOAT_to_STRING', 'test_castlike_FLOAT_to_STRING', 'test_castlike_FLOAT_to_STRING_expanded'].map(
    (n): [string, string] => [n, 'onnxruntime prints floats with more digits than numpy'],
  ),
  ...['test_dft', 'test_dft_axis', 'test_dft_inverse', 'test_stft', 'test_stft_with_window'].map(
    (n): [string, string] => [n, 'onnxruntime\'s float32 FFT leaves ~1e-4 where the data has exact zeros (atol 1e-7)'],
  ),
  ['test_maxunpool_export_with_output_shape', 'onnxruntime places values differently when output_shape pads the output'],
  ['test_resize_downsample_scales_cubic_align_corners', 'onnxruntime and ONNX 1.12 disagree on align_corners downsampling'],
  ['test_resize_downsample_scales_linear_align_corners', 'onnxruntime and ONNX 1.12 disagree on align_corners downsampling'],
]);

/** Why `testName` is known to fail on `backend` whatever sparsec does, or undefined. */
export function knownBackendDeviation(backend: BackendName, testName: string): string | undefined {
  return backend.startsWith('ort') ? ORT_DEVIATIONS.get(testName) : undefined;
}

async function onOrt(graph: Graph, bytes: Uint8Array): Promise<PreparedModel> {
  const ort: Ort = await import('onnxruntime-node');
  // Deprecation warnings would drown the report; failures still surface as exceptions.
  ort.env.logLevel = 'fatal';
  const session = await asBackendLimit(() =>
    ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, logSeverityLevel: 4 }),
  );
  return {
    graph,
    run: async (inputs) => {
      const feeds: Record<string, OrtTensor> = {};
      for (const [name, v] of inputs) feeds[name] = toOrt(ort, v, name);
      const fetched = await asBackendLimit(() => session.run(feeds));
      return new Map(Object.entries(fetched).map(([name, t]) => [name, fromOrt(t, name)]));
    },
  };
}

async function asBackendLimit<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (ORT_LIMITS.some((re) => re.test(message))) throw new BackendLimitError(`onnxruntime: ${message}`);
    throw e;
  }
}

function toOrt(ort: Ort, v: RuntimeValue, name: string): OrtTensor {
  if (!(v instanceof Tensor)) throw new UnsupportedDataError(`onnxruntime's JS API takes only tensors ('${name}' is not one)`);
  if (!ORT_TYPES.has(v.dtype)) throw new UnsupportedDataError(`onnxruntime's JS API has no ${v.dtype} tensors ('${name}')`);
  return new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, [...v.shape]);
}

function fromOrt(t: OrtTensor, name: string): Tensor {
  if (!ORT_TYPES.has(t.type)) throw new UnsupportedDataError(`onnxruntime returned ${t.type} for '${name}'`);
  return new Tensor(t.type as Tensor['dtype'], [...t.dims], t.data as Tensor['data']);
}
