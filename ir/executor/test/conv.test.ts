import { describe, expect, it } from 'vitest';
import { SparsecError } from '../../diagnostics.js';
import { Graph } from '../../graph.js';
import { Tensor } from '../../tensor.js';
import { getOpDef } from '../registry.js';
import { f32, nums, run1, typed } from './helpers.js';

const iota = (n: number, shape?: number[], from = 1) => f32(Array.from({ length: n }, (_, i) => i + from), shape);
const ones = (shape: number[]) => f32(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(1), shape);
const close = (t: Tensor, want: number[]) => nums(t).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));

/** A deterministic pseudo-random tensor in [-1, 1). */
function noise(shape: number[], seed: number): Tensor {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  return f32(Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1), shape);
}

/** Direct 2-D convolution by the definition, for comparing the im2col paths against. */
function naiveConv2d(x: Tensor, w: Tensor, o: { group: number; strides: number[]; pads: number[]; dilations: number[] }): number[] {
  const [N, C, H, W] = x.shape as number[] as [number, number, number, number];
  const [M, cg, KH, KW] = w.shape as number[] as [number, number, number, number];
  const OH = Math.floor((H + o.pads[0]! + o.pads[2]! - (KH - 1) * o.dilations[0]! - 1) / o.strides[0]!) + 1;
  const OW = Math.floor((W + o.pads[1]! + o.pads[3]! - (KW - 1) * o.dilations[1]! - 1) / o.strides[1]!) + 1;
  const out: number[] = [];
  const mg = M / o.group;
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let s = 0;
    const g = Math.floor(m / mg);
    for (let c = 0; c < cg; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * o.strides[0]! - o.pads[0]! + kh * o.dilations[0]!;
      const iw = ow * o.strides[1]! - o.pads[1]! + kw * o.dilations[1]!;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      s += x.get(((n * C + g * cg + c) * H + ih) * W + iw) * w.get(((m * cg + c) * KH + kh) * KW + kw);
    }
    out.push(s);
  }
  return out;
}

describe('Conv', () => {
  it('computes a valid 2-D convolution', () => {
    const y = run1('Conv', [iota(9, [1, 1, 3, 3]), ones([1, 1, 2, 2])]);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(nums(y)).toEqual([12, 16, 24, 28]);
  });
  it('pads, strides and adds the bias', () => {
    expect(nums(run1('Conv', [iota(9, [1, 1, 3, 3]), ones([1, 1, 3, 3])], { pads: [1, 1, 1, 1] }))).toEqual([12, 21, 16, 27, 45, 33, 24, 39, 28]);
    const y = run1('Conv', [iota(9, [1, 1, 3, 3]), ones([1, 1, 3, 3]), f32([10])], { pads: [1, 1, 1, 1], strides: [2, 2] });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(nums(y)).toEqual([22, 26, 34, 38]);
  });
  it('puts the odd padding at the end for SAME_UPPER and at the start for SAME_LOWER', () => {
    const x = iota(3, [1, 1, 3]);
    expect(nums(run1('Conv', [x, ones([1, 1, 2])], { auto_pad: 'SAME_UPPER' }))).toEqual([3, 5, 3]);
    expect(nums(run1('Conv', [x, ones([1, 1, 2])], { auto_pad: 'SAME_LOWER' }))).toEqual([1, 3, 5]);
    expect(nums(run1('Conv', [x, ones([1, 1, 2])], { auto_pad: 'VALID', pads: [5, 5] }))).toEqual([3, 5]);
  });
  it('dilates the kernel', () => {
    expect(nums(run1('Conv', [iota(5, [1, 1, 5]), ones([1, 1, 2])], { dilations: [2] }))).toEqual([4, 6, 8]);
  });
  it('runs depthwise and grouped convolutions', () => {
    expect(nums(run1('Conv', [iota(4, [1, 2, 2]), f32([2, 3], [2, 1, 1])], { group: 2 }))).toEqual([2, 4, 9, 12]);
    // Two groups of two channels: out0 = x0 + 10 x1, out1 = 100 x2 + 1000 x3.
    const y = run1('Conv', [iota(4, [1, 4, 1]), f32([1, 10, 100, 1000], [2, 2, 1])], { group: 2 });
    expect(nums(y)).toEqual([21, 4300]);
  });
  it('computes a 3-D convolution', () => {
    expect(nums(run1('Conv', [iota(8, [1, 1, 2, 2, 2]), ones([2, 1, 2, 2, 2])]))).toEqual([36, 36]);
  });
  it('matches a direct convolution for groups, strides, pads and dilations', () => {
    const x = noise([2, 6, 9, 8], 1);
    const cases = [
      { group: 1, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], w: [5, 6, 3, 3] },
      { group: 3, strides: [2, 1], pads: [0, 2, 1, 0], dilations: [1, 2], w: [6, 2, 3, 2] },
      { group: 6, strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], w: [12, 1, 3, 3] },
      { group: 2, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], w: [4, 3, 1, 1] },
      { group: 6, strides: [1, 2], pads: [2, 0, 1, 1], dilations: [2, 1], w: [6, 1, 3, 2] },
    ];
    for (const c of cases) {
      const w = noise(c.w, 7);
      const y = run1('Conv', [x, w], { group: c.group, strides: c.strides, pads: c.pads, dilations: c.dilations });
      close(y, naiveConv2d(x, w, c));
    }
  });
  it('computes in float16 and float64', () => {
    const h = run1('Conv', [typed('float16', nums(iota(9)), [1, 1, 3, 3]), typed('float16', [1, 1, 1, 1], [1, 1, 2, 2])]);
    expect(h.dtype).toBe('float16');
    expect(nums(h)).toEqual([12, 16, 24, 28]);
    const d = run1('Conv', [typed('float64', nums(iota(9)), [1, 1, 3, 3]), typed('float64', [1, 1, 1, 1], [1, 1, 2, 2])]);
    expect(d.dtype).toBe('float64');
    expect(nums(d)).toEqual([12, 16, 24, 28]);
  });
  it('rejects mismatched channels', () => {
    expect(() => run1('Conv', [iota(8, [1, 2, 4]), ones([1, 3, 1])])).toThrow(SparsecError);
  });
});

describe('Conv shape inference', () => {
  const infer = (xShape: (number | string)[], wShape: number[], attrs: Record<string, unknown>) => {
    const g = new Graph('g');
    const node = g.addNode({ op: 'Conv', inputs: [], outputs: 1, attrs: Object.fromEntries(
      Object.entries(attrs).map(([k, v]) => [k, typeof v === 'string' ? { kind: 'string', value: v } : { kind: 'ints', value: v as number[] }]),
    ) });
    let n = 0;
    return getOpDef('Conv')!.infer(node, [{ dtype: 'float32', shape: xShape }, { dtype: 'float32', shape: wShape }], { freshDim: () => `s${n++}` })[0]!;
  };
  it('computes static spatial dims', () => {
    expect(infer([1, 3, 224, 224], [32, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }).shape).toEqual([1, 32, 112, 112]);
  });
  it('keeps a symbolic dim when the window preserves it and makes a fresh one otherwise', () => {
    expect(infer(['N', 8, 'H', 'W'], [4, 8, 3, 3], { auto_pad: 'SAME_UPPER' }).shape).toEqual(['N', 4, 'H', 'W']);
    expect(infer(['N', 8, 'H', 'W'], [4, 8, 3, 3], { pads: [1, 1, 1, 1] }).shape).toEqual(['N', 4, 'H', 'W']);
    expect(infer(['N', 8, 'H', 7], [4, 8, 3, 3], { strides: [2, 2] }).shape).toEqual(['N', 4, 's0', 3]);
  });
});

describe('ConvTranspose', () => {
  const x = iota(3, [1, 1, 3]);
  const w = ones([1, 1, 3]);
  it('scatters each input over the kernel', () => {
    expect(nums(run1('ConvTranspose', [x, w]))).toEqual([1, 3, 6, 5, 3]);
    expect(nums(run1('ConvTranspose', [x, w], { strides: [2] }))).toEqual([1, 1, 3, 2, 5, 3, 3]);
  });
  it('crops pads and extends with output_padding or output_shape', () => {
    expect(nums(run1('ConvTranspose', [x, w], { strides: [2], pads: [1, 1] }))).toEqual([1, 3, 2, 5, 3]);
    expect(nums(run1('ConvTranspose', [x, w], { strides: [2], output_padding: [1] }))).toEqual([1, 1, 3, 2, 5, 3, 3, 0]);
    expect(nums(run1('ConvTranspose', [x, w], { strides: [2], output_shape: [8] }))).toEqual([1, 1, 3, 2, 5, 3, 3, 0]);
  });
  it('places SAME_UPPER and SAME_LOWER crops at opposite ends', () => {
    expect(nums(run1('ConvTranspose', [x, w], { strides: [2], auto_pad: 'SAME_UPPER' }))).toEqual([1, 1, 3, 2, 5, 3]);
    expect(nums(run1('ConvTranspose', [x, w], { strides: [2], auto_pad: 'SAME_LOWER' }))).toEqual([1, 3, 2, 5, 3, 3]);
  });
  it('handles groups, several output channels per group and bias', () => {
    // Group 0 maps channel 0 to outputs 0,1 (weights 1, 2); group 1 maps channel 1 to outputs 2,3 (3, 4).
    const y = run1('ConvTranspose', [f32([1, 2, 3, 4], [1, 2, 2]), f32([1, 2, 3, 4], [2, 2, 1]), f32([0, 0, 0, 100])], { group: 2 });
    expect(y.shape).toEqual([1, 4, 2]);
    expect(nums(y)).toEqual([1, 2, 2, 4, 9, 12, 112, 116]);
  });
});

describe('Col2Im', () => {
  it('sums overlapping blocks back into the image', () => {
    const y = run1('Col2Im', [f32([1, 2, 3, 4], [1, 2, 2]), Tensor.int64([3]), Tensor.int64([2])]);
    expect(y.shape).toEqual([1, 1, 3]);
    expect(nums(y)).toEqual([1, 5, 4]);
  });
});

describe('ConvInteger and QLinearConv', () => {
  it('convolves zero-point-shifted integers into int32', () => {
    const y = run1('ConvInteger', [typed('uint8', [2, 3, 4], [1, 1, 3]), typed('uint8', [1, 2], [1, 1, 2]), typed('uint8', [1], [])]);
    expect(y.dtype).toBe('int32');
    expect(nums(y)).toEqual([5, 8]);
  });
  it('requantizes with round-half-even and saturates', () => {
    const scalar = (dtype: Tensor['dtype'], v: number) => typed(dtype, [v], []);
    const y = run1('QLinearConv', [
      typed('uint8', [10, 1, 255], [1, 1, 3]), scalar('float32', 0.5), scalar('uint8', 0),
      typed('int8', [2], [1, 1, 1]), scalar('float32', 0.25), scalar('int8', 0),
      scalar('float32', 0.5), scalar('uint8', 200),
    ]);
    expect(y.dtype).toBe('uint8');
    // Real values 2.5, 0.25, 63.75 are 5, 0.5, 127.5 output steps.
    expect(nums(y)).toEqual([205, 200, 255]);
  });
});
