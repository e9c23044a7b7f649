// The ONNX backend conformance suite as vitest tests: one test per ONNX test folder.
//
//   npx vitest run test/conformance/conformance.test.ts
//   CONFORMANCE_FILTER='^test_conv' npx vitest run test/conformance/conformance.test.ts
//
// CONFORMANCE_FILTER is a regex matched against the test name ('test_conv') and its id
// ('node/test_conv'). CONFORMANCE_CHECK_INFER=1 also runs inferTypes and fails tests whose
// inferred dtypes/shapes disagree with the computed tensors. CONFORMANCE_BACKEND=roundtrip|ort|
// ort-original runs the models another way (see backends.ts). Tests whose model uses an op, dtype or data kind sparsec does not
// support are reported as skipped (with the reason); a supported test fails when any output
// differs from ONNX's expected data (rtol 1e-3, atol 1e-7) or when anything throws.
// The suite skips itself when the data is absent (apt-get install libonnx-testdata, or point
// SPARSEC_ONNX_TESTDATA at a copy). For a one-line-per-test report use the CLI, main.ts.

import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, type BackendName } from './backends.js';
import { formatResult, formatSummary, summarize } from './report.js';
import { runConformanceTest, type TestResult } from './runner.js';
import { discoverTests, hasTestdata } from './suite.js';

/** Per test; the slowest test takes about 1 s today (the whole suite about 10 s). */
const TIMEOUT_MS = 20_000;

const filterSource = process.env['CONFORMANCE_FILTER'];
const filter = filterSource ? new RegExp(filterSource) : undefined;
const checkInference = process.env['CONFORMANCE_CHECK_INFER'] === '1';
const backendEnv = process.env['CONFORMANCE_BACKEND'] ?? 'reference';
if (!(BACKENDS as readonly string[]).includes(backendEnv)) throw new Error(`CONFORMANCE_BACKEND must be one of ${BACKENDS.join(', ')}`);
const backend = backendEnv as BackendName;
const available = hasTestdata();
const discovery = available ? discoverTests({ filter }) : undefined;
const results: TestResult[] = [];
const started = performance.now();

describe.skipIf(!available)('ONNX backend conformance', () => {
  const tests = discovery?.tests ?? [];
  if (tests.length === 0) {
    it('finds tests', () => {
      expect.fail(`no conformance test matches CONFORMANCE_FILTER=${filterSource ?? ''}`);
    });
  }
  for (const group of new Set(tests.map((t) => t.group))) {
    describe(group, () => {
      for (const test of tests.filter((t) => t.group === group)) {
        it(test.name, async (ctx) => {
          const r = await runConformanceTest(test, { checkInference, backend });
          results.push(r);
          if (r.status === 'unsupported') ctx.skip(r.reason);
          if (r.status !== 'pass' || r.inference) expect.fail(formatResult(r, true));
        }, TIMEOUT_MS);
      }
    });
  }
  afterAll(() => {
    if (results.length > 0) console.log(formatSummary(summarize(results, discovery?.skipped ?? [], performance.now() - started)));
  });
});
