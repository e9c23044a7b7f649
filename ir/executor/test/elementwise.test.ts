import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { erf, roundHalfEven } from '../mathfn.js';
import { codeOf, f32, i64, nums, run1, typed } from './helpers.js';

describe('broadcasting', () => {
  it('same shape, scalar, trailing vector, and general', () => {
    const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(nums(run1('Add', [x, x]))).toEqual([2, 4, 6, 8, 10, 12]);
    expect(nums(run1('Sub', [x, Tensor.scalar('float32', 1)]))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(nums(run1('Sub', [Tensor.scalar('float32', 1), x]))).toEqual([0, -1, -2, -3, -4, -5]);
    expect(nums(run1('Mul', [x, f32([1, 10, 100])]))).toEqual([1, 20, 300, 4, 50, 600]);
    // Column [2,1] against row [1,3]: both inputs broadcast.
    const y = run1('Add', [f32([1, 2], [2, 1]), f32([10, 20, 30], [1, 3])]);
    expect(y.shape).toEqual([2, 3]);
    expect(nums(y)).toEqual([11, 21, 31, 12, 22, 32]);
    // Middle-axis broadcast [2,1,2] + [3,1] -> [2,3,2].
    const z = run1('Add', [f32([0, 1, 100, 101], [2, 1, 2]), f32([10, 20, 30], [3, 1])]);
    expect(z.shape).toEqual([2, 3, 2]);
    expect(nums(z)).toEqual([10, 11, 20, 21, 30, 31, 110, 111, 120, 121, 130, 131]);
  });

  it('rejects shapes that do not broadcast', () => {
    expect(codeOf(() => run1('Add', [f32([1, 2, 3]), f32([1, 2])]))).toBe('SHAPE_MISMATCH');
  });

  it('handles empty tensors', () => {
    const y = run1('Add', [Tensor.zeros('float32', [0, 3]), f32([1, 2, 3])]);
    expect(y.shape).toEqual([0, 3]);
  });
});

describe('integer arithmetic', () => {
  it('Div truncates toward zero, int64 included', () => {
    expect(nums(run1('Div', [typed('int32', [7, -7, 7, -7]), typed('int32', [2, 2, -2, -2])]))).toEqual([3, -3, -3, 3]);
    expect(nums(run1('Div', [i64([7, -7]), i64([2, 2])]))).toEqual([3, -3]);
  });

  it('Mod follows the divisor sign, or the dividend sign with fmod=1', () => {
    const a = typed('int32', [5, -5, 5, -5]);
    const b = typed('int32', [3, 3, -3, -3]);
    expect(nums(run1('Mod', [a, b]))).toEqual([2, 1, -1, -2]);
    expect(nums(run1('Mod', [a, b], { fmod: 1 }))).toEqual([2, -2, 2, -2]);
    expect(nums(run1('Mod', [i64([5, -5]), i64([3, 3])]))).toEqual([2, 1]);
    expect(nums(run1('Mod', [f32([5.5, -5.5]), f32([2, 2])], { fmod: 1 }))).toEqual([1.5, -1.5]);
  });

  it('wraps on overflow like two-complement hardware', () => {
    expect(nums(run1('Add', [typed('uint8', [250]), typed('uint8', [10])]))).toEqual([4]);
    expect(nums(run1('Mul', [typed('int32', [65536 * 3 + 7]), typed('int32', [65536 + 5])]))).toEqual([Math.imul(65536 * 3 + 7, 65536 + 5)]);
    const big = run1('Add', [i64([9223372036854775807n]), i64([1])]);
    expect((big.data as BigInt64Array)[0]).toBe(-9223372036854775808n);
  });

  it('keeps int64 exact beyond 2^53', () => {
    const y = run1('Mul', [i64([2n ** 40n + 1n]), i64([2n ** 20n])]);
    expect((y.data as BigInt64Array)[0]).toBe((2n ** 40n + 1n) * 2n ** 20n);
  });

  it('BitShift and bitwise ops on unsigned ints', () => {
    expect(nums(run1('BitShift', [typed('uint8', [1, 255]), typed('uint8', [3, 1])], { direction: 'LEFT' }))).toEqual([8, 254]);
    expect(nums(run1('BitShift', [typed('uint32', [2 ** 31, 16]), typed('uint32', [31, 33])], { direction: 'RIGHT' }))).toEqual([1, 0]);
    expect(nums(run1('BitwiseAnd', [typed('int32', [12, -1]), typed('int32', [10, 7])]))).toEqual([8, 7]);
    expect(nums(run1('BitwiseNot', [typed('uint8', [0, 15])]))).toEqual([255, 240]);
  });

  it('Pow with mixed dtypes keeps the base dtype', () => {
    const y = run1('Pow', [typed('int32', [2, 3]), f32([3, 2])]);
    expect(y.dtype).toBe('int32');
    expect(nums(y)).toEqual([8, 9]);
    expect((run1('Pow', [i64([3]), i64([39])]).data as BigInt64Array)[0]).toBe(3n ** 39n);
    expect(nums(run1('Pow', [f32([4, 2]), f32([0.5, -1])]))).toEqual([2, 0.5]);
  });
});

describe('comparisons and logic', () => {
  it('produce bool', () => {
    const y = run1('Less', [f32([1, 2, 3]), f32([2, 2, 2])]);
    expect(y.dtype).toBe('bool');
    expect(nums(y)).toEqual([1, 0, 0]);
    expect(nums(run1('GreaterOrEqual', [i64([1, 2, 3]), i64([2])]))).toEqual([0, 1, 1]);
    expect(nums(run1('Equal', [new Tensor('string', [2], ['a', 'b']), new Tensor('string', [1], ['b'])]))).toEqual([0, 1]);
    expect(nums(run1('Xor', [typed('bool', [1, 1, 0]), typed('bool', [1, 0, 0])]))).toEqual([0, 1, 0]);
    expect(nums(run1('Not', [typed('bool', [1, 0])]))).toEqual([0, 1]);
  });

  it('reject dtypes the op does not define', () => {
    expect(codeOf(() => run1('And', [f32([1]), f32([1])]))).toBe('UNSUPPORTED_DTYPE');
    expect(codeOf(() => run1('Sqrt', [typed('int32', [4])]))).toBe('UNSUPPORTED_DTYPE');
  });
});

describe('float16 and bfloat16', () => {
  it('compute in float32 and round once on store', () => {
    // 1 + 2^-11 is halfway between two float16 values: ties go to even (1.0).
    const y = run1('Add', [typed('float16', [1]), typed('float16', [2 ** -11])]);
    expect(y.dtype).toBe('float16');
    expect(nums(y)).toEqual([1]);
    // 2048 + 1 is not representable in float16 (spacing 2 there): rounds to even 2048.
    expect(nums(run1('Add', [typed('float16', [2048]), typed('float16', [1])]))).toEqual([2048]);
    expect(nums(run1('Add', [typed('float16', [2048]), typed('float16', [3])]))).toEqual([2052]);
    expect(nums(run1('Mul', [typed('bfloat16', [3]), typed('bfloat16', [0.5])]))).toEqual([1.5]);
  });

  it('float16 Max/Sum/Mean', () => {
    const a = typed('float16', [1, 5, 2]);
    const b = typed('float16', [3, 2, 2]);
    expect(nums(run1('Max', [a, b]))).toEqual([3, 5, 2]);
    expect(nums(run1('Mean', [a, b]))).toEqual([2, 3.5, 2]);
    expect(run1('Sum', [a, b, a]).dtype).toBe('float16');
  });
});

describe('unary functions', () => {
  it('Round is half to even', () => {
    expect(nums(run1('Round', [f32([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6])]))).toEqual([0, 2, 2, -0, -2, 2, -3]);
    expect(roundHalfEven(-2.5)).toBe(-2);
  });

  it('erf matches known values to float64 precision', () => {
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 15);
    expect(erf(3.5)).toBeCloseTo(0.9999992569016276, 14);
    expect(erf(1e-5)).toBeCloseTo(1.1283791670578999e-5, 18);
  });

  it('Gelu exact and tanh forms', () => {
    const exact = nums(run1('Gelu', [f32([-1, 0, 1, 2])]));
    const want = [-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416];
    exact.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    const tanh = nums(run1('Gelu', [f32([1])], { approximate: 'tanh' }));
    expect(tanh[0]).toBeCloseTo(0.8411919906082768, 6);
    expect(codeOf(() => run1('Gelu', [f32([1])], { approximate: 'fast' }))).toBe('BAD_ATTRIBUTE');
  });

  it('activations with attributes', () => {
    expect(nums(run1('LeakyRelu', [f32([-2, 3])], { alpha: 0.5 }))).toEqual([-1, 3]);
    expect(nums(run1('Elu', [f32([0, 1])], { alpha: 2 }))).toEqual([0, 1]);
    expect(nums(run1('HardSigmoid', [f32([-10, 0, 10])]))).toEqual([0, 0.5, 1]);
    expect(nums(run1('HardSwish', [f32([-4, 0, 4])]))).toEqual([-0, 0, 4]);
    expect(nums(run1('ThresholdedRelu', [f32([0.5, 2])]))).toEqual([0, 2]);
    expect(nums(run1('Shrink', [f32([-2, 0.3, 2])], { lambd: 1, bias: 0.5 }))).toEqual([-1.5, 0, 1.5]);
    expect(nums(run1('Relu', [typed('int8', [-3, 4])]))).toEqual([0, 4]);
    expect(nums(run1('Sigmoid', [f32([0, -1000, 1000])]))).toEqual([0.5, 0, 1]);
    expect(nums(run1('Softplus', [f32([1000])]))).toEqual([1000]);
  });

  it('Abs/Neg/Sign on int64 are exact', () => {
    const y = run1('Abs', [i64([-(2n ** 62n), 5n])]);
    expect([...(y.data as BigInt64Array)]).toEqual([2n ** 62n, 5n]);
    expect(nums(run1('Sign', [i64([-7, 0, 9])]))).toEqual([-1, 0, 1]);
  });

  it('IsInf/IsNaN', () => {
    const x = f32([Infinity, -Infinity, NaN, 1]);
    expect(nums(run1('IsInf', [x]))).toEqual([1, 1, 0, 0]);
    expect(nums(run1('IsInf', [x], { detect_negative: 0 }))).toEqual([1, 0, 0, 0]);
    expect(nums(run1('IsNaN', [x]))).toEqual([0, 0, 1, 0]);
  });
});

describe('variadic ops', () => {
  it('Max/Min broadcast across inputs and keep int64 exact', () => {
    expect(nums(run1('Max', [f32([1, 5]), f32([3]), f32([0, 4])]))).toEqual([3, 5]);
    const m = run1('Min', [i64([2n ** 60n, 3n]), i64([2n ** 60n + 1n, 1n])]);
    expect([...(m.data as BigInt64Array)]).toEqual([2n ** 60n, 1n]);
    expect(nums(run1('Max', [f32([1, NaN]), f32([2, 0])]))).toEqual([2, NaN]);
  });

  it('Sum/Mean of one input copy it', () => {
    const x = f32([1, 2]);
    const y = run1('Sum', [x]);
    expect(nums(y)).toEqual([1, 2]);
    expect(y.data).not.toBe(x.data);
  });

  it('Where selects with broadcasting, any dtype', () => {
    const y = run1('Where', [typed('bool', [1, 0], [2, 1]), i64([1, 2, 3]), i64([-1])]);
    expect(y.shape).toEqual([2, 3]);
    expect(nums(y)).toEqual([1, 2, 3, -1, -1, -1]);
    const s = run1('Where', [typed('bool', [0, 1]), new Tensor('string', [2], ['a', 'b']), new Tensor('string', [2], ['c', 'd'])]);
    expect(s.data).toEqual(['c', 'b']);
  });

  it('Clip with absent bounds and int64', () => {
    expect(nums(run1('Clip', [f32([-5, 0, 5]), Tensor.scalar('float32', -1), Tensor.scalar('float32', 1)]))).toEqual([-1, 0, 1]);
    expect(nums(run1('Clip', [f32([-5, 0, 5]), undefined, Tensor.scalar('float32', 1)]))).toEqual([-5, 0, 1]);
    expect(nums(run1('Clip', [i64([-5, 0, 5]), Tensor.scalar('int64', 0)]))).toEqual([0, 0, 5]);
    expect(nums(run1('Clip', [typed('int8', [-128, 127]), typed('int8', [-10], []), typed('int8', [10], [])]))).toEqual([-10, 10]);
  });
});

describe('Cast', () => {
  it('float to int truncates, NaN to 0', () => {
    expect(nums(run1('Cast', [f32([1.7, -2.5, NaN])], { to: 'int32' }))).toEqual([1, -2, 0]);
    const big = run1('Cast', [f32([-3.9, 2 ** 40])], { to: 'int64' });
    expect([...(big.data as BigInt64Array)]).toEqual([-3n, 2n ** 40n]);
  });

  it('`to` is a DType name; an ONNX code (int) is a bad attribute (the frontend converts codes)', () => {
    expect(run1('Cast', [f32([1])], { to: 'int64' }).dtype).toBe('int64');
    expect(() => run1('Cast', [f32([1])], { to: 7 })).toThrow(/must be a dtype name/);
  });

  it('to and from float16, bool, string', () => {
    const h = run1('Cast', [f32([1 / 3, 65520, 1e-8])], { to: 'float16' });
    expect([...(h.data as Uint16Array)]).toEqual([0x3555, 0x7c00, 0]);
    expect(nums(run1('Cast', [f32([0, -2, NaN])], { to: 'bool' }))).toEqual([0, 1, 1]);
    expect(nums(run1('Cast', [typed('bool', [1, 0])], { to: 'float32' }))).toEqual([1, 0]);
    expect(run1('Cast', [f32([0.1, 1e-5, NaN, -Infinity])], { to: 'string' }).data).toEqual(['0.1', '0.00001', 'NaN', '-INF']);
    const s = new Tensor('string', [4], ['1.5', 'INF', '-inf', '9007199254740993']);
    expect(nums(run1('Cast', [s], { to: 'float64' }))).toEqual([1.5, Infinity, -Infinity, 9007199254740992]);
    expect((run1('Cast', [s.reshape([4])], { to: 'int64' }).data as BigInt64Array)[3]).toBe(9007199254740993n);
    expect(run1('Cast', [i64([42n])], { to: 'string' }).data).toEqual(['42']);
  });

  it('CastLike takes the dtype of its second input', () => {
    const y = run1('CastLike', [f32([2.5]), typed('int8', [0])]);
    expect(y.dtype).toBe('int8');
    expect(nums(y)).toEqual([2]);
  });
});
