import { describe, expect, it } from 'vitest';
import { numberToFloat16Bits } from '../../ir/dtype.js';
import { Tensor } from '../../ir/tensor.js';
import { closeEnough, compareTensors, compareZeroOrOne, ONNX_TOLERANCE } from './compare.js';

const f16 = (xs: number[]) => new Tensor('float16', [xs.length], Uint16Array.from(xs, numberToFloat16Bits));

describe('compareTensors', () => {
  it('accepts floats within rtol 1e-3 + atol 1e-7 of the expected value', () => {
    const expected = Tensor.float32([1, 100, 0]);
    expect(compareTensors(expected, Tensor.float32([1.0009, 100.09, 5e-8]))).toBeUndefined();
    const m = compareTensors(expected, Tensor.float32([1, 100.2, 0]));
    expect(m?.count).toBe(1);
    expect(m?.first?.index).toEqual([1]);
    expect(m?.maxAbsError).toBeCloseTo(0.2, 3);
  });

  it('treats NaN as equal to NaN and infinities as equal only to themselves', () => {
    expect(compareTensors(Tensor.float32([NaN, Infinity]), Tensor.float32([NaN, Infinity]))).toBeUndefined();
    expect(compareTensors(Tensor.float32([NaN]), Tensor.float32([0]))).toBeDefined();
    expect(compareTensors(Tensor.float32([Infinity]), Tensor.float32([-Infinity]))).toBeDefined();
    expect(closeEnough(1, NaN, ONNX_TOLERANCE)).toBe(false);
  });

  it('requires equal dtypes and shapes', () => {
    expect(compareTensors(Tensor.float32([1, 2]), new Tensor('float64', [2], Float64Array.of(1, 2)))?.reason).toMatch(/dtype/);
    expect(compareTensors(Tensor.float32([1, 2]), Tensor.float32([1, 2], [2, 1]))?.reason).toMatch(/shape/);
  });

  it('compares integers, bools and strings exactly', () => {
    expect(compareTensors(Tensor.int64([1, 2]), Tensor.int64([1, 2]))).toBeUndefined();
    expect(compareTensors(Tensor.int64([1000000, 2]), Tensor.int64([1000001, 2]))?.first?.expected).toBe('1000000');
    expect(compareTensors(new Tensor('string', [1], ['a']), new Tensor('string', [1], ['b']))?.first?.expected).toBe('"a"');
    const m = compareTensors(new Tensor('bool', [2, 2], Uint8Array.of(1, 0, 0, 1)), new Tensor('bool', [2, 2], Uint8Array.of(1, 0, 1, 1)));
    expect(m?.first?.index).toEqual([1, 0]);
  });

  it('decodes float16 before comparing', () => {
    // 1000 and 1000.5 are one float16 ulp apart (0.5), within 1e-3 relative of 1000.
    expect(compareTensors(f16([1000, -2]), f16([1000.5, -2]))).toBeUndefined();
    expect(compareTensors(f16([1000, -2]), f16([1002, -2]))?.first?.actual).toBe('1002');
  });

  it('checks random Bernoulli draws for 0/1 values only', () => {
    expect(compareZeroOrOne(Tensor.float32([1, 1, 0]), Tensor.float32([0, 1, 1]))).toBeUndefined();
    expect(compareZeroOrOne(Tensor.float32([1, 1, 0]), Tensor.float32([0, 0.5, 1]))?.first?.index).toEqual([1]);
  });
});
