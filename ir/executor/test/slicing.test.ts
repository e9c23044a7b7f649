import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { codeOf, f32, i64, iota, nums, run1, runOp } from './helpers.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
describe('Concat', () => {
  it('joins along a negative axis', () => {
    const y = run1('Concat', [f32([1, 2], [2, 1]), f32([3, 4, 5, 6], [2, 2])], { axis: -1 });
    expect(y.shape).toEqual([2, 3]);
    expect(nums(y)).toEqual([1, 3, 4, 2, 5, 6]);
  });
  it('joins empty int64 shape pieces and strings', () => {
    expect(nums(run1('Concat', [i64([]), i64([2, 3]), i64([-1])], { axis: 0 }))).toEqual([2, 3, -1]);
    const s = run1('Concat', [new Tensor('string', [1], ['a']), new Tensor('string', [2], ['b', 'c'])], { axis: 0 });
    expect(s.data).toEqual(['a', 'b', 'c']);
  });
  it('rejects mismatched dims', () => {
    expect(codeOf(() => run1('Concat', [iota(2, [1, 2]), iota(3, [1, 3])], { axis: 0 }))).toBe('SHAPE_MISMATCH');
  });
});

describe('Split', () => {
  it('splits by the split input', () => {
    const [a, b] = runOp('Split', [iota(6, [2, 3]), i64([1, 2])], { axis: 1 }, 2);
    expect(nums(a!)).toEqual([0, 3]);
    expect(b!.shape).toEqual([2, 2]);
    expect(nums(b!)).toEqual([1, 2, 4, 5]);
  });
  it('splits into equal parts, or uneven num_outputs parts with a smaller last one', () => {
    expect(runOp('Split', [iota(6)], {}, 3).map(nums)).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(runOp('Split', [iota(7)], { num_outputs: 3 }, 3).map(nums)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(runOp('Split', [iota(3), i64([0, 3])], {}, 2).map((t) => t.shape)).toEqual([[0], [3]]);
  });
});

describe('Slice', () => {
  const x = iota(12, [3, 4]);
  it('takes negative steps with clamping', () => {
    const y = run1('Slice', [x, i64([2, -1]), i64([0, INT64_MIN]), i64([0, 1]), i64([-1, -2])]);
    expect(y.shape).toEqual([2, 2]);
    expect(nums(y)).toEqual([11, 9, 7, 5]);
  });
  it('clamps INT64 ends and out-of-range starts', () => {
    const y = run1('Slice', [x, i64([-1, 1]), i64([-10, INT64_MAX]), i64([0, 1]), i64([-1, 1])]);
    expect(nums(y)).toEqual([9, 10, 11, 5, 6, 7, 1, 2, 3]);
    expect(run1('Slice', [x, i64([5]), i64([10]), i64([0])]).shape).toEqual([0, 4]);
  });
  it('defaults axes and steps, and accepts negative axes', () => {
    expect(nums(run1('Slice', [x, i64([1, 2]), i64([2, 4])]))).toEqual([6, 7]);
    expect(nums(run1('Slice', [x, i64([3]), i64([4]), i64([-1])]))).toEqual([3, 7, 11]);
  });
  it('rejects a zero step', () => {
    expect(codeOf(() => run1('Slice', [x, i64([0]), i64([1]), i64([0]), i64([0])]))).toBe('BAD_INPUT');
  });
});

describe('Pad', () => {
  const x = iota(12, [3, 4]);
  it('pads with a constant, on chosen axes, and crops with negative pads', () => {
    const y = run1('Pad', [f32([1, 2], [1, 2]), i64([0, 1, 1, 0]), f32([9], [])]);
    expect(y.shape).toEqual([2, 3]);
    expect(nums(y)).toEqual([9, 1, 2, 9, 9, 9]);
    expect(nums(run1('Pad', [f32([1, 2], [1, 2]), i64([1, -1]), undefined, i64([-1])]))).toEqual([0, 1]);
  });
  it('reflects, wraps and repeats edges as numpy does', () => {
    expect(nums(run1('Pad', [x, i64([1, 2, 2, 1])], { mode: 'reflect' }))).toEqual(
      [[6, 5, 4, 5, 6, 7, 6], [2, 1, 0, 1, 2, 3, 2], [6, 5, 4, 5, 6, 7, 6], [10, 9, 8, 9, 10, 11, 10], [6, 5, 4, 5, 6, 7, 6], [2, 1, 0, 1, 2, 3, 2]].flat(),
    );
    expect(nums(run1('Pad', [x, i64([1, 0, 0, 5])], { mode: 'wrap' }))).toEqual(
      [[8, 9, 10, 11, 8, 9, 10, 11, 8], [0, 1, 2, 3, 0, 1, 2, 3, 0], [4, 5, 6, 7, 4, 5, 6, 7, 4], [8, 9, 10, 11, 8, 9, 10, 11, 8]].flat(),
    );
    expect(nums(run1('Pad', [x, i64([0, 1, 1, 0])], { mode: 'edge' }))).toEqual(
      [[0, 0, 1, 2, 3], [4, 4, 5, 6, 7], [8, 8, 9, 10, 11], [8, 8, 9, 10, 11]].flat(),
    );
  });
  it('pads int64 with an int64 constant', () => {
    const y = run1('Pad', [i64([5n]), i64([1, 1]), i64([2n ** 40n], [])]);
    expect(y.data).toEqual(BigInt64Array.of(2n ** 40n, 5n, 2n ** 40n));
  });
  it('rejects an unknown mode as unsupported', () => {
    expect(codeOf(() => run1('Pad', [x, i64([0, 0, 0, 0])], { mode: 'mirror' }))).toBe('UNSUPPORTED_OP');
  });
});

describe('CenterCropPad', () => {
  it('crops and pads around the centre', () => {
    const y = run1('CenterCropPad', [iota(12, [3, 4]), i64([2, 6])]);
    expect(y.shape).toEqual([2, 6]);
    // rows: crop 3 -> 2 starts at 0; cols: pad 4 -> 6 adds one each side.
    expect(nums(y)).toEqual([0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 7, 0]);
    expect(nums(run1('CenterCropPad', [iota(5), i64([2])], { axes: [-1] }))).toEqual([1, 2]);
  });
});

describe('DepthToSpace / SpaceToDepth', () => {
  const x = iota(16, [1, 8, 1, 2]);
  it('moves depth into space in DCR and CRD order', () => {
    const dcr = run1('DepthToSpace', [x], { blocksize: 2 });
    expect(dcr.shape).toEqual([1, 2, 2, 4]);
    expect(nums(dcr)).toEqual([0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15]);
    expect(nums(run1('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' }))).toEqual([0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15]);
  });
  it('moves space into depth', () => {
    const y = run1('SpaceToDepth', [iota(16, [1, 1, 4, 4])], { blocksize: 2 });
    expect(y.shape).toEqual([1, 4, 2, 2]);
    expect(nums(y)).toEqual([0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15]);
  });
});

describe('storage kinds', () => {
  it('moves float16 bit patterns and strings unchanged', () => {
    const h = new Tensor('float16', [2, 2], Uint16Array.of(0x3c00, 0x7e01, 0x8000, 0x0001));
    const y = run1('Transpose', [h]);
    expect(y.dtype).toBe('float16');
    expect([...(y.data as Uint16Array)]).toEqual([0x3c00, 0x8000, 0x7e01, 0x0001]);
    const s = new Tensor('string', [3], ['x', 'y', 'z']);
    expect(run1('Gather', [s, i64([2, 0])]).data).toEqual(['z', 'x']);
    expect(run1('Slice', [s, i64([-1]), i64([-(2n ** 63n)]), i64([0]), i64([-1])]).data).toEqual(['z', 'y', 'x']);
  });
});
