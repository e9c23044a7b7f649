import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { f32, nums, run1, typed } from './helpers.js';

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const variance = (v: number[]) => {
  const m = mean(v);
  return mean(v.map((x) => (x - m) ** 2));
};

describe('RandomUniform / RandomNormal', () => {
  it('draws the requested dtype and shape within [low, high)', () => {
    const y = run1('RandomUniform', [], { shape: [100, 50], low: -2, high: 3 });
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([100, 50]);
    const v = nums(y);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...v)).toBeLessThan(3);
    expect(mean(v)).toBeCloseTo(0.5, 1);
    expect(variance(v)).toBeCloseTo(25 / 12, 1);
  });
  it('is reproducible for one seed and differs between seeds', () => {
    const draw = (seed: number) => nums(run1('RandomNormal', [], { shape: [64], seed, dtype: 'float64' }));
    expect(draw(1.5)).toEqual(draw(1.5));
    expect(draw(1.5)).not.toEqual(draw(2.5));
    expect(run1('RandomNormal', [], { shape: [2], dtype: 'float16' }).dtype).toBe('float16');
  });
  it('has the requested mean and scale', () => {
    const v = nums(run1('RandomNormal', [], { shape: [20000], mean: 3, scale: 0.5 }));
    expect(mean(v)).toBeCloseTo(3, 1);
    expect(Math.sqrt(variance(v))).toBeCloseTo(0.5, 1);
  });
  it('takes shape and dtype from the input in the Like forms', () => {
    const x = typed('float64', [0, 0, 0, 0, 0, 0], [2, 3]);
    const u = run1('RandomUniformLike', [x]);
    expect([u.dtype, u.shape]).toEqual(['float64', [2, 3]]);
    const n = run1('RandomNormalLike', [x], { dtype: 'float32' });
    expect([n.dtype, n.shape]).toEqual(['float32', [2, 3]]);
  });
});

describe('Bernoulli', () => {
  it('draws 0 or 1 with the given probabilities', () => {
    const p = f32([...new Array<number>(1000).fill(0), ...new Array<number>(1000).fill(1), ...new Array<number>(4000).fill(0.25)]);
    const v = nums(run1('Bernoulli', [p], { seed: 7 }));
    expect(v.slice(0, 1000).every((x) => x === 0)).toBe(true);
    expect(v.slice(1000, 2000).every((x) => x === 1)).toBe(true);
    expect(mean(v.slice(2000))).toBeCloseTo(0.25, 1);
  });
  it('writes the dtype attribute, bool included', () => {
    const y = run1('Bernoulli', [f32([1, 0])], { dtype: 'bool' });
    expect(y.dtype).toBe('bool');
    expect(Array.from(y.data as Uint8Array)).toEqual([1, 0]);
  });
});

describe('Multinomial', () => {
  it('samples classes from log-probabilities', () => {
    const logits = new Tensor('float32', [2, 2], Float32Array.of(Math.log(0.25), Math.log(0.75), -Infinity, 0));
    const y = run1('Multinomial', [logits], { sample_size: 4000, seed: 3 });
    expect(y.dtype).toBe('int32');
    expect(y.shape).toEqual([2, 4000]);
    const v = nums(y);
    expect(mean(v.slice(0, 4000))).toBeCloseTo(0.75, 1);
    expect(v.slice(4000).every((c) => c === 1)).toBe(true);
    expect(run1('Multinomial', [logits], { dtype: 'int64' }).dtype).toBe('int64');
  });
});
