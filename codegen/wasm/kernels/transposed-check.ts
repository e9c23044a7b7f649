// The kernel tests' shared run of a matrix kernel on transposed activations (X^T in, Y^T out:
// tokens contiguous, as the sparse kernels read and write them; one token is the same bytes
// either way).

import { expect } from 'vitest';
import type { KernelInstance } from '../harness.js';
import { matmulRef, maxRelError, transpose } from './reference.js';
import type { SparseSpec } from './spmm.js';

/**
 * Run `spec.name(x, w, y)` once and return its error against matmulRef (with the spec's
 * epilogue). Checks that nothing is written past Y; `xGuard` values placed right after X^T
 * (e.g. NaN) catch a kernel that reads past its input.
 */
export function transposedError(
  inst: KernelInstance, spec: SparseSpec, X: Float32Array, W: Float32Array, blob: Uint8Array, bias: Float32Array | undefined, xGuard: number[] = [],
): number {
  const { M, K, N } = spec;
  const x = inst.put(Float32Array.from([...transpose(X, M, K), ...xGuard]));
  const w = inst.put(blob);
  const y = inst.alloc(M * N * 4 + 64);
  inst.f32(y, M * N + 16).fill(7);
  inst.fn(spec.name)(x, w, y);
  expect(Array.from(inst.f32(y + M * N * 4, 16))).toEqual(new Array(16).fill(7));
  const got = transpose(Float32Array.from(inst.f32(y, M * N)), N, M);
  return maxRelError(got, matmulRef(X, W, M, K, N, bias, spec.epilogue));
}
