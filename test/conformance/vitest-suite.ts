// Declares the conformance tests as vitest tests (used by the *.test.ts files here): one test
// per ONNX test folder, grouped by folder group. A test whose ops sparsec does not support
// passes when sparsec refuses it cleanly (an UNSUPPORTED_* diagnostic, which is the promised
// behaviour) and is counted as unsupported in the summary; anything else must match the data.

import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, type BackendName, type WasmFormat } from './backends.js';
import { formatResult, formatSummary, summarize } from './report.js';
import type { Tolerance } from './compare.js';
import { runConformanceTest, type TestResult } from './runner.js';
import { discoverTests, hasTestdata } from './suite.js';

/** Per test; the slowest test takes about 1 s today (the whole suite about 10 s). */
const TIMEOUT_MS = 20_000;

export interface SuiteOptions {
  backend: BackendName;
  checkInference: boolean;
  filter?: RegExp;
  /** Weight layout for the wasm backends (default 'auto'). */
  wasmFormat?: WasmFormat;
  /** Output tolerance; default the ONNX runner's (compare.ts). */
  tolerance?: Tolerance;
  /**
   * At least this many of the selected tests must pass: a backend that refuses everything as
   * unsupported has no failures, and this catches it (leave it out under a user's filter).
   */
  minPassed?: number;
}

/** Options from CONFORMANCE_FILTER, CONFORMANCE_CHECK_INFER and CONFORMANCE_BACKEND. */
export function suiteOptionsFromEnv(defaultBackend: BackendName): SuiteOptions {
  const filter = process.env['CONFORMANCE_FILTER'];
  const backend = process.env['CONFORMANCE_BACKEND'] ?? defaultBackend;
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new Error(`CONFORMANCE_BACKEND must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
  }
  return {
    backend: backend as BackendName,
    checkInference: process.env['CONFORMANCE_CHECK_INFER'] === '1',
    ...(filter ? { filter: new RegExp(filter) } : {}),
  };
}

export function defineConformanceSuite(title: string, opts: SuiteOptions): void {
  const available = hasTestdata();
  const discovery = available ? discoverTests({ filter: opts.filter }) : undefined;
  const results: TestResult[] = [];
  const started = performance.now();

  // A developer machine without Debian's libonnx-testdata skips the suite with a note; CI
  // installs it (.ci/run), so there a missing suite is a failure, not a silent skip.
  if (!available && process.env['CI']) {
    it(title, () => expect.fail('ONNX test data not found: apt-get install libonnx-testdata (or set SPARSEC_ONNX_TESTDATA)'));
    return;
  }
  describe.skipIf(!available)(title, () => {
    const tests = discovery?.tests ?? [];
    if (tests.length === 0) {
      it('finds tests', () => {
        expect.fail(`no conformance test matches CONFORMANCE_FILTER=${opts.filter?.source ?? ''}`);
      });
    }
    for (const group of new Set(tests.map((t) => t.group))) {
      describe(group, () => {
        for (const test of tests.filter((t) => t.group === group)) {
          it(test.name, async () => {
            const r = await runConformanceTest(test, {
              checkInference: opts.checkInference, backend: opts.backend, ...(opts.tolerance ? { tolerance: opts.tolerance } : {}),
              ...(opts.wasmFormat ? { wasmFormat: opts.wasmFormat } : {}),
            });
            results.push(r);
            if (r.status === 'unsupported') {
              // Refused up front with the ops it lacks: nothing ran, nothing to compare.
              expect(r.unsupportedKind).toBeDefined();
              return;
            }
            if (r.status !== 'pass' || r.inference) expect.fail(formatResult(r, true));
          }, TIMEOUT_MS);
        }
      });
    }
    const minPassed = opts.minPassed;
    // Declared last, so it runs after every test above (a file's tests run in order).
    if (minPassed !== undefined && tests.length > 0) {
      it(`passes at least ${minPassed} tests`, () => {
        expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThanOrEqual(minPassed);
      });
    }
    afterAll(() => {
      if (results.length === 0) return;
      const summary = formatSummary(summarize(results, discovery?.skipped ?? [], performance.now() - started));
      console.log(`${title} (${opts.backend}): ${summary}`);
    });
  });
}
