import { describe, expect, it } from 'vitest';
import { codeOf, f32, i64, nums, run1, runOp, typed } from './helpers.js';
import { inferOne } from './infer-helper.js';

// Log-probabilities of 2 samples over 3 classes.
const logp = f32([-1, -2, -3, -0.5, -1.5, -2.5], [2, 3]);
const target = i64([2, 0]);

describe('NegativeLogLikelihoodLoss', () => {
  it('picks -logp at the target class, then reduces', () => {
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, target], { reduction: 'none' }))).toEqual([3, 0.5]);
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, target], { reduction: 'sum' }))).toEqual([3.5]);
    const mean = run1('NegativeLogLikelihoodLoss', [logp, target]);
    expect(mean.shape).toEqual([]);
    expect(nums(mean)).toEqual([1.75]);
  });

  it('weights classes; mean divides by the total weight', () => {
    const w = f32([1, 2, 4]);
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, target, w], { reduction: 'none' }))).toEqual([12, 0.5]);
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, target, w]))).toEqual([(12 + 0.5) / (4 + 1)]);
  });

  it('ignore_index drops positions from the sum and the weight total, even out-of-range ones', () => {
    const w = f32([1, 2, 4]);
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, target, w], { reduction: 'none', ignore_index: 0 }))).toEqual([12, 0]);
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, target, w], { ignore_index: 0 }))).toEqual([3]);
    const negative = i64([-1, 1]);
    expect(nums(run1('NegativeLogLikelihoodLoss', [logp, negative], { ignore_index: -1 }))).toEqual([1.5]);
    expect(Number.isNaN(nums(run1('NegativeLogLikelihoodLoss', [logp, i64([5, 5])], { ignore_index: 5 }))[0])).toBe(true);
  });

  it('reads N-D inputs as [N, C, d...] with int32 targets', () => {
    // N=1, C=2, d=2: class 0 holds [-1, -2], class 1 holds [-3, -4].
    const y = run1('NegativeLogLikelihoodLoss', [f32([-1, -2, -3, -4], [1, 2, 2]), typed('int32', [1, 0], [1, 2])], { reduction: 'none' });
    expect(y.shape).toEqual([1, 2]);
    expect(nums(y)).toEqual([3, 2]);
  });

  it('keeps float64 and float16 dtypes', () => {
    const d = run1('NegativeLogLikelihoodLoss', [typed('float64', [-0.1, -0.2], [1, 2]), i64([1])]);
    expect(d.dtype).toBe('float64');
    expect(nums(d)).toEqual([0.2]);
    const h = run1('NegativeLogLikelihoodLoss', [typed('float16', [-0.5, -0.25], [1, 2]), i64([1])], { reduction: 'sum' });
    expect(h.dtype).toBe('float16');
    expect(nums(h)).toEqual([0.25]);
  });

  it('rejects bad class indices, shapes and reductions', () => {
    expect(codeOf(() => run1('NegativeLogLikelihoodLoss', [logp, i64([3, 0])]))).toBe('BAD_INPUT');
    expect(codeOf(() => run1('NegativeLogLikelihoodLoss', [logp, i64([0, 0, 0])]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => run1('NegativeLogLikelihoodLoss', [logp, target, f32([1, 1])]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => run1('NegativeLogLikelihoodLoss', [logp, target], { reduction: 'max' }))).toBe('BAD_ATTRIBUTE');
    expect(codeOf(() => run1('NegativeLogLikelihoodLoss', [logp, f32([0, 1])]))).toBe('TYPE_MISMATCH');
  });

  it('infers the loss shape from the reduction', () => {
    const x = { dtype: 'float32' as const, shape: ['n', 3, 4] };
    const t = { dtype: 'int64' as const, shape: ['n', 4] };
    expect(inferOne('NegativeLogLikelihoodLoss', [x, t], { reduction: 'none' })[0]).toEqual({ dtype: 'float32', shape: ['n', 4] });
    expect(inferOne('NegativeLogLikelihoodLoss', [x, t])[0]).toEqual({ dtype: 'float32', shape: [] });
    expect(codeOf(() => inferOne('NegativeLogLikelihoodLoss', [x, { dtype: 'int64', shape: ['n', 5] }]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => inferOne('NegativeLogLikelihoodLoss', [x, t], { reduction: 'avg' }))).toBe('BAD_ATTRIBUTE');
  });
});

describe('SoftmaxCrossEntropyLoss', () => {
  it('is NLL over LogSoftmax along axis 1, with the log-probabilities as a second output', () => {
    const [loss, lp] = runOp('SoftmaxCrossEntropyLoss', [f32([0, 0, 1, 1, 1, 1], [2, 3]), i64([0, 2])], {}, 2);
    // Row 0: -log(1 / (2 + e)); row 1: -log(1 / 3); the default reduction is the mean.
    expect(nums(loss!)[0]).toBeCloseTo((Math.log(2 + Math.E) + Math.log(3)) / 2, 6);
    expect(lp!.shape).toEqual([2, 3]);
    nums(lp!).slice(3).forEach((v) => expect(v).toBeCloseTo(-Math.log(3), 6));
    // exp(logp) of the first row: [1, 1, e] / (2 + e).
    expect(Math.exp(nums(lp!)[2]!)).toBeCloseTo(Math.E / (2 + Math.E), 6);
  });

  it('weights, ignore_index and N-D scores', () => {
    // [N=1, C=2, d=2]: position 0 scores (0, ln 3), position 1 scores (0, 0).
    const scores = f32([0, 0, Math.log(3), 0], [1, 2, 2]);
    const none = run1('SoftmaxCrossEntropyLoss', [scores, i64([0, 1], [1, 2]), f32([2, 1])], { reduction: 'none' });
    expect(none.shape).toEqual([1, 2]);
    const [a, b] = nums(none);
    expect(a).toBeCloseTo(2 * Math.log(4), 5);
    expect(b).toBeCloseTo(Math.log(2), 5);
    const mean = run1('SoftmaxCrossEntropyLoss', [scores, i64([0, 1], [1, 2]), f32([2, 1])], { ignore_index: 1 });
    expect(nums(mean)[0]).toBeCloseTo(Math.log(4), 5);
  });

  it('infers both outputs', () => {
    const [loss, lp] = inferOne('SoftmaxCrossEntropyLoss', [{ dtype: 'float16', shape: [2, 3] }, { dtype: 'int32', shape: [2] }], { reduction: 'sum' }, 2);
    expect(loss).toEqual({ dtype: 'float16', shape: [] });
    expect(lp).toEqual({ dtype: 'float16', shape: [2, 3] });
  });
});
