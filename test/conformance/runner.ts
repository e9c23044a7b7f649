// Runs one conformance test: sparsec's frontend loads the model, a backend (the reference
// executor by default, see backends.ts) runs it on each data set.
//
// A test is SUPPORTED when its model loads, no node lacks an executor definition, and its data
// (tensors, sequences of tensors, optionals) can be read. A supported test passes when every
// data set's outputs match the expected ones (compare.ts, adjusted per test by expectations.ts).
// Any other exception is an 'error': a bug, counted as a failure.

import { loadModel } from '../../frontend/index.js';
import { SparsecError, type DiagnosticCode } from '../../ir/diagnostics.js';
import { unsupportedNodes } from '../../ir/executor/index.js';
import type { DType } from '../../ir/dtype.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import type { RuntimeValue } from '../../ir/opdef.js';
import type { Tensor } from '../../ir/tensor.js';
import { BackendLimitError, knownBackendDeviation, prepare, type BackendName, type PreparedModel, type ValueHook, type WasmFormat } from './backends.js';
import { compareTensors, compareTypes, compareValues, compareZeroOrOne, type Mismatch, type Tolerance } from './compare.js';
import { readTestValue, UnsupportedDataError } from './data.js';
import { InferenceCheck } from './inference-check.js';
import { expectationFor, type Expectation } from './expectations.js';
import type { ConformanceTest, DataSet } from './suite.js';

export type TestStatus = 'pass' | 'fail' | 'unsupported' | 'error';

/**
 * Why a test is out of scope: an op or dtype sparsec lacks, data it cannot express, or (with
 * the onnxruntime backends) something onnxruntime lacks.
 */
export type UnsupportedKind = 'op' | 'dtype' | 'opset' | 'data' | 'backend';

export interface TestResult {
  readonly id: string;
  readonly name: string;
  readonly group: string;
  readonly status: TestStatus;
  /** One line: the mismatch, the unsupported ops, or the exception message. */
  readonly reason?: string;
  readonly unsupportedKind?: UnsupportedKind;
  /** For unsupported ops: their op types (domain-qualified outside ai.onnx), sorted. */
  readonly unsupportedOps?: string[];
  /** For failures: where and how the first differing output differs. */
  readonly mismatch?: Mismatch & { readonly dataSet: number; readonly output: string };
  /** With RunOptions.checkInference: the first disagreement of inferred and computed types. */
  readonly inference?: string;
  /** Stack of an internal error, for --verbose. */
  readonly stack?: string;
  readonly ms: number;
}

export interface RunOptions {
  tolerance?: Tolerance;
  /** Also run inferTypes and check every computed tensor against its value's inferred type. */
  checkInference?: boolean;
  /** What runs the model (see backends.ts); default 'reference'. */
  backend?: BackendName;
  /** Weight layout for the wasm backends (default 'auto'). */
  wasmFormat?: WasmFormat;
}

/** SparsecError codes that mean "sparsec does not cover this" rather than "sparsec is wrong". */
const UNSUPPORTED_CODES: ReadonlyMap<DiagnosticCode, UnsupportedKind> = new Map([
  ['UNSUPPORTED_OP', 'op'],
  ['UNSUPPORTED_DTYPE', 'dtype'],
  ['OPSET_UNSUPPORTED', 'opset'],
] as const);

type Outcome = Omit<TestResult, 'id' | 'name' | 'group' | 'ms'>;

export async function runConformanceTest(test: ConformanceTest, opts: RunOptions = {}): Promise<TestResult> {
  const start = performance.now();
  let outcome: Outcome;
  try {
    outcome = await runChecked(test, expectationFor(test.name, opts.tolerance), opts);
  } catch (e) {
    outcome = classifyException(e);
  }
  const deviation = knownBackendDeviation(opts.backend ?? 'reference', test.name);
  if (deviation && outcome.status === 'fail') {
    outcome = { status: 'unsupported', unsupportedKind: 'backend', reason: `known backend deviation: ${deviation} (${outcome.reason})` };
  }
  return { id: test.id, name: test.name, group: test.group, ...outcome, ms: performance.now() - start };
}

async function runChecked(test: ConformanceTest, expect: Expectation, opts: RunOptions): Promise<Outcome> {
  const model = await loadModel(test.modelPath);
  const graph = model.graph;
  const missing = unsupportedNodes(graph);
  if (missing.length > 0) {
    const ops = describeOps(missing);
    return { status: 'unsupported', unsupportedKind: 'op', unsupportedOps: ops, reason: `unsupported ops: ${ops.join(', ')}` };
  }
  if (expect.relaxInputShapes) for (const v of graph.inputs) v.shape = undefined;
  const backend = opts.backend ?? 'reference';
  const prepared = await prepare(backend, model, test.modelPath, opts.wasmFormat);
  // onnxruntime exposes no intermediate values to check inferred types against.
  const check = opts.checkInference && !backend.startsWith('ort') ? new InferenceCheck(prepared.graph) : undefined;
  const withInference = (o: Outcome): Outcome => {
    const inference = check?.summary();
    return inference ? { ...o, inference } : o;
  };
  for (const [k, ds] of test.dataSets.entries()) {
    const mismatch = await runDataSet(prepared, ds, expect, check?.onValue);
    if (mismatch) {
      return withInference({ status: 'fail', reason: `data set ${k}, output '${mismatch.output}': ${mismatch.reason}`, mismatch: { ...mismatch, dataSet: k } });
    }
  }
  return withInference(expect.why ? { status: 'pass', reason: `adjusted: ${expect.why}` } : { status: 'pass' });
}

/** Run one data set; undefined when every output matches. */
async function runDataSet(
  prepared: PreparedModel,
  ds: DataSet,
  expect: Expectation,
  onValue?: ValueHook,
): Promise<(Mismatch & { output: string }) | undefined> {
  const graph = prepared.graph;
  if (ds.outputs.length !== graph.outputs.length) {
    throw new Error(`the data set has ${ds.outputs.length} outputs but the graph has ${graph.outputs.length}`);
  }
  const inputs = bindInputs(graph, ds.inputs);
  const results = await prepared.run(inputs, onValue);
  const compareTensor = (e: Tensor, a: Tensor): Mismatch | undefined => {
    switch (expect.compare) {
      case 'values': return compareTensors(e, a, expect.tolerance);
      case 'zero-or-one': return compareZeroOrOne(e, a);
      case 'shape-only': return compareTypes(e, a);
    }
  };
  for (const [k, path] of ds.outputs.entries()) {
    const out = graph.outputs[k]!;
    const expected = readTestValue(path, out.kind, declaredDtype(out)).value;
    const mismatch = compareValues(expected, results.get(out.name), compareTensor);
    if (mismatch) return { ...mismatch, output: out.name };
  }
  return undefined;
}

/**
 * ONNX binds input_K to the K-th graph input that has no initializer. The .pb usually carries
 * the input's name too; prefer it, and fall back to position for unnamed data.
 */
function bindInputs(graph: Graph, paths: readonly string[]): Map<string, RuntimeValue> {
  const byName = new Map<string, Value>(graph.inputs.map((v) => [v.name, v]));
  const bound = new Map<string, RuntimeValue>();
  paths.forEach((path, k) => {
    const positional = graph.inputs[k];
    const first = readTestValue(path, positional?.kind ?? 'tensor', positional && declaredDtype(positional));
    const target = byName.get(first.name) ?? positional;
    if (!target) throw new Error(`input_${k}.pb ('${first.name}') matches no graph input (graph has ${graph.inputs.length})`);
    const value = target === positional ? first.value : readTestValue(path, target.kind, declaredDtype(target)).value;
    bound.set(target.name, value);
  });
  return bound;
}

function declaredDtype(v: Value): DType | undefined {
  return v.kind === 'tensor' ? v.dtype : v.elemDtype;
}

function describeOps(nodes: readonly Node[]): string[] {
  const names = new Set(nodes.map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType)));
  return [...names].sort();
}

function classifyException(e: unknown): Outcome {
  if (e instanceof BackendLimitError) return { status: 'unsupported', unsupportedKind: 'backend', reason: firstLine(e.message) };
  if (e instanceof UnsupportedDataError) return { status: 'unsupported', unsupportedKind: 'data', reason: `test data: ${e.message}` };
  if (e instanceof SparsecError) {
    const kind = UNSUPPORTED_CODES.get(e.diagnostic.code);
    const reason = firstLine(e.message);
    if (kind) {
      const opType = e.diagnostic.location?.opType;
      return { status: 'unsupported', unsupportedKind: kind, reason, ...(kind === 'op' && opType ? { unsupportedOps: [opType] } : {}) };
    }
    return { status: 'error', reason, stack: e.stack };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { status: 'error', reason: `${err.name}: ${firstLine(err.message)}`, stack: err.stack };
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl < 0 ? s : s.slice(0, nl);
}
