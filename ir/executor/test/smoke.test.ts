import { describe, expect, it } from 'vitest';
import { run1, f32, i64, typed, nums } from './helpers.js';
describe('smoke', () => {
  it('add', () => {
    const y = run1('Add', [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([10, 20, 30], [3])]);
    expect(y.shape).toEqual([2, 3]);
    expect(nums(y)).toEqual([11, 22, 33, 14, 25, 36]);
    const z = run1('Add', [f32([1, 2], [2, 1]), f32([10, 20, 30], [1, 3])]);
    expect(nums(z)).toEqual([11, 21, 31, 12, 22, 32]);
    expect(nums(run1('Div', [i64([7, -7]), i64([2, 2])]))).toEqual([3, -3]);
    expect(nums(run1('Mod', [i64([7, -7]), i64([3, 3])]))).toEqual([1, 2]);
    expect(nums(run1('Gelu', [f32([1])]))).toBeDefined();
    expect(nums(run1('Cast', [f32([1.7, -2.5])], { to: 'int32' }))).toEqual([1, -2]);
    expect(nums(run1('Max', [typed('float16', [1, 5]), typed('float16', [3, 2])]))).toEqual([3, 5]);
    expect(nums(run1('Where', [typed('bool', [1, 0]), f32([1, 2]), f32([3, 4])]))).toEqual([1, 4]);
  });
});
