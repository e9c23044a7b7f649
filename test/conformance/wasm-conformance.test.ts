// The conformance suite through the WebAssembly backend (codegen/): each model built and run
// through the runtime (runtime/index.ts), as users run it (wasm-backend.ts). With the tests'
// inputs as they are ('wasm'), and with every input after the first bound as a constant
// ('wasm-weights': Conv's and Gemm's weights, Clip's bounds, Reshape's shape), as exporters
// write them; then the weighted tests (Gemm, Conv, MatMul, Linear) once more with every weight
// in the csr and in the bsr layout, so the sparse kernels meet the suite's odd shapes too.
// Models the backend cannot lower (ops, dtypes, shapes computed from input values) are skipped
// with the backend's reason; every model it builds must match the data within 1e-4 relative
// (the backend's promise for float32, stricter than the ONNX runner's 1e-3), and at least a
// floor of tests must pass, so a lowering that starts refusing everything fails here.
// CONFORMANCE_FILTER works as in conformance.test.ts (the floors then do not apply).

import type { WasmFormat } from './backends.js';
import { defineConformanceSuite, suiteOptionsFromEnv, type SuiteOptions } from './vitest-suite.js';

const WEIGHTED = /^test_(gemm|basic_conv|conv_with|matmul|Linear|operator_mm|operator_params|operator_basic)/;

/**
 * Measured 2026-11-24 (none failing): 105 of 1063 tests pass through 'wasm', 159 through
 * 'wasm-weights', and 22 of the 27 weighted ones in each sparse layout. The floors leave a
 * little room for a deliberate new refusal.
 */
const RUNS: { title: string; opts: Pick<SuiteOptions, 'backend' | 'minPassed'> & { wasmFormat?: WasmFormat; only?: RegExp } }[] = [
  { title: 'ONNX conformance, wasm backend', opts: { backend: 'wasm', minPassed: 100 } },
  { title: 'ONNX conformance, wasm backend, inputs after the first as constants', opts: { backend: 'wasm-weights', minPassed: 150 } },
  ...(['csr', 'bsr'] as const).map((wasmFormat) => ({
    title: `ONNX conformance, wasm backend, weights as constants in the ${wasmFormat} layout`,
    opts: { backend: 'wasm-weights' as const, wasmFormat, only: WEIGHTED, minPassed: 20 },
  })),
];

const { filter } = suiteOptionsFromEnv('wasm');
for (const { title, opts: { only, minPassed, ...opts } } of RUNS) {
  const scope = filter ?? only;
  defineConformanceSuite(title, {
    ...opts,
    ...(filter ? {} : { minPassed }),
    checkInference: false,
    tolerance: { rtol: 1e-4, atol: 1e-7 },
    ...(scope ? { filter: scope } : {}),
  });
}
