import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { codeOf, f32, i64, nums, run1, runOp, typed } from './helpers.js';

/** Naive reference product of row-major [m,k] x [k,n]. */
function naiveMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) out[i * n + j] += a[i * k + p]! * b[p * n + j]!;
  return out;
}

const seq = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('MatMul', () => {
  it('2-D product across block boundaries matches a naive product', () => {
    // k = 131 and n = 517 cross the kernel's 128 x 512 blocks and its 4-row unrolling.
    const [m, k, n] = [3, 131, 517];
    const a = seq(m * k, (i) => ((i * 7) % 13) - 6);
    const b = seq(k * n, (i) => ((i * 5) % 11) - 5);
    a[5] = 0;
    const y = run1('MatMul', [f32(a, [m, k]), f32(b, [k, n])]);
    expect(y.shape).toEqual([m, n]);
    expect(nums(y)).toEqual(naiveMatmul(a, b, m, k, n));
  });

  it('broadcasts batch dims and promotes 1-D operands', () => {
    const a = f32(seq(2 * 2 * 3, (i) => i), [2, 1, 2, 3]);
    const b = f32(seq(3 * 3 * 2, (i) => i - 5), [3, 3, 2]);
    const y = run1('MatMul', [a, b]);
    expect(y.shape).toEqual([2, 3, 2, 2]);
    // Batch (1, 2): a[1] x b[2].
    const got = nums(y).slice((1 * 3 + 2) * 4, (1 * 3 + 2) * 4 + 4);
    expect(got).toEqual(naiveMatmul(nums(a).slice(6, 12), nums(b).slice(12, 18), 2, 3, 2));
    expect(run1('MatMul', [f32([1, 2, 3]), f32(seq(6, (i) => i), [3, 2])]).shape).toEqual([2]);
    expect(nums(run1('MatMul', [f32(seq(6, (i) => i), [2, 3]), f32([1, 1, 1])]))).toEqual([3, 12]);
    expect(nums(run1('MatMul', [f32([1, 2]), f32([3, 4])]))).toEqual([11]);
  });

  it('int and float64 dtypes', () => {
    const y = run1('MatMul', [typed('int32', [1, 2, 3, 4], [2, 2]), typed('int32', [5, 6, 7, 8], [2, 2])]);
    expect(y.dtype).toBe('int32');
    expect(nums(y)).toEqual([19, 22, 43, 50]);
    const d = run1('MatMul', [typed('float64', [0.1], [1, 1]), typed('float64', [0.2], [1, 1])]);
    expect(nums(d)).toEqual([0.1 * 0.2]);
    expect(run1('MatMul', [typed('float16', [1, 2], [1, 2]), typed('float16', [3, 4], [2, 1])]).dtype).toBe('float16');
  });

  it('rejects mismatched inner dims', () => {
    expect(codeOf(() => run1('MatMul', [f32([1, 2], [1, 2]), f32([1, 2, 3], [3, 1])]))).toBe('SHAPE_MISMATCH');
  });
});

describe('Gemm and Linear', () => {
  const a = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = f32([1, 0, 0, 1, 1, 1], [3, 2]);
  it('Gemm with transposes, alpha, beta and broadcast C', () => {
    expect(nums(run1('Gemm', [a, b]))).toEqual([4, 5, 10, 11]);
    const at = f32([1, 4, 2, 5, 3, 6], [3, 2]);
    const bt = f32([1, 0, 1, 0, 1, 1], [2, 3]);
    expect(nums(run1('Gemm', [at, bt, f32([100, 200])], { transA: 1, transB: 1, alpha: 2, beta: 0.5 }))).toEqual([58, 110, 70, 122]);
    expect(nums(run1('Gemm', [a, b, f32([1], [1])], { beta: 2 }))).toEqual([6, 7, 12, 13]);
  });

  it('Linear is x @ W + b over leading dims', () => {
    const x = f32(seq(12, (i) => i), [2, 2, 3]);
    const y = run1('Linear', [x, b, f32([10, 20])]);
    expect(y.shape).toEqual([2, 2, 2]);
    expect(nums(y)).toEqual([12, 23, 18, 29, 24, 35, 30, 41]);
    expect(nums(run1('Linear', [f32([1, 2, 3], [1, 3]), b]))).toEqual([4, 5]);
  });

  it('MatMulInteger subtracts zero points', () => {
    const y = run1('MatMulInteger', [typed('uint8', [11, 12, 13, 14], [2, 2]), typed('uint8', [1, 2, 3, 4], [2, 2]), typed('uint8', [10], []), typed('uint8', [1], [])]);
    expect(y.dtype).toBe('int32');
    // (A - 10) = [[1,2],[3,4]], (B - 1) = [[0,1],[2,3]].
    expect(nums(y)).toEqual([4, 7, 8, 15]);
  });

  it('Det of a batch', () => {
    const y = run1('Det', [f32([1, 2, 3, 4, 2, 0, 0, 2], [2, 2, 2])]);
    expect(nums(y)).toEqual([-2, 4]);
  });
});

describe('Softmax family and CumSum', () => {
  it('Softmax/LogSoftmax/Hardmax along an axis', () => {
    const x = f32([1, 2, 3, 1, 1, 1], [2, 3]);
    const s = nums(run1('Softmax', [x]));
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    s.slice(0, 3).forEach((v, i) => expect(v).toBeCloseTo(e[i]! / z, 6));
    s.slice(3).forEach((v) => expect(v).toBeCloseTo(1 / 3, 6));
    expect(nums(run1('LogSoftmax', [f32([1000, 1000])]))[0]).toBeCloseTo(-Math.log(2), 6);
    expect(nums(run1('Softmax', [x], { axis: 0 })).slice(0, 3).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.5, 0.7311, 0.8808]);
    expect(nums(run1('Hardmax', [f32([3, 1, 3, 0, 2, 1], [2, 3])]))).toEqual([1, 0, 0, 0, 1, 0]);
  });

  it('CumSum exclusive and reverse', () => {
    const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    const axis = i64([1], []);
    expect(nums(run1('CumSum', [x, axis]))).toEqual([1, 3, 6, 4, 9, 15]);
    expect(nums(run1('CumSum', [x, axis], { exclusive: 1 }))).toEqual([0, 1, 3, 0, 4, 9]);
    expect(nums(run1('CumSum', [x, axis], { reverse: 1 }))).toEqual([6, 5, 3, 15, 11, 6]);
    expect(nums(run1('CumSum', [x, typed('int32', [0], [])], { reverse: 1, exclusive: 1 }))).toEqual([4, 5, 6, 0, 0, 0]);
    expect(nums(run1('CumSum', [i64([1, 2, 3]), axis.reshape([1]) && i64([0], [])]))).toEqual([1, 3, 6]);
  });
});

describe('normalizations', () => {
  it('LayerNormalization with scale, bias and stats outputs', () => {
    const x = f32([1, 2, 3, 4, 6, 8], [2, 3]);
    const [y, mean, inv] = runOp('LayerNormalization', [x, f32([1, 1, 2]), f32([0, 1, 0])], { epsilon: 0 }, 3);
    const s = Math.sqrt(2 / 3);
    const want = [-1 / s, 1, 2 / s, -1 / s, 1, 2 / s];
    nums(y!).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(mean!.shape).toEqual([2, 1]);
    expect(nums(mean!)).toEqual([2, 6]);
    expect(nums(inv!)[1]).toBeCloseTo(1 / (2 * s), 5);
  });

  it('LayerNormalization over two axes', () => {
    const y = run1('LayerNormalization', [f32([1, 3, 1, 3], [1, 2, 2]), f32([1])], { axis: 1, epsilon: 0 });
    expect(nums(y)).toEqual([-1, 1, -1, 1]);
  });

  it('RMSNorm divides by the root mean square', () => {
    const y = run1('RMSNorm', [f32([3, 4], [1, 2]), f32([1, 2])], { epsilon: 0 });
    const rms = Math.sqrt(12.5);
    expect(nums(y)[0]).toBeCloseTo(3 / rms, 6);
    expect(nums(y)[1]).toBeCloseTo(8 / rms, 6);
  });

  it('BatchNormalization in inference mode; extra outputs need training mode', () => {
    const x = f32([1, 2, 3, 4], [1, 2, 2, 1]);
    const args = [x, f32([1, 2]), f32([0, 1]), f32([1, 3]), f32([4, 1])];
    const y = run1('BatchNormalization', args, { epsilon: 0 });
    expect(nums(y)).toEqual([0, 0.5, 1, 3]);
    // Training mode is tested in batchnorm-training.test.ts.
    expect(codeOf(() => runOp('BatchNormalization', args, {}, 3))).toBe('UNSUPPORTED_OP');
  });

  it('InstanceNormalization and GroupNormalization', () => {
    const x = f32([1, 3, 10, 20, 5, 5, 0, 4], [1, 4, 2]);
    const inst = nums(run1('InstanceNormalization', [x, f32([1, 1, 1, 1]), f32([0, 0, 0, 0])], { epsilon: 0 }));
    expect(inst.slice(0, 4)).toEqual([-1, 1, -1, 1]);
    const g = nums(run1('GroupNormalization', [f32([1, 3, 5, 7], [1, 2, 2]), f32([1, 2]), f32([0, 10])], { num_groups: 1, epsilon: 0 }));
    const s = Math.sqrt(5);
    [-3 / s, -1 / s, 2 / s + 10, 6 / s + 10].forEach((w, i) => expect(g[i]).toBeCloseTo(w, 5));
    expect(codeOf(() => run1('GroupNormalization', [x, f32([1, 1, 1, 1]), f32([0, 0, 0, 0])], { num_groups: 3 }))).toBe('BAD_ATTRIBUTE');
  });

  it('LpNormalization and MeanVarianceNormalization', () => {
    expect(nums(run1('LpNormalization', [f32([3, 4, 0, 0], [2, 2])]))).toEqual([0.6, 0.8, 0, 0].map(Math.fround));
    expect(nums(run1('LpNormalization', [f32([1, 3], [2])], { p: 1, axis: 0 }))).toEqual([0.25, 0.75]);
    const m = nums(run1('MeanVarianceNormalization', [f32([1, 3, 5, 7], [1, 1, 2, 2])]));
    m.forEach((v, i) => expect(v).toBeCloseTo([-3, -1, 1, 3][i]! / Math.sqrt(5), 5));
  });
});

describe('Einsum', () => {
  const a = f32(seq(6, (i) => i + 1), [2, 3]);
  const b = f32(seq(6, (i) => i - 2), [3, 2]);
  it('matmul, transpose, sum, trace and implicit output', () => {
    expect(nums(run1('Einsum', [a, b], { equation: 'ij,jk->ik' }))).toEqual(naiveMatmul(nums(a), nums(b), 2, 3, 2));
    expect(nums(run1('Einsum', [a, b], { equation: 'ij,jk' }))).toEqual(naiveMatmul(nums(a), nums(b), 2, 3, 2));
    expect(run1('Einsum', [a], { equation: 'ij->ji' }).shape).toEqual([3, 2]);
    expect(nums(run1('Einsum', [a], { equation: 'ij->' }))).toEqual([21]);
    expect(nums(run1('Einsum', [f32([1, 2, 3, 4], [2, 2])], { equation: 'ii' }))).toEqual([5]);
    expect(nums(run1('Einsum', [f32([1, 2, 3, 4], [2, 2])], { equation: 'ii->i' }))).toEqual([1, 4]);
  });

  it('ellipsis with broadcasting', () => {
    const x = f32(seq(12, (i) => i), [2, 2, 3]);
    const y = run1('Einsum', [x, b], { equation: '...ij,jk->...ik' });
    expect(y.shape).toEqual([2, 2, 2]);
    expect(nums(y).slice(4)).toEqual(naiveMatmul(nums(x).slice(6), nums(b), 2, 3, 2));
  });
});

describe('QuantizeLinear / DequantizeLinear', () => {
  it('per tensor, rounding half to even and saturating', () => {
    const q = run1('QuantizeLinear', [f32([0, 1, 2.5, 3.5, 1000, -1000]), f32([1], []), typed('uint8', [10], [])]);
    expect(q.dtype).toBe('uint8');
    expect(nums(q)).toEqual([10, 11, 12, 14, 255, 0]);
    expect(nums(run1('QuantizeLinear', [f32([-300, 5]), f32([2], []), typed('int8', [0], [])]))).toEqual([-128, 2]);
    expect(run1('QuantizeLinear', [f32([1]), f32([1], [])]).dtype).toBe('uint8');
    expect(run1('QuantizeLinear', [f32([-1]), f32([1], [])], { output_dtype: 'int8' }).dtype).toBe('int8');
  });

  it('per axis and blocked', () => {
    const x = f32([1, 2, 3, 4], [2, 2]);
    expect(nums(run1('QuantizeLinear', [x, f32([1, 2]), typed('int8', [0, 0])], { axis: 0 }))).toEqual([1, 2, 2, 2]);
    expect(nums(run1('QuantizeLinear', [f32([1, 2, 3, 4], [1, 4]), f32([1, 4], [1, 2]), typed('int8', [0, 0], [1, 2])], { axis: 1, block_size: 2 }))).toEqual([1, 2, 1, 1]);
  });

  it('dequantize to the scale dtype', () => {
    const y = run1('DequantizeLinear', [typed('int8', [-2, 0, 4]), f32([0.5], []), typed('int8', [2], [])]);
    expect(y.dtype).toBe('float32');
    expect(nums(y)).toEqual([-2, -1, 1]);
    expect(nums(run1('DequantizeLinear', [typed('uint8', [1, 1, 1, 1], [2, 2]), f32([1, 10])], { axis: 1 }))).toEqual([1, 10, 1, 10]);
    expect(run1('DequantizeLinear', [typed('int32', [3]), typed('float16', [2], [])]).dtype).toBe('float16');
  });

  it('DynamicQuantizeLinear derives scale and zero point from the range', () => {
    const [y, scale, zero] = runOp('DynamicQuantizeLinear', [f32([-1.02, 0, 1.53])], {}, 3);
    expect(nums(scale!)[0]).toBeCloseTo(0.01, 7);
    expect(nums(zero!)).toEqual([102]);
    expect(nums(y!)).toEqual([0, 102, 255]);
  });

  it('round trip of float16 scales', () => {
    const t = Tensor.zeros('float16', []);
    t.set(0, 0.25);
    expect(nums(run1('QuantizeLinear', [typed('float16', [1, -1]), t, typed('int8', [0], [])]))).toEqual([4, -4]);
  });
});
