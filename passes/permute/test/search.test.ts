// The permutation search on random matrices: a valid permutation, deterministic for a seed,
// and it wins a good share of what N:M pruning loses over unstructured pruning.

import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers.js';
import { efficacyOf, keptByNM, lostUnstructured, magnitudeColumns, scaledToRoom, stackRows, type ColumnMatrix } from '../score.js';
import { searchPermutation } from '../search.js';

function randomMatrix(rows: number, cols: number, seed: number): ColumnMatrix {
  return magnitudeColumns(seeded([rows, cols], seed).data as Float32Array, rows, cols);
}

function expectPermutation(perm: Int32Array, n: number): void {
  expect(perm.length).toBe(n);
  expect([...perm].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
}

describe('N:M scoring', () => {
  it('keeps the N largest of every M columns in a row', () => {
    // One row: groups [1, 4, 2, 3] and [0, 0, 5, 1].
    const m = magnitudeColumns([1, 4, 2, 3, 0, 0, 5, 1], 1, 8);
    const identity = [0, 1, 2, 3, 4, 5, 6, 7];
    expect(keptByNM(m, identity, 2, 4)).toBe(7 + 6);
    expect(keptByNM(m, identity, 1, 4)).toBe(4 + 5);
    expect(keptByNM(m, identity, 3, 4)).toBe(9 + 6);
    // Unstructured at 50% keeps 5, 4, 3, 2 and loses 1 + 1 + 0 + 0.
    expect(lostUnstructured(m, 2, 4)).toBe(2);
    // Swapping the 2 into the second group: [1, 4, 0, 3] [2, 0, 5, 1] keeps 7 + 7.
    expect(keptByNM(m, [0, 1, 4, 3, 2, 5, 6, 7], 2, 4)).toBe(14);
  });

  it('stacks rows of matrices with the same columns', () => {
    const a = magnitudeColumns([1, 2, 3, 4], 1, 4);
    const b = magnitudeColumns([5, 6, 7, 8, 9, 10, 11, 12], 2, 4);
    const s = stackRows([a, b]);
    expect(s.rows).toBe(3);
    expect([...s.data.subarray(0, 3)]).toEqual([1, 5, 9]);
  });

  it('scales a matrix so that what permutation can win on it is 1, so stacked gains add efficacies', () => {
    const a = randomMatrix(8, 16, 3);
    const b = scaledToRoom(randomMatrix(32, 16, 4), 2, 4)!;
    const identity = [...Array(16).keys()];
    const e = efficacyOf(b, identity, 2, 4);
    expect(e.lostDefault - e.lostUnstructured).toBeCloseTo(1, 5);
    const perm = [4, 1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const sa = scaledToRoom(a, 2, 4)!;
    const stacked = efficacyOf(stackRows([sa, b]), perm, 2, 4);
    const gain = (m: ColumnMatrix) => efficacyOf(m, perm, 2, 4).efficacy;
    expect(stacked.lostDefault - stacked.lostPermuted).toBeCloseTo(gain(a) + gain(b), 4);
    // A matrix N:M pruning loses nothing on has no room.
    expect(scaledToRoom(magnitudeColumns([1, 1, 0, 0, 2, 2, 0, 0], 1, 8), 2, 4)).toBeUndefined();
  });
});

describe('searchPermutation', () => {
  it('reaches well over 20% efficacy on random 64x128 matrices (apex reports ~36%)', () => {
    const effs: number[] = [];
    for (const seed of [11, 22, 33]) {
      const m = randomMatrix(64, 128, seed);
      const r = searchPermutation(m, { n: 2, m: 4, seed, escapeAttempts: 10 });
      expectPermutation(r.permutation, 128);
      const e = efficacyOf(m, r.permutation, 2, 4);
      expect(e.lostPermuted).toBeLessThan(e.lostDefault);
      expect(e.lostPermuted).toBeGreaterThanOrEqual(e.lostUnstructured);
      effs.push(e.efficacy);
    }
    const mean = effs.reduce((a, b) => a + b) / effs.length;
    expect(mean).toBeGreaterThan(0.2);
  });

  it('gives the same permutation for the same seed', () => {
    const m = randomMatrix(16, 64, 5);
    const a = searchPermutation(m, { n: 2, m: 4, seed: 3, escapeAttempts: 20 });
    const b = searchPermutation(m, { n: 2, m: 4, seed: 3, escapeAttempts: 20 });
    expect([...a.permutation]).toEqual([...b.permutation]);
  });

  it('escapes do not make the result worse than the plain descent', () => {
    const m = randomMatrix(32, 64, 9);
    const plain = searchPermutation(m, { n: 2, m: 4, escapeAttempts: 0 });
    const escaped = searchPermutation(m, { n: 2, m: 4, escapeAttempts: 30 });
    expect(keptByNM(m, escaped.permutation, 2, 4)).toBeGreaterThanOrEqual(keptByNM(m, plain.permutation, 2, 4));
  });

  it('works for other N:M patterns, three-stripe groups and channel swaps', () => {
    const m = randomMatrix(16, 32, 4);
    for (const opts of [
      { n: 1, m: 4 },
      { n: 4, m: 8, strategy: 'channel-swaps' as const },
      { n: 1, m: 2 },
      { n: 2, m: 4, stripesPerGroup: 3 as const },
      { n: 2, m: 4, strategy: 'channel-swaps' as const },
    ]) {
      const r = searchPermutation(m, { ...opts, escapeAttempts: 2 });
      expect(r.strategy).toBe(opts.strategy ?? 'stripe-groups');
      expectPermutation(r.permutation, 32);
      const e = efficacyOf(m, r.permutation, opts.n, opts.m);
      expect(e.efficacy, JSON.stringify(opts)).toBeGreaterThan(0.1);
    }
  });

  it('stops at the time limit with a valid permutation', () => {
    const m = randomMatrix(64, 512, 8);
    const r = searchPermutation(m, { n: 2, m: 4, timeLimitMs: 30 });
    expect(r.timedOut).toBe(true);
    expect(r.ms).toBeLessThan(1000);
    expectPermutation(r.permutation, 512);
  });

  it('leaves widths that are not a multiple of M alone', () => {
    const r = searchPermutation(randomMatrix(4, 10, 1), { n: 2, m: 4 });
    expect([...r.permutation]).toEqual([...Array(10).keys()]);
  });
});
