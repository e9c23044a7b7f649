import { describe, expect, it } from 'vitest';
import { f32, nums, runOp, typed } from './helpers.js';
import { inferOne } from './infer-helper.js';

describe('BatchNormalization training mode', () => {
  // [N=2, C=2, 1]: channel 0 holds 1, 3 (mean 2, variance 1); channel 1 holds 10, 20 (mean 15, variance 25).
  const x = f32([1, 10, 3, 20], [2, 2, 1]);
  const scale = f32([1, 2]);
  const bias = f32([0, 1]);

  it('normalizes with batch statistics and updates the running ones with momentum', () => {
    const [y, runningMean, runningVar] = runOp(
      'BatchNormalization',
      [x, scale, bias, f32([0, 5]), f32([1, 1])],
      { training_mode: 1, epsilon: 0, momentum: 0.5 },
      3,
    );
    expect(nums(y!)).toEqual([-1, -1, 1, 3]);
    expect(nums(runningMean!)).toEqual([1, 10]);
    expect(nums(runningVar!)).toEqual([1, 13]);
  });

  it('defaults to momentum 0.9 and keeps the statistics dtype', () => {
    const [, runningMean, runningVar] = runOp(
      'BatchNormalization',
      [x, scale, bias, typed('float64', [0, 5]), typed('float64', [1, 1])],
      { training_mode: 1 },
      3,
    );
    expect(runningMean!.dtype).toBe('float64');
    nums(runningMean!).forEach((v, i) => expect(v).toBeCloseTo([0.2, 6][i]!, 12));
    nums(runningVar!).forEach((v, i) => expect(v).toBeCloseTo([1, 3.4][i]!, 12));
  });

  it('infers [C] statistics outputs', () => {
    const types = inferOne(
      'BatchNormalization',
      [{ dtype: 'float32', shape: ['n', 3, 8] }, undefined, undefined, { dtype: 'float32', shape: [3] }, { dtype: 'float32', shape: [3] }],
      { training_mode: 1 },
      3,
    );
    expect(types).toEqual([
      { dtype: 'float32', shape: ['n', 3, 8] },
      { dtype: 'float32', shape: [3] },
      { dtype: 'float32', shape: [3] },
    ]);
  });
});
