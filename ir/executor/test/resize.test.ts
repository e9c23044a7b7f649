import { describe, expect, it } from 'vitest';
import { Graph } from '../../graph.js';
import { Tensor } from '../../tensor.js';
import { getOpDef } from '../registry.js';
import { f32, i64, nums, run1, typed } from './helpers.js';

type Attrs = Parameters<typeof run1>[2];
const byScales = (x: Tensor, scales: number[], attrs: Attrs = {}) => run1('Resize', [x, undefined, f32(scales)], attrs);
const bySizes = (x: Tensor, sizes: number[], attrs: Attrs = {}) => run1('Resize', [x, undefined, undefined, i64(sizes)], attrs);
const close = (t: Tensor, want: number[]) => {
  expect(t.size).toBe(want.length);
  nums(t).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
};

describe('Resize nearest', () => {
  it('rounds half-pixel coordinates, preferring floor by default', () => {
    expect(nums(byScales(f32([1, 2]), [2]))).toEqual([1, 1, 2, 2]);
    expect(nums(byScales(f32([1, 2, 3]), [2], { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }))).toEqual([1, 1, 2, 2, 3, 3]);
    expect(nums(byScales(f32([1, 2, 3]), [2], { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'ceil' }))).toEqual([1, 2, 2, 3, 3, 3]);
  });
  it("resizes 2-D with sizes (rows at -1/6, 0.5, 7/6; column at 0.5) and keeps integers exact", () => {
    const y = bySizes(typed('uint8', [1, 2, 3, 4], [2, 2]), [3, 1]);
    expect(y.dtype).toBe('uint8');
    expect(y.shape).toEqual([3, 1]);
    expect(nums(y)).toEqual([1, 1, 3]);
  });
});

describe('Resize linear', () => {
  it('interpolates with half_pixel and clamps at the edges', () => {
    close(byScales(f32([1, 2]), [2], { mode: 'linear' }), [1, 1.25, 1.75, 2]);
  });
  it('maps corners to corners with align_corners', () => {
    close(bySizes(f32([1, 2]), [3], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }), [1, 1.5, 2]);
  });
  it('is bilinear in 2-D', () => {
    const y = bySizes(f32([0, 1, 2, 3], [2, 2]), [3, 3], { mode: 'linear', coordinate_transformation_mode: 'align_corners' });
    close(y, [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
  });
  it('averages a wider window when antialiasing a downscale', () => {
    close(byScales(f32([1, 2, 3, 4]), [0.5], { mode: 'linear', antialias: 1 }), [1.625, 3.375]);
    close(byScales(f32([1, 2, 3, 4]), [0.5], { mode: 'linear' }), [1.5, 3.5]);
  });
  it('crops a region and extrapolates outside the input', () => {
    const y = run1('Resize', [f32([1, 2, 3, 4]), f32([0.5, 1.5]), undefined, i64([3])], {
      mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: { kind: 'float', value: 10 },
    });
    close(y, [2.5, 4, 10]);
  });
});

describe('Resize cubic', () => {
  it('uses the cubic kernel with coefficient A', () => {
    // At t = 0.5 with A = -0.75 the four taps weigh -0.09375, 0.59375, 0.59375, -0.09375.
    close(byScales(f32([0, 0, 1, 0]), [2], { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' }).reshape([8]), [0, -0.09375, 0, 0.59375, 1, 0.59375, 0, -0.09375]);
  });
  it('renormalizes without outside taps when exclude_outside is set', () => {
    const attrs = { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' };
    expect(byScales(f32([1, 0, 0, 0]), [2], attrs).get(1)).toBeCloseTo(0.5, 6);
    expect(byScales(f32([1, 0, 0, 0]), [2], { ...attrs, exclude_outside: 1 }).get(1)).toBeCloseTo(0.59375 / 1.09375, 6);
  });
});

describe('Resize axes and aspect ratio', () => {
  const x = f32(Array.from({ length: 8 }, (_, i) => i), [1, 1, 2, 4]);
  it('keeps the aspect ratio within or around the requested size', () => {
    expect(bySizes(x, [4, 4], { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }).shape).toEqual([1, 1, 2, 4]);
    expect(bySizes(x, [4, 4], { axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' }).shape).toEqual([1, 1, 4, 8]);
  });
  it('resizes only the listed axes', () => {
    const y = byScales(x, [0.5], { axes: [-1] });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(nums(y)).toEqual([0, 2, 4, 6]);
  });
});

describe('Resize shape inference', () => {
  const infer = (shape: (number | string)[], scales?: number[], sizes?: number[]) => {
    const g = new Graph('g');
    const node = g.addNode({ op: 'Resize', inputs: [], outputs: 1 });
    const s = scales ? { dtype: 'float32' as const, shape: [scales.length], value: f32(scales) } : undefined;
    const z = sizes ? { dtype: 'int64' as const, shape: [sizes.length], value: i64(sizes) } : undefined;
    let n = 0;
    return getOpDef('Resize')!.infer(node, [{ dtype: 'float32', shape }, undefined, s, z], { freshDim: () => `r${n++}` })[0]!.shape;
  };
  it('follows constant scales and sizes, keeping symbols scaled by 1', () => {
    expect(infer(['N', 3, 10, 'W'], [1, 1, 2, 1])).toEqual(['N', 3, 20, 'W']);
    expect(infer(['N', 3, 10, 'W'], [1, 1, 2, 2])).toEqual(['N', 3, 20, 'r0']);
    expect(infer(['N', 3, 10, 'W'], undefined, [1, 3, 5, 6])).toEqual([1, 3, 5, 6]);
    expect(infer([1, 3, 'H', 'W'])).toEqual(['r0', 'r1', 'r2', 'r3']);
  });
});
