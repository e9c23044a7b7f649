import { describe, expect, it } from 'vitest';
import { f32, i64, nums, run1, typed } from './helpers.js';
import { constInfo as c, inferOne as infer } from './infer-helper.js';

const close = (actual: number[], expected: number[], digits = 5) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a, `element ${i}`).toBeCloseTo(expected[i]!, digits));
};


describe('DFT', () => {
  // x = [[1, 2, 0], [0, 1, -1]] as a real signal [2, 3, 1]; expectations from numpy.fft.
  const x = f32([1, 2, 0, 0, 1, -1], [2, 3, 1]);
  const r3 = Math.sqrt(3);

  it('transforms along the default axis (-2) and along axis 0', () => {
    const y = run1('DFT', [x]);
    expect(y.shape).toEqual([2, 3, 2]);
    close(nums(y), [3, 0, 0, -r3, 0, r3, 0, 0, 0, -r3, 0, r3]);
    const y0 = run1('DFT', [x, undefined, i64([0], [])]);
    close(nums(y0), [1, 0, 3, 0, -1, 0, 1, 0, 1, 0, 1, 0]);
  });

  it('pads to dft_length and keeps the onesided half', () => {
    const y = run1('DFT', [f32([1, 2, 3, 4], [4, 1]), i64([6], [])], { onesided: 1 });
    expect(y.shape).toEqual([4, 2]);
    close(nums(y), [10, 0, -3.5, -4.33012702, 2.5, 0.8660254, -2, 0]);
  });

  it('inverts a complex signal with 1/n scaling', () => {
    const y = run1('DFT', [f32([1, 1, 2, -1, 0, 0.5], [3, 2])], { inverse: 1 });
    close(nums(y), [1, 1 / 6, 0.4330127, 0.9940169, -0.4330127, -0.1606836]);
  });

  it('keeps float64 and infers the output shape', () => {
    const y = run1('DFT', [typed('float64', [1, 2, 3, 4], [1, 4, 1])]);
    expect(y.dtype).toBe('float64');
    close(nums(y).slice(0, 4), [10, 0, -2, 2], 12);
    expect(infer('DFT', [{ dtype: 'float32', shape: ['b', 10, 1] }, c(i64([16], []))], { onesided: 1 })[0]!.shape).toEqual(['b', 9, 2]);
    expect(() => infer('DFT', [{ dtype: 'float32', shape: [4, 3] }])).toThrow(/1 or 2/);
    expect(() => infer('DFT', [{ dtype: 'float32', shape: [4, 1] }], { inverse: 1, onesided: 1 })).toThrow(/inverse and onesided is not supported/);
  });
});

describe('STFT', () => {
  it('frames, windows and transforms a real signal (onesided)', () => {
    const signal = f32(Array.from({ length: 8 }, (_, i) => i * 0.5 - 1), [1, 8, 1]);
    const hann = f32([0, 0.5, 1, 0.5]);
    const y = run1('STFT', [signal, i64([2], []), hann]);
    expect(y.shape).toEqual([1, 3, 3, 2]);
    // numpy: fft(x[2f : 2f + 4] * hann)[:3]
    close(nums(y), [0, 0, 0, 0.5, 0, 0, 2, 0, -1, 0.5, 0, 0, 4, 0, -2, 0.5, 0, 0]);
  });

  it('uses frame_length without a window and returns all bins when not onesided', () => {
    const y = run1('STFT', [f32([1, 0, 0, 0, 1, 0], [1, 6, 1]), i64([3], []), undefined, i64([3], [])], { onesided: 0 });
    expect(y.shape).toEqual([1, 2, 3, 2]);
    close(nums(y), [1, 0, 1, 0, 1, 0, 1, 0, -0.5, -Math.sqrt(3) / 2, -0.5, Math.sqrt(3) / 2]);
  });
});

describe('windows', () => {
  const size = (n: number) => typed('int64', [n], []);
  it('computes periodic and symmetric Hann, Hamming and Blackman windows', () => {
    close(nums(run1('HannWindow', [size(4)])), [0, 0.5, 1, 0.5]);
    close(nums(run1('HannWindow', [size(5)], { periodic: 0 })), [0, 0.5, 1, 0.5, 0]);
    close(nums(run1('HammingWindow', [size(3)], { periodic: 0 })), [4 / 46, 1, 4 / 46]);
    close(nums(run1('BlackmanWindow', [size(4)])), [0, 0.34, 1, 0.34]);
  });
  it('honours output_datatype and infers the length', () => {
    const y = run1('HannWindow', [size(4)], { output_datatype: 'float64' });
    expect(y.dtype).toBe('float64');
    expect(infer('HannWindow', [c(size(7))])[0]).toEqual({ dtype: 'float32', shape: [7] });
  });
});

describe('MelWeightMatrix', () => {
  it('builds triangular filters on the ONNX band edges', () => {
    // Edges for 4 bins over 0..4000 Hz, dft_length 32, 8 kHz: bins [0, 1, 2, 4, 7, 11].
    const y = run1('MelWeightMatrix', [typed('int32', [4], []), typed('int32', [32], []), typed('int32', [8000], []), f32([0], []), f32([4000], [])]);
    expect(y.shape).toEqual([17, 4]);
    const expected = [
      [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 1, 0], [0, 0, 2 / 3, 1 / 3],
      [0, 0, 1 / 3, 2 / 3], [0, 0, 0, 1], [0, 0, 0, 0.75], [0, 0, 0, 0.5], [0, 0, 0, 0.25],
      ...Array.from({ length: 6 }, () => [0, 0, 0, 0]),
    ].flat();
    close(nums(y), expected);
  });
});
