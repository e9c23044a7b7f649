import { describe, expect, test } from 'vitest';
import { KernelInstance, KERNEL_SCRATCH } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitNM, nmBlockRows, nmScratchBytes, packNM, type NMPattern } from './nm.js';
import { matmulRef, maxRelError, pruneNM, randomFloats, reluIf } from './reference.js';
import { transposedError } from './transposed-check.js';
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

/** W packed for the pattern and its kernel instantiated over a fresh memory. */
async function instantiate(spec: SparseSpec, p: NMPattern, W: Float32Array, bias?: Float32Array) {
  const packed = packNM(spec, W, p, bias);
  const m = new WasmModule();
  emitNM(m, { ...spec, scratch: KERNEL_SCRATCH }, packed.offsets, p);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  return { packed, inst };
}

async function check(spec: SparseSpec, p: NMPattern, seed: number, emptyGroups = false): Promise<number> {
  const { M, K, N } = spec;
  const X = randomFloats(M * K, seed);
  const W = pruned(randomFloats(K * N, seed + 1), K, N, p, emptyGroups);
  const bias = spec.bias ? randomFloats(N, seed + 2) : undefined;
  const { packed, inst } = await instantiate(spec, p, W, bias);
  return transposedError(inst, spec, X, W, packed.blob, bias);
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

  test('one token, 1:4: row-step gather (runs of 4 and tails of 1-3)', async () => {
    for (const K of [4, 8, 12, 20, 28]) expect(await check({ name: 'nm', M: 1, K, N: 3, epilogue: reluIf(K > 8) }, { n: 1, m: 4 }, K, K === 20)).toBeLessThan(1e-4);
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

describe('one-token 2:4 and 4:8 kernels (selection table, nm-gemv.ts)', () => {
  const patterns: NMPattern[] = [{ n: 2, m: 4 }, { n: 4, m: 8 }];

  test('K a multiple of the group but not of 8 (2:4: a last half step), N of 1 to 9 (partial panels), bias and ReLU', async () => {
    for (const K of [4, 12, 20, 36]) {
      for (const N of [1, 2, 3, 5, 9]) {
        const fused = (K + N) % 2 === 0;
        expect(await check({ name: 'nm', M: 1, K, N, bias: fused, epilogue: reluIf(fused) }, { n: 2, m: 4 }, K * 10 + N, N % 3 === 0)).toBeLessThan(1e-4);
      }
    }
    for (const K of [8, 24, 40]) {
      for (const N of [1, 4, 7]) expect(await check({ name: 'nm', M: 1, K, N, bias: N > 1 }, { n: 4, m: 8 }, K + N, K === 24)).toBeLessThan(1e-4);
    }
  });

  test('groups with fewer nonzeros, entirely empty channels and an all-zero weight', async () => {
    for (const p of patterns) {
      expect(await check({ name: 'nm', M: 1, K: 48, N: 6, bias: true }, p, 5, true)).toBeLessThan(1e-4);
      const K = 16, N = 5;
      const W = pruned(randomFloats(K * N, 8), K, N, p);
      for (let k = 0; k < K; k++) W[k * N + 2] = 0;
      expect(await run({ name: 'nm', M: 1, K, N }, p, W)).toBeLessThan(1e-4);
      expect(await run({ name: 'nm', M: 1, K, N, bias: true }, p, new Float32Array(K * N))).toBeLessThan(1e-4);
    }
  });

  test('K past one block of the table (first, middle, shorter last), GELU then the residual add', async () => {
    // One block holds 14 steps at 2:4 (36 ways) and 7 at 4:8 (70 ways): 8 kB of table.
    const cases: [number, number, NMPattern][] = [[300, 7, { n: 2, m: 4 }], [232, 13, { n: 2, m: 4 }], [200, 6, { n: 4, m: 8 }], [112, 4, { n: 4, m: 8 }]];
    for (const [K, N, p] of cases) {
      for (const residual of [false, true]) {
        const epilogue = { activation: residual ? 'gelu' : 'relu', residual } as const;
        expect(await run({ name: 'nm', M: 1, K, N, bias: true, epilogue }, p, pruned(randomFloats(K * N, K), K, N, p, true)), `${p.n}:${p.m} K=${K}`).toBeLessThan(1e-4);
      }
    }
  });

  test('storage: 2.25 bytes per dense weight (4 values and a u16 selection per 8 inputs); one block of table in scratch', () => {
    for (const [p, ways, blockSteps] of [[{ n: 2, m: 4 }, 36, 14], [{ n: 4, m: 8 }, 70, 7]] as const) {
      for (const K of [64, 512]) {
        const N = 16;
        const packed = packNM({ name: 'nm', M: 1, K, N }, pruned(randomFloats(K * N, 4), K, N, p), p);
        const steps = K / 8;
        expect(packed.blob.length).toBe(steps * N * (16 + 2));
        expect(nmScratchBytes({ name: 'nm', M: 1, K, N }, p)).toBe(Math.min(steps, blockSteps) * ways * 16);
        expect(nmScratchBytes({ name: 'nm', M: 2, K, N }, p)).toBe(0);
      }
    }
  });

  test('packing names the first group over the pattern', () => {
    const W = new Float32Array(16 * 3);
    for (let k = 8; k < 11; k++) W[k * 3 + 1] = 1;
    expect(() => packNM({ name: 'nm', M: 1, K: 16, N: 3 }, W, { n: 2, m: 4 })).toThrow(/not 2:4: output 1, inputs 8..11 hold 3/);
  });
});

/** y = x W for one token through the kernel (with a residual argument when the epilogue has one) against the reference. */
async function run(spec: SparseSpec, p: NMPattern, W: Float32Array): Promise<number> {
  const { K, N } = spec;
  const X = randomFloats(K, K + N);
  const bias = spec.bias ? randomFloats(N, N) : undefined;
  const R = spec.epilogue?.residual ? randomFloats(N, 3) : undefined;
  const { packed, inst } = await instantiate(spec, p, W, bias);
  const [x, w, y] = [inst.put(X), inst.put(packed.blob), inst.alloc(N * 4 + 64)];
  inst.f32(y, N + 16).fill(7);
  inst.fn(spec.name)(x, w, y, ...(R ? [inst.put(R)] : []));
  expect(Array.from(inst.f32(y + N * 4, 16))).toEqual(new Array(16).fill(7));
  return maxRelError(Float32Array.from(inst.f32(y, N)), matmulRef(X, W, 1, K, N, bias, spec.epilogue, R));
}
