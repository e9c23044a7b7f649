import { describe, expect, it } from 'vitest';
import { Graph } from '../../graph.js';
import { getOpDef } from '../registry.js';
import { f32, i64, nums, run1, runOp, typed } from './helpers.js';

const iota = (n: number, shape?: number[]) => f32(Array.from({ length: n }, (_, i) => i + 1), shape);

describe('MaxPool', () => {
  it('pools 2x2 windows and reports row-major or column-major indices', () => {
    const x = iota(16, [1, 1, 4, 4]);
    const [y, idx] = runOp('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 2);
    expect(nums(y!)).toEqual([6, 8, 14, 16]);
    expect(idx!.dtype).toBe('int64');
    expect(nums(idx!)).toEqual([5, 7, 13, 15]);
    const [, colIdx] = runOp('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], storage_order: 1 }, 2);
    expect(nums(colIdx!)).toEqual([5, 13, 7, 15]);
  });
  it('offsets indices by batch and channel', () => {
    const [, idx] = runOp('MaxPool', [iota(8, [2, 2, 2])], { kernel_shape: [2] }, 2);
    expect(nums(idx!)).toEqual([1, 3, 5, 7]);
  });
  it('adds a partial window in ceil mode, but never one starting in the end padding', () => {
    const x = iota(5, [1, 1, 5]);
    expect(nums(run1('MaxPool', [x], { kernel_shape: [2], strides: [2] }))).toEqual([2, 4]);
    expect(nums(run1('MaxPool', [x], { kernel_shape: [2], strides: [2], ceil_mode: 1 }))).toEqual([2, 4, 5]);
    const y = run1('MaxPool', [iota(4, [1, 1, 4])], { kernel_shape: [2], strides: [2], pads: [0, 1], ceil_mode: 1 });
    expect(nums(y)).toEqual([2, 4]);
  });
  it('dilates, pads and keeps int8 values exact', () => {
    expect(nums(run1('MaxPool', [f32([1, 9, 2, 8, 3], [1, 1, 5])], { kernel_shape: [2], dilations: [2] }))).toEqual([2, 9, 3]);
    const y = run1('MaxPool', [typed('int8', [-5, -7, -128, -1], [1, 1, 4])], { kernel_shape: [3], pads: [1, 1] });
    expect(y.dtype).toBe('int8');
    expect(nums(y)).toEqual([-5, -5, -1, -1]);
  });
});

describe('AveragePool', () => {
  const x = iota(3, [1, 1, 3]);
  it('divides by valid taps, or by taps inside the padding with count_include_pad', () => {
    expect(nums(run1('AveragePool', [x], { kernel_shape: [2], pads: [1, 1] }))).toEqual([1, 1.5, 2.5, 3]);
    expect(nums(run1('AveragePool', [x], { kernel_shape: [2], pads: [1, 1], count_include_pad: 1 }))).toEqual([0.5, 1.5, 2.5, 1.5]);
  });
  it('does not count taps past the end padding in ceil mode', () => {
    const y = run1('AveragePool', [iota(5, [1, 1, 5])], { kernel_shape: [2], strides: [2], ceil_mode: 1, count_include_pad: 1 });
    expect(nums(y)).toEqual([1.5, 3.5, 5]);
  });
  it('pools 2-D SAME_UPPER windows', () => {
    const y = run1('AveragePool', [iota(4, [1, 1, 2, 2])], { kernel_shape: [2, 2], auto_pad: 'SAME_UPPER' });
    expect(nums(y)).toEqual([2.5, 3, 3.5, 4]);
  });
});

describe('LpPool and global pools', () => {
  it('computes p-norms of windows', () => {
    expect(nums(run1('LpPool', [f32([3, 4, 0], [1, 1, 3])], { kernel_shape: [2] }))).toEqual([5, 4]);
    expect(nums(run1('LpPool', [f32([1, -1, 2], [1, 1, 3])], { kernel_shape: [3], p: 1 }))).toEqual([4]);
  });
  it('reduces every spatial dim to 1', () => {
    const x = f32([1, 2, 3, 6, -1, -2, -3, 4], [1, 2, 2, 2]);
    const avg = run1('GlobalAveragePool', [x]);
    expect(avg.shape).toEqual([1, 2, 1, 1]);
    expect(nums(avg)).toEqual([3, -0.5]);
    expect(nums(run1('GlobalMaxPool', [x]))).toEqual([6, 4]);
    expect(nums(run1('GlobalLpPool', [f32([3, 4], [1, 1, 2])]))).toEqual([5]);
  });
});

describe('MaxUnpool', () => {
  it('inverts MaxPool, re-linearizing indices into a larger output_shape', () => {
    const x = f32([5, 6, 7, 8], [1, 1, 2, 2]);
    const idx = i64([5, 7, 13, 15], [1, 1, 2, 2]);
    const y = run1('MaxUnpool', [x, idx], { kernel_shape: [2, 2], strides: [2, 2] });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(nums(y)).toEqual([0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8]);
    const big = run1('MaxUnpool', [x, idx, i64([1, 1, 5, 5])], { kernel_shape: [2, 2], strides: [2, 2] });
    expect(nums(big).map((v, i) => (v ? i : -1)).filter((i) => i >= 0)).toEqual([6, 8, 16, 18]);
  });
});

describe('LRN', () => {
  it('normalizes across a window of channels', () => {
    const y = run1('LRN', [f32([1, 2, 3], [1, 3, 1, 1])], { size: 3, alpha: { kind: 'float', value: 3 }, beta: { kind: 'float', value: 1 }, bias: { kind: 'float', value: 1 } });
    nums(y).forEach((v, i) => expect(v).toBeCloseTo([1 / 6, 2 / 15, 3 / 14][i]!, 5));
  });
});

describe('pool shape inference', () => {
  it('computes ceil-mode dims and gives int64 indices', () => {
    const g = new Graph('g');
    const node = g.addNode({
      op: 'MaxPool', inputs: [], outputs: 2,
      attrs: { kernel_shape: { kind: 'ints', value: [3, 3] }, strides: { kind: 'ints', value: [2, 2] }, ceil_mode: { kind: 'int', value: 1 } },
    });
    const out = getOpDef('MaxPool')!.infer(node, [{ dtype: 'float32', shape: ['N', 8, 112, 'W'] }], { freshDim: () => 'w2' });
    expect(out).toEqual([{ dtype: 'float32', shape: ['N', 8, 56, 'w2'] }, { dtype: 'int64', shape: ['N', 8, 56, 'w2'] }]);
  });
});
