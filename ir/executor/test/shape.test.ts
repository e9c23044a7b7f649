import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { codeOf, f32, i64, iota, nums, run1, runOp, typed } from './helpers.js';

describe('Reshape', () => {
  it('copies dims with 0 and solves -1', () => {
    const y = run1('Reshape', [iota(24, [2, 3, 4]), i64([0, -1])]);
    expect(y.shape).toEqual([2, 12]);
    expect(nums(y)).toEqual(nums(iota(24)));
  });
  it('keeps a literal 0 with allowzero', () => {
    expect(run1('Reshape', [f32([], [0, 3]), i64([3, 0])], { allowzero: 1 }).shape).toEqual([3, 0]);
  });
  it('rejects a size change', () => {
    expect(codeOf(() => run1('Reshape', [iota(6), i64([4])]))).toBe('SHAPE_MISMATCH');
  });
});

describe('Transpose', () => {
  it('reverses dims by default', () => {
    const y = run1('Transpose', [iota(6, [2, 3])]);
    expect(y.shape).toEqual([3, 2]);
    expect(nums(y)).toEqual([0, 3, 1, 4, 2, 5]);
  });
  it('applies perm on int64 data', () => {
    const x = i64(Array.from({ length: 24 }, (_, i) => BigInt(i) + 10n ** 15n), [2, 3, 4]);
    const y = run1('Transpose', [x], { perm: [1, 2, 0] });
    expect(y.shape).toEqual([3, 4, 2]);
    // y[i,j,k] = x[k,i,j] = 12k + 4i + j
    expect((y.data as BigInt64Array)[1]! - 10n ** 15n).toBe(12n);
    expect((y.data as BigInt64Array)[3]! - 10n ** 15n).toBe(13n);
  });
});

describe('Flatten / Squeeze / Unsqueeze', () => {
  it('flattens around a negative axis', () => {
    expect(run1('Flatten', [iota(24, [2, 3, 4])], { axis: -1 }).shape).toEqual([6, 4]);
    expect(run1('Flatten', [iota(24, [2, 3, 4])], { axis: 0 }).shape).toEqual([1, 24]);
  });
  it('squeezes given or all unit axes', () => {
    expect(run1('Squeeze', [iota(3, [1, 3, 1]), i64([-1])]).shape).toEqual([1, 3]);
    expect(run1('Squeeze', [iota(3, [1, 3, 1])]).shape).toEqual([3]);
    expect(codeOf(() => run1('Squeeze', [iota(3, [1, 3, 1]), i64([1])]))).toBe('SHAPE_MISMATCH');
  });
  it('unsqueezes unsorted and negative axes against the output rank', () => {
    expect(run1('Unsqueeze', [iota(6, [2, 3]), i64([3, 0])]).shape).toEqual([1, 2, 3, 1]);
    expect(run1('Unsqueeze', [iota(6, [2, 3]), i64([-1])]).shape).toEqual([2, 3, 1]);
  });
});

describe('Expand / Tile', () => {
  it('broadcasts both ways', () => {
    const y = run1('Expand', [f32([1, 2, 3], [3, 1]), i64([2, 1, 2])]);
    expect(y.shape).toEqual([2, 3, 2]);
    expect(nums(y)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  });
  it('tiles each axis', () => {
    const y = run1('Tile', [f32([1, 2, 3, 4], [2, 2]), i64([2, 3])]);
    expect(y.shape).toEqual([4, 6]);
    expect(nums(y).slice(0, 12)).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    expect(nums(y).slice(12)).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
  });
});

describe('Shape / Size / ConstantOfShape / Range / EyeLike', () => {
  it('slices the shape with clamped start and end', () => {
    const x = iota(24, [2, 3, 4]);
    expect(nums(run1('Shape', [x]))).toEqual([2, 3, 4]);
    expect(nums(run1('Shape', [x], { start: -2 }))).toEqual([3, 4]);
    expect(nums(run1('Shape', [x], { start: 1, end: 10 }))).toEqual([3, 4]);
    expect(nums(run1('Shape', [x], { start: 2, end: 1 }))).toEqual([]);
    expect(run1('Size', [x]).data).toEqual(BigInt64Array.of(24n));
  });
  it('fills a shape with the value attribute', () => {
    const y = run1('ConstantOfShape', [i64([2, 2])], { value: Tensor.int64([7], [1]) });
    expect(y.dtype).toBe('int64');
    expect(nums(y)).toEqual([7, 7, 7, 7]);
    expect(run1('ConstantOfShape', [i64([0])]).shape).toEqual([0]);
    expect(run1('ConstantOfShape', [i64([3])]).dtype).toBe('float32');
  });
  it('ranges over floats, negative int32 deltas and large int64', () => {
    expect(nums(run1('Range', [f32([1], []), f32([5], []), f32([1.5], [])]))).toEqual([1, 2.5, 4]);
    expect(nums(run1('Range', [typed('int32', [10], []), typed('int32', [4], []), typed('int32', [-3], [])]))).toEqual([10, 7]);
    const big = run1('Range', [i64([2n ** 60n], []), i64([2n ** 60n + 3n], []), i64([2], [])]);
    expect(big.data).toEqual(BigInt64Array.of(2n ** 60n, 2n ** 60n + 2n));
    expect(run1('Range', [f32([5], []), f32([1], []), f32([1], [])]).shape).toEqual([0]);
  });
  it('builds an identity with offset k and dtype', () => {
    const y = run1('EyeLike', [f32(new Array(6).fill(5), [2, 3])], { k: 1, dtype: 'int32' });
    expect(y.dtype).toBe('int32');
    expect(nums(y)).toEqual([0, 1, 0, 0, 0, 1]);
    expect(run1('EyeLike', [f32([0, 0], [1, 2])], { dtype: 'int64' }).dtype).toBe('int64');
    expect(() => run1('EyeLike', [f32([0, 0], [1, 2])], { dtype: 7 })).toThrow(/must be a dtype name/);
  });
});

describe('Trilu', () => {
  const x = iota(12, [3, 4]);
  it('keeps the upper triangle from diagonal k', () => {
    expect(nums(run1('Trilu', [x]))).toEqual([0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11]);
    expect(nums(run1('Trilu', [x, i64([-1], [])]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11]);
  });
  it('keeps the lower triangle in batches', () => {
    const y = run1('Trilu', [iota(8, [2, 2, 2]), i64([0], [])], { upper: 0 });
    expect(nums(y)).toEqual([0, 0, 2, 3, 4, 0, 6, 7]);
  });
});

describe('Identity / Dropout', () => {
  it('passes data through and reports an all-true mask', () => {
    const [y, mask] = runOp('Dropout', [f32([1, 2]), f32([0.5], [])], {}, 2);
    expect(nums(y!)).toEqual([1, 2]);
    expect(mask!.dtype).toBe('bool');
    expect(nums(mask!)).toEqual([1, 1]);
    expect(nums(run1('Identity', [typed('bool', [1, 0])]))).toEqual([1, 0]);
  });
  it('refuses training mode with a nonzero ratio, accepts ratio 0', () => {
    const on = typed('bool', [1], []);
    expect(codeOf(() => runOp('Dropout', [f32([1, 2]), f32([0.5], []), on], {}, 2))).toBe('UNSUPPORTED_OP');
    expect(nums(run1('Dropout', [f32([1, 2]), f32([0], []), on]))).toEqual([1, 2]);
  });
});
