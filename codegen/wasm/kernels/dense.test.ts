import { describe, expect, test } from 'vitest';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitDense, packDense, type DenseSpec } from './dense.js';
import { matmulRef, maxRelError, randomFloats, reluIf } from './reference.js';

async function runDense(spec: DenseSpec, seed = 1): Promise<{ got: Float32Array; want: Float32Array; valid: boolean }> {
  const { M, K, N } = spec;
  const X = randomFloats(M * K, seed);
  const W = randomFloats(K * N, seed + 1);
  const bias = spec.bias ? randomFloats(N, seed + 2) : undefined;
  const m = new WasmModule();
  emitDense(m, spec);
  const valid = m.validate();
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const x = inst.put(X);
  const w = inst.put(packDense(spec, W, bias));
  const y = inst.alloc(M * N * 4 + 64);
  inst.f32(y, M * N + 16).fill(7); // sentinel past the end must survive
  inst.fn(spec.name)(x, w, y);
  expect(Array.from(inst.f32(y + M * N * 4, 16))).toEqual(new Array(16).fill(7));
  return { got: Float32Array.from(inst.f32(y, M * N)), want: matmulRef(X, W, M, K, N, bias, spec.epilogue), valid };
}

describe('dense GEMM kernel', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 7, 5], [1, 33, 70], [2, 9, 8], [5, 17, 13], [6, 8, 8], [7, 13, 9], [13, 31, 37], [64, 48, 40],
  ];
  for (const [M, K, N] of shapes) {
    test(`${M}x${K}x${N} matches the reference, with and without bias+ReLU`, async () => {
      for (const fused of [false, true]) {
        const r = await runDense({ name: 'gemm', M, K, N, bias: fused, epilogue: reluIf(fused) }, M * 100 + K + N);
        expect(r.valid).toBe(true);
        expect(maxRelError(r.got, r.want)).toBeLessThan(1e-4);
      }
    });
  }

  test('every legal tile shape computes the same product', async () => {
    for (const tile of [{ mr: 4, nr: 12 }, { mr: 3, nr: 16 }, { mr: 1, nr: 4 }, { mr: 2, nr: 24 }]) {
      const r = await runDense({ name: 'gemm', M: 11, K: 10, N: 29, bias: true, tile, unrollK: 3 }, 5);
      expect(maxRelError(r.got, r.want)).toBeLessThan(1e-4);
    }
  });

  test('ReLU clamps negatives to zero and the relaxed build uses relaxed_madd', () => {
    const m = new WasmModule({ relaxedSimd: true });
    emitDense(m, { name: 'gemm', M: 2, K: 4, N: 4, epilogue: reluIf(true) });
    expect(m.validate()).toBe(true);
    const text = m.emitText();
    expect(text).toContain('f32x4.relaxed_madd');
    expect(text).toContain('f32x4.max');
    m.dispose();
    const plain = new WasmModule();
    emitDense(plain, { name: 'gemm', M: 2, K: 4, N: 4 });
    expect(plain.emitText()).not.toContain('relaxed');
    plain.dispose();
  });
});
