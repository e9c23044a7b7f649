import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { codeOf, f32, i64, iota, nums, run1, runOp, typed } from './helpers.js';

describe('Gather', () => {
  it('gathers rows with negative and 2-D indices', () => {
    const y = run1('Gather', [iota(6, [3, 2]), i64([-1, 0, 1, 1], [2, 2])]);
    expect(y.shape).toEqual([2, 2, 2]);
    expect(nums(y)).toEqual([4, 5, 0, 1, 2, 3, 2, 3]);
  });
  it('gathers along axis 1 with int32 indices and a scalar index', () => {
    expect(nums(run1('Gather', [iota(6, [2, 3]), typed('int32', [2, 0])], { axis: 1 }))).toEqual([2, 0, 5, 3]);
    const s = run1('Gather', [i64([7, 8, 9]), i64([1], [])]);
    expect(s.shape).toEqual([]);
    expect(nums(s)).toEqual([8]);
  });
  it('rejects out-of-range indices', () => {
    expect(codeOf(() => run1('Gather', [iota(3), i64([3])]))).toBe('BAD_INPUT');
  });
});

describe('GatherElements / ScatterElements', () => {
  it('gathers elements along an axis with negative indices', () => {
    const y = run1('GatherElements', [iota(9, [3, 3]), i64([1, -1, 0, 2], [2, 2])], { axis: 1 });
    expect(nums(y)).toEqual([1, 2, 3, 5]);
    expect(nums(run1('GatherElements', [iota(4, [2, 2]), i64([1, 0], [1, 2])]))).toEqual([2, 1]);
  });
  it('scatters with each reduction, duplicates combining', () => {
    const data = f32([1, 2, 3, 4, 5], [1, 5]);
    const idx = i64([1, 1, -1], [1, 3]);
    const upd = f32([10, 20, 30], [1, 3]);
    const run = (reduction: string) => nums(run1('ScatterElements', [data, idx, upd], { axis: 1, reduction }));
    expect(run('none')).toEqual([1, 20, 3, 4, 30]);
    expect(run('add')).toEqual([1, 32, 3, 4, 35]);
    expect(run('mul')).toEqual([1, 400, 3, 4, 150]);
    expect(run('max')).toEqual([1, 20, 3, 4, 30]);
    expect(run('min')).toEqual([1, 2, 3, 4, 5]);
    expect(nums(data)).toEqual([1, 2, 3, 4, 5]);
  });
  it('adds into int64 exactly', () => {
    const y = run1('ScatterElements', [i64([2n ** 60n, 0n]), i64([0]), i64([1n])], { reduction: 'add' });
    expect(y.data).toEqual(BigInt64Array.of(2n ** 60n + 1n, 0n));
  });
});

describe('GatherND / ScatterND', () => {
  it('gathers slices and elements', () => {
    const data = iota(8, [2, 2, 2]);
    const rows = run1('GatherND', [data, i64([0, 1, 1, 0], [2, 2])]);
    expect(rows.shape).toEqual([2, 2]);
    expect(nums(rows)).toEqual([2, 3, 4, 5]);
    expect(nums(run1('GatherND', [data, i64([1, 1, 1], [1, 3])]))).toEqual([7]);
  });
  it('honours batch_dims', () => {
    // data[b] is 2x2; index rows pick data[b, i].
    const y = run1('GatherND', [iota(8, [2, 2, 2]), i64([1, 0], [2, 1])], { batch_dims: 1 });
    expect(y.shape).toEqual([2, 2]);
    expect(nums(y)).toEqual([2, 3, 4, 5]);
  });
  it('scatters slices with add and mul', () => {
    const data = iota(4, [2, 2]);
    const idx = i64([1, 1], [2, 1]);
    const upd = f32([1, 1, 2, 2], [2, 2]);
    expect(nums(run1('ScatterND', [data, idx, upd]))).toEqual([0, 1, 2, 2]);
    expect(nums(run1('ScatterND', [data, idx, upd], { reduction: 'add' }))).toEqual([0, 1, 5, 6]);
    expect(nums(run1('ScatterND', [data, idx, upd], { reduction: 'mul' }))).toEqual([0, 1, 4, 6]);
  });
});

describe('OneHot', () => {
  it('writes on/off values on the last axis, wrapping negative indices', () => {
    const y = run1('OneHot', [i64([0, -1, 5]), f32([3], []), f32([-1, 7])]);
    expect(y.shape).toEqual([3, 3]);
    expect(nums(y)).toEqual([7, -1, -1, -1, -1, 7, -1, -1, -1]);
  });
  it('inserts the depth axis where asked', () => {
    const y = run1('OneHot', [f32([1, 0]), i64([2], []), i64([0, 1])], { axis: 0 });
    expect(y.dtype).toBe('int64');
    expect(nums(y)).toEqual([0, 1, 1, 0]);
  });
});

describe('ReverseSequence', () => {
  it('reverses each batch up to its length', () => {
    const x = iota(8, [4, 2]);
    expect(nums(run1('ReverseSequence', [x, i64([4, 2])]))).toEqual([6, 3, 4, 1, 2, 5, 0, 7]);
    const y = run1('ReverseSequence', [iota(8, [2, 4]), i64([3, 1])], { batch_axis: 0, time_axis: 1 });
    expect(nums(y)).toEqual([2, 1, 0, 3, 4, 5, 6, 7]);
  });
});

describe('TopK', () => {
  it('returns the largest values with lower indices first on ties', () => {
    const [v, i] = runOp('TopK', [f32([3, 1, 3, 2, 5, 5], [2, 3]), i64([2])], {}, 2);
    expect(nums(v!)).toEqual([3, 3, 5, 5]);
    expect(i!.dtype).toBe('int64');
    expect(nums(i!)).toEqual([0, 2, 1, 2]);
  });
  it('returns the smallest along axis 0', () => {
    const [v, i] = runOp('TopK', [f32([3, 1, 2, 4, 0, 4], [3, 2]), i64([1])], { axis: 0, largest: 0 }, 2);
    expect(v!.shape).toEqual([1, 2]);
    expect(nums(v!)).toEqual([0, 1]);
    expect(nums(i!)).toEqual([2, 0]);
  });
  it('orders int64 exactly', () => {
    const [v] = runOp('TopK', [i64([2n ** 62n, 2n ** 62n + 1n]), i64([1])], {}, 2);
    expect(v!.data).toEqual(BigInt64Array.of(2n ** 62n + 1n));
  });
});

describe('NonZero / Compress / Unique', () => {
  it('lists nonzero coordinates per dim', () => {
    const y = run1('NonZero', [typed('bool', [1, 0, 0, 1], [2, 2])]);
    expect(y.shape).toEqual([2, 2]);
    expect(nums(y)).toEqual([0, 1, 0, 1]);
    expect(run1('NonZero', [f32([0, 0])]).shape).toEqual([1, 0]);
  });
  it('compresses along an axis or the flattened input', () => {
    const x = iota(6, [3, 2]);
    expect(nums(run1('Compress', [x, typed('bool', [0, 1, 1])], { axis: 0 }))).toEqual([2, 3, 4, 5]);
    expect(nums(run1('Compress', [x, typed('bool', [0, 1])], { axis: -1 }))).toEqual([1, 3, 5]);
    expect(nums(run1('Compress', [x, typed('bool', [0, 1, 0, 0, 1])]))).toEqual([1, 4]);
  });
  it('finds sorted unique values with indices, inverse and counts', () => {
    const [y, idx, inv, cnt] = runOp('Unique', [f32([2, 1, 1, 3, 4, 3])], {}, 4);
    expect(nums(y!)).toEqual([1, 2, 3, 4]);
    expect(nums(idx!)).toEqual([1, 0, 3, 4]);
    expect(nums(inv!)).toEqual([1, 0, 0, 2, 3, 2]);
    expect(nums(cnt!)).toEqual([2, 1, 2, 1]);
  });
  it('keeps first-occurrence order when not sorted, and unique rows with an axis', () => {
    const [y] = runOp('Unique', [f32([2, 1, 1, 3, 4, 3])], { sorted: 0 }, 4);
    expect(nums(y!)).toEqual([2, 1, 3, 4]);
    const [rows, , inv, cnt] = runOp('Unique', [f32([1, 0, 0, 1, 1, 0, 0, 0], [4, 2])], { axis: 0 }, 4);
    expect(rows!.shape).toEqual([3, 2]);
    expect(nums(rows!)).toEqual([0, 0, 0, 1, 1, 0]);
    expect(nums(inv!)).toEqual([2, 1, 2, 0]);
    expect(nums(cnt!)).toEqual([1, 1, 2]);
  });
  it('works on strings', () => {
    const [y] = runOp('Unique', [new Tensor('string', [3], ['b', 'a', 'b'])], {}, 4);
    expect(y!.data).toEqual(['a', 'b']);
  });
});
