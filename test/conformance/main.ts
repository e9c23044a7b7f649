// CLI of the ONNX backend conformance runner (`npm run conformance` after `npm run build`):
//
//   node dist/test/conformance/main.js [--json] [--filter REGEX] [--verbose] [--quiet]
//                                      [--jobs N] [--timeout SECONDS] [--group NAME]...
//                                      [--rtol R] [--atol A] [--check-infer]
//                                      [--backend reference|roundtrip|ort|ort-original|wasm|wasm-weights]
//                                      [--format auto|dense|csr|nm|bsr]
//
// Prints one line per test (pass / FAIL / ERROR / unsupported) in a stable order, then
// "passed X / supported Y / total Z". Exit status 1 when any supported test fails or errors.
// --json prints a machine-readable report instead. --check-infer also runs inferTypes and fails
// tests whose inferred dtypes/shapes disagree with the computed tensors. Test data root:
// $SPARSEC_ONNX_TESTDATA. --backend roundtrip runs each model after export + import, --backend
// ort runs the exported model with onnxruntime-node, --backend wasm the model built by the
// WebAssembly backend (see backends.ts), with --format's weight layout.

import { availableParallelism } from 'node:os';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInWorkers } from './pool.js';
import { formatResult, formatSummary, jsonReport, summarize, unsupportedOpCounts } from './report.js';
import { BACKENDS, type BackendName, type WasmFormat } from './backends.js';
import { ONNX_TOLERANCE, type Tolerance } from './compare.js';
import { runConformanceTest, type RunOptions, type TestResult } from './runner.js';
import { discoverTests, hasTestdata, testdataRoot, type ConformanceTest } from './suite.js';

export interface CliOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  filter?: RegExp;
  groups?: string[];
  /** Worker threads; 0 runs the tests in this thread (no timeouts). */
  jobs: number;
  timeoutS: number;
  /** Override ONNX's comparison tolerance (to probe how far off an op is). */
  tolerance?: Tolerance;
  /** Check inferred types against computed tensors; mismatches fail the run. */
  checkInference: boolean;
  backend: BackendName;
  /** Weight layout for the wasm backends. */
  wasmFormat?: WasmFormat;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const opts: CliOptions = { json: false, verbose: false, quiet: false, checkInference: false, backend: 'reference', jobs: Math.min(2, availableParallelism()), timeoutS: 60 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--json': opts.json = true; break;
      case '--verbose': case '-v': opts.verbose = true; break;
      case '--quiet': case '-q': opts.quiet = true; break;
      case '--check-infer': opts.checkInference = true; break;
      case '--backend': opts.backend = backendName(value()); break;
      case '--format': opts.wasmFormat = wasmFormat(value()); break;
      case '--filter': opts.filter = new RegExp(value()); break;
      case '--group': (opts.groups ??= []).push(value()); break;
      case '--jobs': case '-j': opts.jobs = nonNegativeInt(arg, value()); break;
      case '--timeout': opts.timeoutS = nonNegativeInt(arg, value()); break;
      case '--rtol': opts.tolerance = { ...(opts.tolerance ?? ONNX_TOLERANCE), rtol: nonNegativeNumber(arg, value()) }; break;
      case '--atol': opts.tolerance = { ...(opts.tolerance ?? ONNX_TOLERANCE), atol: nonNegativeNumber(arg, value()) }; break;
      default: throw new Error(`unknown option ${arg}`);
    }
  }
  return opts;
}

const WASM_FORMATS: readonly WasmFormat[] = ['auto', 'dense', 'csr', 'nm', 'bsr'];

function wasmFormat(s: string): WasmFormat {
  if (!(WASM_FORMATS as readonly string[]).includes(s)) throw new Error(`--format must be one of ${WASM_FORMATS.join(', ')}, got '${s}'`);
  return s as WasmFormat;
}

function backendName(s: string): BackendName {
  const known: readonly string[] = BACKENDS;
  if (!known.includes(s)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}, got '${s}'`);
  return s as BackendName;
}

function nonNegativeNumber(flag: string, s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number, got '${s}'`);
  return n;
}

function nonNegativeInt(flag: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got '${s}'`);
  return n;
}

/** Run the suite and print the report; returns the exit status. */
export async function run(argv: readonly string[], out = process.stdout, err = process.stderr): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    err.write(`conformance: ${(e as Error).message}\n`);
    return 2;
  }
  if (!hasTestdata()) {
    err.write(`conformance: no test data at ${testdataRoot()} (apt-get install libonnx-testdata, or set SPARSEC_ONNX_TESTDATA)\n`);
    return 2;
  }
  const { tests, skipped } = discoverTests({ filter: opts.filter, groups: opts.groups });
  if (tests.length === 0) {
    err.write(`conformance: no test matches${opts.filter ? ` --filter ${opts.filter.source}` : ''} under ${testdataRoot()}\n`);
    return 2;
  }
  const start = performance.now();
  const printer = orderedPrinter(tests, (r) => {
    if (opts.json || (opts.quiet && (r.status === 'pass' || r.status === 'unsupported') && !r.inference)) return;
    out.write(`${formatResult(r, opts.verbose)}\n`);
  });
  const runOpts: RunOptions = {
    checkInference: opts.checkInference, backend: opts.backend, ...(opts.tolerance ? { tolerance: opts.tolerance } : {}), ...(opts.wasmFormat ? { wasmFormat: opts.wasmFormat } : {}),
  };
  const results = opts.jobs === 0
    ? await runInThread(tests, runOpts, printer)
    : await runInWorkers(tests, { jobs: opts.jobs, timeoutMs: opts.timeoutS * 1000, run: runOpts, onResult: printer });
  const ms = performance.now() - start;
  const summary = summarize(results, skipped, ms);
  if (opts.json) {
    out.write(`${JSON.stringify(jsonReport(results, skipped, ms), null, 2)}\n`);
  } else {
    if (opts.verbose) {
      for (const s of skipped) out.write(`skipped     ${s.id}  ${s.reason}\n`);
      const ops = unsupportedOpCounts(results).map(([op, n]) => `${op} ${n}`);
      if (ops.length) out.write(`unsupported ops (tests blocked): ${ops.join(', ')}\n`);
    }
    out.write(`${formatSummary(summary)}\n`);
  }
  return summary.failed + summary.errors + summary.inferenceMismatches > 0 ? 1 : 0;
}

async function runInThread(tests: readonly ConformanceTest[], opts: RunOptions, onResult: (r: TestResult) => void): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const t of tests) {
    const r = await runConformanceTest(t, opts);
    onResult(r);
    results.push(r);
  }
  return results;
}

/** Emits results in test order although they finish out of order. */
function orderedPrinter(tests: readonly ConformanceTest[], emit: (r: TestResult) => void): (r: TestResult) => void {
  const position = new Map(tests.map((t, i) => [t.id, i]));
  const waiting = new Map<number, TestResult>();
  let nextToEmit = 0;
  return (r) => {
    waiting.set(position.get(r.id)!, r);
    while (waiting.has(nextToEmit)) {
      emit(waiting.get(nextToEmit)!);
      waiting.delete(nextToEmit++);
    }
  };
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await run(process.argv.slice(2));
}
