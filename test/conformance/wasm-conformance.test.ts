// The conformance suite through the WebAssembly backend (codegen/): each model built and run
// through the runtime (runtime/index.ts), as users run it (wasm-backend.ts). Twice: with the
// tests' inputs as they are ('wasm'), and with every input after the first bound as a constant
// ('wasm-weights': Conv's and Gemm's weights, Clip's bounds, Reshape's shape), as exporters
// write them. Models the backend cannot lower (ops, dtypes, shapes computed from input values)
// are skipped with the backend's reason; every model it builds must match the data within 1e-4
// relative (the backend's promise for float32, stricter than the ONNX runner's 1e-3), and at
// least a floor of tests must pass, so a lowering that starts refusing everything fails here.
// CONFORMANCE_FILTER works as in conformance.test.ts (the floors then do not apply).

import { defineConformanceSuite, suiteOptionsFromEnv } from './vitest-suite.js';

/**
 * Measured 2026-11-24 (of 1063 tests, none failing): 105 pass through 'wasm', 159 through
 * 'wasm-weights'. The floors leave a little room for a deliberate new refusal.
 */
const MIN_PASSED = { wasm: 100, 'wasm-weights': 150 } as const;

const { filter } = suiteOptionsFromEnv('wasm');
for (const backend of ['wasm', 'wasm-weights'] as const) {
  defineConformanceSuite(backend === 'wasm' ? 'ONNX conformance, wasm backend' : 'ONNX conformance, wasm backend, inputs after the first as constants', {
    backend,
    checkInference: false,
    ...(filter ? { filter } : {}),
    tolerance: { rtol: 1e-4, atol: 1e-7 },
    minPassed: MIN_PASSED[backend],
  });
}
