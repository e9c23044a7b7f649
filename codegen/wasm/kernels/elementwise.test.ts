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

// erf in float64, independent of the kernel's rational form: the Taylor series
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

  // A dense sweep: absolute error of Gelu(x) / max(1, |x|) (the error of erf, scaled), plus the
  // extremes: a large negative x gives exactly 0, a large positive x exactly x, NaN stays NaN.
  // 20001 + 3 elements: the last three go through the scalar tail, which must agree with the
  // vector lanes bit for bit (the same x placed in both).
  for (const fn of ['gelu', 'gelu_tanh'] as const) {
    test(`${fn}: dense sweep of [-10, 10], extremes, vector and scalar forms agree`, async () => {
      const sweep = Float32Array.from({ length: 20001 }, (_, i) => -10 + i * 0.001);
      const specials = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 30, -30, 1e30, -1e30, 3.4e38, -3.4e38, Infinity, NaN];
      const tail = [0.7071, -2.345, 5.5];
      const x = Float32Array.from([...sweep, ...specials, ...tail.slice(0, 1), ...tail]);
      x.set(tail, 0);
      const got = await run((m) => emitUnary(m, 'k', x.length, fn), [x], x.length);
      let worst = 0;
      for (let i = 0; i < sweep.length; i++) {
        const err = Math.abs(got[i]! - reference[fn](x[i]!)) / Math.max(1, Math.abs(x[i]!));
        worst = Math.max(worst, err);
      }
      expect(worst).toBeLessThan(5e-7);
      const at = (v: number) => got[sweep.length + specials.indexOf(v)]!;
      for (const v of [30, 1e30, 3.4e38, Infinity]) expect(at(v)).toBe(Math.fround(v));
      for (const v of [-30, -1e30, -3.4e38]) expect(Math.abs(at(v))).toBe(0);
      expect(Math.abs(at(1e-8) - 0.5e-8)).toBeLessThan(1e-14);
      expect(got[sweep.length + specials.length - 1]).toBeNaN(); // indexOf never finds NaN
      // tail[k] sits at index k (a vector lane) and among the last three (scalar tail).
      const n = x.length;
      expect(Array.from(got.subarray(n - 3))).toEqual(Array.from(got.subarray(0, 3)));
    });
  }
});
