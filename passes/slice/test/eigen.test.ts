import { describe, expect, it } from 'vitest';
import { symmetricEigen } from '../eigen.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = next();
  return a;
}

describe('symmetricEigen', () => {
  it('gives orthonormal eigenvectors, eigenvalues largest first, A V = V diag(values)', () => {
    const n = 24;
    const a = randomSymmetric(n, 7);
    const { values, vectors: v } = symmetricEigen(a, n);
    for (let j = 1; j < n; j++) expect(values[j]!).toBeLessThanOrEqual(values[j - 1]!);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let av = 0;
        let vtv = 0;
        for (let k = 0; k < n; k++) {
          av += a[i * n + k]! * v[k * n + j]!;
          vtv += v[k * n + i]! * v[k * n + j]!;
        }
        worst = Math.max(worst, Math.abs(av - v[i * n + j]! * values[j]!), Math.abs(vtv - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-10);
  });

  it('handles a diagonal matrix and repeated eigenvalues', () => {
    const a = Float64Array.from([2, 0, 0, 0, 5, 0, 0, 0, 2]);
    const { values } = symmetricEigen(a, 3);
    expect([...values]).toEqual([5, 2, 2]);
  });
});
