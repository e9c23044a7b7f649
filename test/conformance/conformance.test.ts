// The ONNX backend conformance suite as vitest tests: one test per ONNX test folder, run by
// the reference executor.
//
//   npx vitest run test/conformance/conformance.test.ts
//   CONFORMANCE_FILTER='^test_conv' npx vitest run test/conformance/conformance.test.ts
//
// CONFORMANCE_FILTER is a regex matched against the test name ('test_conv') and its id
// ('node/test_conv'). CONFORMANCE_CHECK_INFER=1 also runs inferTypes and fails tests whose
// inferred dtypes/shapes disagree with the computed tensors. CONFORMANCE_BACKEND=roundtrip|ort|
// ort-original runs the models another way (see backends.ts). Tests whose model uses an op,
// dtype or data kind sparsec does not support are reported as skipped (with the reason); a
// supported test fails when any output differs from ONNX's expected data (rtol 1e-3, atol
// 1e-7) or when anything throws. The suite skips itself when the data is absent (apt-get
// install libonnx-testdata, or point SPARSEC_ONNX_TESTDATA at a copy). For a one-line-per-test
// report use the CLI, main.ts.

import { defineConformanceSuite, suiteOptionsFromEnv } from './vitest-suite.js';

defineConformanceSuite('ONNX backend conformance', suiteOptionsFromEnv('reference'));
