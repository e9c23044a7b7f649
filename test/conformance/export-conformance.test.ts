// The conformance suite once more, on the model sparsec exports (ai.onnx opset 21) run by
// onnxruntime-node: what sparsec writes must be valid ONNX that computes the same outputs.
// Kernels onnxruntime lacks and its known disagreements with the ONNX 1.12 data are skipped
// (backends.ts). Same environment variables as conformance.test.ts; CONFORMANCE_BACKEND=
// roundtrip checks export + re-import on the reference executor instead.

import { defineConformanceSuite, suiteOptionsFromEnv } from './vitest-suite.js';

defineConformanceSuite('ONNX conformance of exported models', suiteOptionsFromEnv('ort'));
