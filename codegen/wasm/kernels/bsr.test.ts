import { describe, expect, test } from 'vitest';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { blockStats, emitBsr, packBsr } from './bsr.js';
import { matmulRef, maxRelError, pruneBlocks4x1, randomFloats, transpose, reluIf } from './reference.js';
import type { SparseSpec } from './spmm.js';

/** Build, validate and run the kernel on random data; returns its error against the reference. */
async function check(spec: SparseSpec, sparsity: number, seed: number): Promise<number> {
  const { M, K, N } = spec;
  const X = randomFloats(M * K, seed);
  const W = pruneBlocks4x1(randomFloats(K * N, seed + 1), K, N, sparsity);
  const bias = spec.bias ? randomFloats(N, seed + 2) : undefined;
  const packed = packBsr(spec, W, bias);
  const m = new WasmModule();
  emitBsr(m, spec, packed.offsets);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const x = inst.put(transpose(X, M, K));
  const w = inst.put(packed.blob);
  const y = inst.alloc(M * N * 4 + 64);
  inst.f32(y, M * N + 16).fill(7);
  inst.fn(spec.name)(x, w, y);
  // Nothing written past Y (ragged block rows store only their real channels).
  expect(Array.from(inst.f32(y + M * N * 4, 16))).toEqual(new Array(16).fill(7));
  const got = transpose(Float32Array.from(inst.f32(y, M * N)), N, M);
  return maxRelError(got, matmulRef(X, W, M, K, N, bias, spec.epilogue));
}

describe('block-sparse 4x1 kernels', () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 6], [1, 33, 17], [1, 300, 12], [2, 5, 3], [3, 16, 9], [4, 8, 4], [7, 12, 5], [8, 20, 8], [13, 9, 10], [45, 33, 17], [64, 24, 10], [70, 8, 3]];
  for (const [M, K, N] of shapes) {
    test(`${M}x${K}x${N} at 0/80/100% block sparsity, with and without bias+ReLU`, async () => {
      for (const sparsity of [0, 0.8, 1]) {
        for (const fused of [false, true]) {
          const err = await check({ name: 'bsr', M, K, N, bias: fused, epilogue: reluIf(fused) }, sparsity, M * 31 + K * N);
          expect(err).toBeLessThan(1e-4);
        }
      }
    });
  }

  test('storage: 16 bytes of values and a 16-bit input channel per kept block, lists padded to 4 blocks', () => {
    const K = 64, N = 32;
    const W = pruneBlocks4x1(randomFloats(K * N, 5), K, N, 0.8);
    const stats = blockStats(W, K, N);
    expect(stats.blockDensity).toBeCloseTo(0.2, 2);
    const packed = packBsr({ name: 'b', M: 1, K, N }, W);
    expect(packed.offsets.kBytes).toBe(2);
    const padded = (N / 4) * 3; // at most 3 padding blocks per block row
    expect(packed.blob.length).toBeGreaterThanOrEqual(stats.kept * 18);
    expect(packed.blob.length).toBeLessThanOrEqual((stats.kept + padded) * 18 + (N / 4) * 4 + 64);
  });

  test('a block counts as kept when any of its channels is nonzero; a ragged last block has fewer channels', () => {
    const K = 2, N = 5;
    const W = new Float32Array(K * N);
    W[0 * N + 2] = 1; // block 0 of input 0
    W[1 * N + 4] = 1; // block 1 (channel 4 alone) of input 1
    expect(blockStats(W, K, N)).toEqual({ blockDensity: 2 / 4, kept: 2 });
  });
});
