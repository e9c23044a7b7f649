// The conformance suite once more, each model built by the WebAssembly backend (codegen/) and
// run through the runtime (runtime/index.ts), as users run it (wasm-backend.ts). Models the
// backend cannot lower (ops, dtypes, shapes computed from input values) are skipped with the
// backend's reason; every model it builds must match the data within 1e-4 relative (the
// backend's promise for float32, stricter than the ONNX runner's 1e-3), and at least MIN_PASSED
// tests must pass through it, so a lowering that starts refusing everything fails here.
// Same environment variables as conformance.test.ts.

import { defineConformanceSuite, suiteOptionsFromEnv } from './vitest-suite.js';

/**
 * Measured 2026-11-24: 105 of the 1063 tests pass through the wasm backend, none fail. The
 * floor leaves a little room for a deliberate new refusal; losing more is a regression.
 */
const MIN_PASSED = 100;

defineConformanceSuite('ONNX conformance of wasm-built models', {
  ...suiteOptionsFromEnv('wasm'),
  tolerance: { rtol: 1e-4, atol: 1e-7 },
  minPassed: MIN_PASSED,
});
