import { describe, expect, test } from 'vitest';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitAdd, emitCopy, emitTranspose, emitUnary, type UnaryFn } from './elementwise.js';
import { maxRelError, randomFloats, transpose } from './reference.js';

/** Build one kernel, run it on `inputs` and return `outCount` floats (a sentinel after them must survive). */
async function run(emit: (m: WasmModule) => void, inputs: Float32Array[], outCount: number): Promise<Float32Array> {
  const m = new WasmModule();
  emit(m);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const addrs = inputs.map((x) => inst.put(x));
  const y = inst.alloc(outCount * 4 + 64);
  inst.f32(y, outCount + 4).fill(7);
  inst.fn('k')(...addrs, y);
  expect(Array.from(inst.f32(y + outCount * 4, 4))).toEqual([7, 7, 7, 7]);
  return Float32Array.from(inst.f32(y, outCount));
}

// erf in float64, independent of the kernel's Abramowitz & Stegun form: the Taylor series
// below 3, the asymptotic expansion of erfc above.
function erf(x: number): number {
  const z = Math.abs(x);
  if (z >= 3) {
    const t = 1 / (2 * z * z);
    const erfc = (Math.exp(-z * z) / (z * Math.sqrt(Math.PI))) * (1 - t + 3 * t * t - 15 * t ** 3);
    return Math.sign(x) * (1 - erfc);
  }
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const reference: Record<UnaryFn, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

describe('elementwise kernels', () => {
  for (const fn of ['relu', 'gelu', 'gelu_tanh'] as const) {
    test(`${fn} matches float64 math on [-12, 12] and odd sizes`, async () => {
      for (const size of [1, 7, 64, 203]) {
        const x = randomFloats(size, size).map((v) => v * 12);
        if (size > 100) x.set([0, -0, 100, -100, 1e-8, 88.5, -90]);
        const got = await run((m) => emitUnary(m, 'k', size, fn), [x], size);
        expect(maxRelError(got, x.map(reference[fn]))).toBeLessThan(1e-5);
      }
    });
  }

  test('add, copy and transpose', async () => {
    const a = randomFloats(45, 1);
    const b = randomFloats(45, 2);
    expect(Array.from(await run((m) => emitAdd(m, 'k', 45), [a, b], 45))).toEqual(Array.from(a.map((v, i) => v + b[i]!)));
    expect(Array.from(await run((m) => emitCopy(m, 'k', 45), [a], 45))).toEqual(Array.from(a));
    expect(Array.from(await run((m) => emitTranspose(m, 'k', 5, 9), [a], 45))).toEqual(Array.from(transpose(a, 5, 9)));
    // Multiples of four: the 4x4-block (v128 shuffle) form.
    const c = randomFloats(8 * 12, 3);
    expect(Array.from(await run((m) => emitTranspose(m, 'k', 8, 12), [c], 96))).toEqual(Array.from(transpose(c, 8, 12)));
    expect(Array.from(await run((m) => emitTranspose(m, 'k', 12, 4), [c.subarray(0, 48)], 48))).toEqual(Array.from(transpose(c.subarray(0, 48), 12, 4)));
  });
});
