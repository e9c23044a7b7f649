import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { f32, i64, nums, run1, typed } from './helpers.js';

// x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]  (shape [2, 2, 2])
const x = f32([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);

describe('Reduce*', () => {
  it('reduces the given axes, keepdims by default', () => {
    const y = run1('ReduceSum', [x, i64([1])]);
    expect(y.shape).toEqual([2, 1, 2]);
    expect(nums(y)).toEqual([4, 6, 12, 14]);
  });

  it('non-adjacent and negative axes, keepdims=0', () => {
    const y = run1('ReduceSum', [x, i64([0, -1])], { keepdims: 0 });
    expect(y.shape).toEqual([2]);
    expect(nums(y)).toEqual([1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
  });

  it('all axes when axes is absent or empty; noop_with_empty_axes returns the input', () => {
    expect(nums(run1('ReduceMean', [x]))).toEqual([4.5]);
    expect(run1('ReduceMean', [x]).shape).toEqual([1, 1, 1]);
    expect(run1('ReduceMean', [x, i64([])], { keepdims: 0 }).shape).toEqual([]);
    expect(nums(run1('ReduceSum', [x, i64([])], { noop_with_empty_axes: 1 }))).toEqual(nums(x));
  });

  it('each reduction', () => {
    const v = f32([1, -2, 3, -4], [4]);
    const axes = i64([0]);
    const r = (op: Parameters<typeof run1>[0]) => nums(run1(op, [v, axes]))[0]!;
    expect(r('ReduceMax')).toBe(3);
    expect(r('ReduceMin')).toBe(-4);
    expect(r('ReduceProd')).toBe(24);
    expect(r('ReduceL1')).toBe(10);
    expect(r('ReduceL2')).toBeCloseTo(Math.sqrt(30), 6);
    expect(r('ReduceSumSquare')).toBe(30);
    expect(r('ReduceMean')).toBe(-0.5);
    expect(nums(run1('ReduceLogSum', [f32([1, 2, 3]), axes]))[0]).toBeCloseTo(Math.log(6), 6);
  });

  it('LogSumExp stays finite for large inputs', () => {
    const y = nums(run1('ReduceLogSumExp', [f32([1000, 1000]), i64([0])]))[0]!;
    expect(y).toBeCloseTo(1000 + Math.log(2), 3);
    expect(nums(run1('ReduceLogSumExp', [f32([-Infinity, -Infinity]), i64([0])]))[0]).toBe(-Infinity);
  });

  it('empty reductions give the identity element', () => {
    const e = Tensor.zeros('float32', [0, 3]);
    expect(nums(run1('ReduceSum', [e, i64([0])], { keepdims: 0 }))).toEqual([0, 0, 0]);
    expect(nums(run1('ReduceProd', [e, i64([0])], { keepdims: 0 }))).toEqual([1, 1, 1]);
    expect(nums(run1('ReduceMax', [e, i64([0])], { keepdims: 0 }))).toEqual([-Infinity, -Infinity, -Infinity]);
  });

  it('int64 reductions are exact', () => {
    const y = run1('ReduceSum', [i64([2n ** 60n, 1n, 2n ** 60n]), i64([0])], { keepdims: 0 });
    expect(y.dtype).toBe('int64');
    expect((y.data as BigInt64Array)[0]).toBe(2n ** 61n + 1n);
    expect(nums(run1('ReduceMax', [i64([-5, -3]), i64([0])]))).toEqual([-3]);
    expect(nums(run1('ReduceMean', [typed('int32', [1, 2]), i64([0])]))).toEqual([1]);
  });

  it('float16 input rounds the result once', () => {
    const y = run1('ReduceSum', [typed('float16', [2048, 1, 1]), i64([0])]);
    expect(y.dtype).toBe('float16');
    expect(nums(y)).toEqual([2050]);
  });
});

describe('ArgMax/ArgMin', () => {
  const m = f32([1, 5, 5, 2, 0, 2], [2, 3]);
  it('first index of the extreme value by default', () => {
    const y = run1('ArgMax', [m], { axis: 1 });
    expect(y.dtype).toBe('int64');
    expect(y.shape).toEqual([2, 1]);
    expect(nums(y)).toEqual([1, 0]);
    expect(nums(run1('ArgMin', [m], { axis: 1, keepdims: 0 }))).toEqual([0, 1]);
  });

  it('select_last_index and axis 0', () => {
    expect(nums(run1('ArgMax', [m], { axis: 1, select_last_index: 1 }))).toEqual([2, 2]);
    expect(nums(run1('ArgMax', [m], { axis: 0, keepdims: 0 }))).toEqual([1, 0, 0]);
    expect(nums(run1('ArgMin', [m], { axis: -2, keepdims: 0, select_last_index: 1 }))).toEqual([0, 1, 1]);
  });
});
