import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { f32, i64, nums, run1 } from './helpers.js';

const close = (t: Tensor, want: number[]) => {
  expect(t.size).toBe(want.length);
  nums(t).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
};

/** A grid that samples every pixel centre of an H x W image (align_corners = 1). */
function identityGrid(H: number, W: number): Tensor {
  const g: number[] = [];
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) g.push(-1 + (2 * w) / (W - 1), -1 + (2 * h) / (H - 1));
  return f32(g, [1, H, W, 2]);
}

describe('GridSample', () => {
  const x = f32([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
  it('reproduces the input on an identity grid in every mode', () => {
    for (const mode of ['linear', 'nearest', 'cubic', 'bilinear']) {
      close(run1('GridSample', [x, identityGrid(2, 3)], { mode, align_corners: 1 }), [1, 2, 3, 4, 5, 6]);
    }
  });
  it('interpolates between pixels and pads outside with zeros, the border or a reflection', () => {
    // (x, y) = (0, 0) is the image centre: between 2 and 5 in rows, exactly column 1.
    const grid = f32([0, 0, 3, -1], [1, 1, 2, 2]);
    close(run1('GridSample', [x, grid], { align_corners: 1 }), [3.5, 0]);
    close(run1('GridSample', [x, grid], { align_corners: 1, padding_mode: 'border' }), [3.5, 3]);
    // x = 3 maps to column 4 and reflects off column 2 back to column 0.
    close(run1('GridSample', [x, grid], { align_corners: 1, padding_mode: 'reflection' }), [3.5, 1]);
  });
});

describe('RoiAlign', () => {
  const ramp = f32(Array.from({ length: 25 }, (_, i) => i % 5), [1, 1, 5, 5]);
  it('averages bilinear samples at bin centres', () => {
    const y = run1('RoiAlign', [ramp, f32([0, 0, 4, 4], [1, 4]), i64([0])], { output_height: 1, output_width: 2, sampling_ratio: 1 });
    expect(y.shape).toEqual([1, 1, 1, 2]);
    close(y, [0.5, 2.5]);
  });
  it('scales rois and reads the right batch item', () => {
    const two = f32([...Array(25).fill(1), ...Array(25).fill(7)], [2, 1, 5, 5]);
    const y = run1('RoiAlign', [two, f32([0, 0, 4, 4, 2, 2, 6, 6], [2, 4]), i64([1, 0])], { spatial_scale: { kind: 'float', value: 0.5 } });
    close(y, [7, 1]);
  });
});

describe('DeformConv', () => {
  const x = f32(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
  const w = f32([1, 2, 3, 4], [1, 1, 2, 2]);
  it('equals Conv when the offsets are zero', () => {
    const zero = f32(new Array<number>(8 * 9).fill(0), [1, 8, 3, 3]);
    expect(nums(run1('DeformConv', [x, w, zero]))).toEqual(nums(run1('Conv', [x, w])));
  });
  it('shifts every tap by its offset and scales it by the mask', () => {
    // Offsets of +1 along w read the image one column to the right; the last column reads zeros.
    const offsets: number[] = [];
    for (let k = 0; k < 4; k++) offsets.push(...new Array<number>(9).fill(0), ...new Array<number>(9).fill(1));
    const mask = f32(new Array<number>(4 * 9).fill(0.5), [1, 4, 3, 3]);
    const y = run1('DeformConv', [x, w, f32(offsets, [1, 8, 3, 3]), undefined, mask]);
    const shifted = run1('Conv', [x, w]);
    expect(nums(y).slice(0, 2)).toEqual(nums(shifted).slice(1, 3).map((v) => v / 2));
    // Output (0, 2) reads columns 3 and 4: only the taps on column 3 (weights 1 and 3) see data.
    expect(y.get(2)).toBeCloseTo(0.5 * (1 * 3 + 3 * 7), 5);
  });
});

describe('AffineGrid', () => {
  it('maps normalized pixel centres through theta', () => {
    // Identity theta plus a shift of 0.5 in x.
    const theta = f32([1, 0, 0.5, 0, 1, 0], [1, 2, 3]);
    const y = run1('AffineGrid', [theta, i64([1, 1, 2, 2])]);
    expect(y.shape).toEqual([1, 2, 2, 2]);
    close(y, [0, -0.5, 1, -0.5, 0, 0.5, 1, 0.5]);
    close(run1('AffineGrid', [theta, i64([1, 1, 2, 2])], { align_corners: 1 }), [-0.5, -1, 1.5, -1, -0.5, 1, 1.5, 1]);
  });
});

describe('MaxRoiPool', () => {
  it('takes the max over rounded bins of each roi', () => {
    const x = f32(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
    // Roi covering columns 0..3 and rows 0..1, split into 1 x 2 bins.
    const y = run1('MaxRoiPool', [x, f32([0, 0, 0, 3, 1], [1, 5])], { pooled_shape: [1, 2] });
    expect(y.shape).toEqual([1, 1, 1, 2]);
    expect(nums(y)).toEqual([5, 7]);
  });
});
