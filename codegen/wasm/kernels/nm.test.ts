import { describe, expect, test } from 'vitest';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitNM, nmBlockRows, packNM, type NMPattern } from './nm.js';
import { matmulRef, maxRelError, pruneNM, randomFloats, transpose, reluIf } from './reference.js';
import type { SparseSpec } from './spmm.js';

/** W [K,N] pruned to the pattern; `emptyGroups` also zeroes every third group entirely (zero-filled in packing). */
function pruned(W: Float32Array, K: number, N: number, p: NMPattern, emptyGroups = false): Float32Array {
  const out = pruneNM(W, K, N, p.n, p.m);
  if (emptyGroups) {
    for (let col = 0; col < N; col++) {
      for (let g = 0; g < K; g += p.m) if ((g / p.m + col) % 3 === 0) for (let i = 0; i < p.m; i++) out[(g + i) * N + col] = 0;
    }
  }
  return out;
}

async function check(spec: SparseSpec, p: NMPattern, seed: number, emptyGroups = false): Promise<number> {
  const { M, K, N } = spec;
  const X = randomFloats(M * K, seed);
  const W = pruned(randomFloats(K * N, seed + 1), K, N, p, emptyGroups);
  const bias = spec.bias ? randomFloats(N, seed + 2) : undefined;
  const packed = packNM(spec, W, p, bias);
  const m = new WasmModule();
  emitNM(m, spec, packed.offsets, p);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const x = inst.put(transpose(X, M, K));
  const w = inst.put(packed.blob);
  const y = inst.alloc(M * N * 4 + 64);
  inst.f32(y, M * N + 16).fill(7);
  inst.fn(spec.name)(x, w, y);
  expect(Array.from(inst.f32(y + M * N * 4, 16))).toEqual(new Array(16).fill(7));
  const got = transpose(Float32Array.from(inst.f32(y, M * N)), N, M);
  return maxRelError(got, matmulRef(X, W, M, K, N, bias, spec.epilogue));
}

describe('N:M kernels on transposed activations (row-step storage)', () => {
  // Token counts cover the 24-token main strip, every narrower strip and the scalar rest.
  const tokens = [2, 3, 5, 24, 29, 45, 64, 70];
  for (const p of [{ n: 2, m: 4 }, { n: 4, m: 8 }, { n: 1, m: 4 }]) {
    test(`${p.n}:${p.m} at ${tokens.join('/')} tokens, odd N, with and without bias+ReLU, groups left empty`, async () => {
      for (const [i, M] of tokens.entries()) {
        const K = p.m * (1 + (i % 3)) * 2;
        const N = 3 + 2 * i;
        const fused = i % 2 === 1;
        expect(await check({ name: 'nm', M, K, N, bias: fused, epilogue: reluIf(fused) }, p, M * 7 + K, i % 4 === 2)).toBeLessThan(1e-4);
      }
    });
  }

  test('X^T larger than L1 is walked in blocks of input rows (first, middle, shorter last), ReLU after the last', async () => {
    const cases: [number, number, NMPattern, number][] = [[64, 160, { n: 2, m: 4 }, 3], [64, 72, { n: 2, m: 4 }, 2], [29, 160, { n: 4, m: 8 }, 2], [100, 132, { n: 1, m: 4 }, 4]];
    for (const [M, K, p, blocks] of cases) {
      const spec = { name: 'nm', M, K, N: 7, bias: true, epilogue: reluIf(true) };
      expect(Math.ceil(K / nmBlockRows(spec, p))).toBe(blocks);
      expect(await check(spec, p, M + K, true)).toBeLessThan(1e-4);
      expect(await check({ ...spec, bias: false, epilogue: reluIf(false) }, p, M + K + 1)).toBeLessThan(1e-4);
    }
  });

  test('one token: row-step gather for 4:8 and 1:4 (runs of 4 and tails of 1-3), position bytes for 2:4', async () => {
    expect(await check({ name: 'nm', M: 1, K: 24, N: 5, bias: true }, { n: 4, m: 8 }, 3)).toBeLessThan(1e-4);
    for (const K of [4, 8, 12, 20, 28]) expect(await check({ name: 'nm', M: 1, K, N: 3, epilogue: reluIf(K > 8) }, { n: 1, m: 4 }, K, K === 20)).toBeLessThan(1e-4);
    expect(await check({ name: 'nm', M: 1, K: 24, N: 5, epilogue: reluIf(true) }, { n: 2, m: 4 }, 4, true)).toBeLessThan(1e-4);
  });

  test('storage: 4 bytes of value and 1 byte of row step per kept weight', () => {
    const K = 64, N = 16;
    const W = pruned(randomFloats(K * N, 9), K, N, { n: 2, m: 4 });
    expect(packNM({ name: 'nm', M: 8, K, N }, W, { n: 2, m: 4 }).blob.length).toBe((K / 2) * N * 5);
  });

  test('packing rejects a group over the pattern and K not divisible by M', () => {
    const W = new Float32Array(8 * 2).fill(1);
    expect(() => packNM({ name: 'nm', M: 4, K: 8, N: 2 }, W, { n: 4, m: 8 })).toThrow(/not 4:8: output 0, inputs 0..7 hold 8/);
    expect(() => packNM({ name: 'nm', M: 4, K: 12, N: 1 }, new Float32Array(12), { n: 4, m: 8 })).toThrow(/divisible by 8/);
  });
});
