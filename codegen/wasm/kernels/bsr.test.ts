import { describe, expect, test } from 'vitest';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitBsr } from './bsr.js';
import { BLOCK_SHAPES, blockShape, blockStats, packBsr, type BlockLabel } from './bsr-format.js';
import { pruneBlocks, randomFloats, reluIf } from './reference.js';
import { transposedError } from './transposed-check.js';
import type { SparseSpec } from './spmm.js';

/** Build, validate and run the kernel on W; returns its error against the reference. */
async function run(spec: SparseSpec, label: BlockLabel, W: Float32Array, seed: number): Promise<number> {
  const { M, K, N } = spec;
  const X = randomFloats(M * K, seed);
  const bias = spec.bias ? randomFloats(N, seed + 2) : undefined;
  const packed = packBsr(spec, W, bias, label);
  const m = new WasmModule();
  emitBsr(m, spec, packed.offsets, label);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  // NaN right after X^T: a kernel reading past its inputs would poison the result; ragged block
  // rows must store only their real channels.
  return transposedError(inst, spec, X, W, packed.blob, bias, new Array(8).fill(NaN));
}

function pruned(label: BlockLabel, K: number, N: number, sparsity: number, seed: number): Float32Array {
  const { rows, cols } = blockShape(label);
  return pruneBlocks(randomFloats(K * N, seed), K, N, rows, cols, sparsity);
}

// Odd and ragged sizes (K, N not multiples of the block), K below a block's 4 inputs, and
// vector-wide token counts with scalar tails.
const SHAPES: [number, number, number][] = [[1, 1, 1], [1, 3, 6], [1, 7, 6], [1, 33, 17], [1, 300, 12], [2, 5, 3], [3, 16, 9], [4, 8, 4], [7, 12, 5], [8, 20, 8], [13, 9, 10], [45, 33, 17], [64, 24, 10], [70, 8, 3]];

for (const label of BLOCK_SHAPES) {
  describe(`block-sparse ${label} kernels`, () => {
    for (const [M, K, N] of SHAPES) {
      test(`${M}x${K}x${N} at 0/80/100% block sparsity, with and without bias+ReLU`, async () => {
        for (const sparsity of [0, 0.8, 1]) {
          for (const fused of [false, true]) {
            const seed = M * 31 + K * N;
            const err = await run({ name: 'bsr', M, K, N, bias: fused, epilogue: reluIf(fused) }, label, pruned(label, K, N, sparsity, seed + 1), seed);
            expect(err, `${sparsity} ${fused}`).toBeLessThan(1e-4);
          }
        }
      });
    }

    test('empty block rows next to full ones', async () => {
      const { rows } = blockShape(label);
      const [K, N] = [19, 3 * rows + 1];
      const W = pruned(label, K, N, 0.5, 3);
      // Block rows 0 and 2 empty, 1 dense, the ragged last one as pruned.
      for (let k = 0; k < K; k++) {
        for (let n = 0; n < 3 * rows; n++) {
          const row = Math.floor(n / rows);
          W[k * N + n] = row === 1 ? 1 + ((k * 7 + n) % 5) : 0;
        }
      }
      for (const M of [1, 2, 9, 16]) {
        expect(await run({ name: 'bsr', M, K, N, bias: true }, label, W, M), `M=${M}`).toBeLessThan(1e-4);
      }
    });

    test('long inputs: plain input indices past 16384 inputs (one token), 32-bit ones past 65536', async () => {
      for (const K of [16390, 65541]) {
        for (const M of [1, 5]) {
          const err = await run({ name: 'bsr', M, K, N: 9, bias: true }, label, pruned(label, K, 9, 0.8, K + M), M);
          // Thousands of f32 terms per output (float64 in the reference): rounding, not a bug, past 1e-4.
          expect(err, `K=${K} M=${M}`).toBeLessThan(1e-3);
        }
      }
      expect(packBsr({ name: 'b', M: 1, K: 65541, N: 9 }, new Float32Array(65541 * 9), undefined, label).offsets.kBytes).toBe(4);
    });

    test('storage: rows x cols values and a 16-bit input per kept block (about 1.03-1.13x density x dense)', () => {
      const { rows, cols } = blockShape(label);
      const K = 64, N = 32;
      const W = pruned(label, K, N, 0.8, 5);
      const stats = blockStats(W, K, N, label);
      expect(stats.blockDensity).toBeCloseTo(0.2, 2);
      for (const M of [1, 16]) {
        const packed = packBsr({ name: 'b', M, K, N }, W, undefined, label);
        expect(packed.offsets.kBytes).toBe(2);
        const blockBytes = rows * cols * 4 + 2;
        const padding = M === 1 ? 3 * (N / rows) : 0; // at most 3 padding blocks per block row for one token
        expect(packed.blob.length).toBeGreaterThanOrEqual(stats.kept * blockBytes);
        expect(packed.blob.length).toBeLessThanOrEqual((stats.kept + padding) * blockBytes + (N / rows) * 4 + 64);
      }
    });
  });
}

describe('block statistics', () => {
  test('a block counts as kept when any of its weights is nonzero; ragged edge blocks count whole', () => {
    const K = 5, N = 5;
    const W = new Float32Array(K * N);
    W[0 * N + 2] = 1; // input 0, output 2
    W[4 * N + 4] = 1; // input 4 (ragged block column), output 4 (ragged block row)
    expect(blockStats(W, K, N, '4x1')).toEqual({ blockDensity: 2 / 10, kept: 2 });
    expect(blockStats(W, K, N, '8x1')).toEqual({ blockDensity: 2 / 5, kept: 2 });
    expect(blockStats(W, K, N, '1x4')).toEqual({ blockDensity: 2 / 10, kept: 2 });
    expect(blockStats(W, K, N, '4x4')).toEqual({ blockDensity: 2 / 4, kept: 2 });
  });

  test('a weight pruned in one shape fits it exactly, and coarser shapes only partly', () => {
    const K = 64, N = 64;
    const W = pruned('4x1', K, N, 0.8, 9);
    expect(blockStats(W, K, N, '4x1').blockDensity).toBeCloseTo(0.2, 3);
    expect(blockStats(W, K, N, '8x1').blockDensity).toBeGreaterThan(0.3);
    expect(blockStats(W, K, N, '4x4').blockDensity).toBeGreaterThan(0.5);
    const W44 = pruned('4x4', K, N, 0.8, 9);
    const fine = blockStats(W44, K, N, '4x4').blockDensity;
    expect(fine).toBeCloseTo(0.2, 1);
    // Every 4x1 and 1x4 block lies inside one 4x4 block: they are kept exactly as often.
    for (const label of ['4x1', '1x4'] as const) expect(blockStats(W44, K, N, label).blockDensity, label).toBe(fine);
  });
});
