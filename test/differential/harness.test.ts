// The comparison the differential suites rely on must actually reject wrong outputs.

import { describe, expect, it } from 'vitest';
import { Tensor } from '../../ir/tensor.js';
import { compare, compareAll } from './harness.js';

describe('differential comparison', () => {
  const expected = Tensor.float32([10, -2, 0.5, 0], [2, 2]);

  it('accepts errors within 1e-4 of the largest magnitude', () => {
    const c = compare(Tensor.float32([10.0009, -2, 0.5, 0], [2, 2]), expected);
    expect(c.bound).toBeCloseTo(1e-3, 9);
    expect(c.ok).toBe(true);
  });

  it('rejects larger errors, NaN, and shape or dtype mismatches', () => {
    expect(compare(Tensor.float32([10, -2, 0.5, 0.0011], [2, 2]), expected).ok).toBe(false);
    expect(compare(Tensor.float32([10, -2, NaN, 0], [2, 2]), expected).ok).toBe(false);
    expect(compare(Tensor.float32([10, -2, 0.5, 0], [4]), expected).mismatch).toBe('float32[4] vs float32[2,2]');
    expect(compare(Tensor.int64([10, -2, 0, 0], [2, 2]), expected).ok).toBe(false);
  });

  it('uses an absolute bound of 1e-4 for outputs smaller than 1', () => {
    const small = Tensor.float32([0.01, 0.02]);
    expect(compare(Tensor.float32([0.01009, 0.02]), small).ok).toBe(true);
    expect(compare(Tensor.float32([0.0102, 0.02]), small).ok).toBe(false);
  });

  it('reports missing outputs', () => {
    const { failures } = compareAll(new Map(), new Map([['y', expected]]), 'test');
    expect(failures).toEqual(['test: output y missing']);
  });
});
