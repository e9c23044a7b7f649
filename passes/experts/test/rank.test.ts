// Choosing kept experts: by score (ties to the lower index) and by error (every kept set when
// few enough, else greedy elimination).

import { describe, expect, it } from 'vitest';
import { chooseByError, chooseExperts, EXHAUSTIVE_LIMIT } from '../rank.js';

describe('expert choice', () => {
  it('keeps the highest scores, ties to the lower index, in ascending order', () => {
    expect(chooseExperts([0.1, 0.3, 0.2, 0.3], 2)).toEqual({ kept: [1, 3], dropped: [0, 2] });
    expect(chooseExperts([1, 1, 1], 2)).toEqual({ kept: [0, 1], dropped: [2] });
    expect(chooseExperts([1, 2], 5)).toEqual({ kept: [0, 1], dropped: [] });
    expect(() => chooseExperts([1, 2], 0)).toThrow(/positive integer/);
  });

  it('by error: finds the best kept set exhaustively, and greedily when there are too many', () => {
    // Each dropped expert costs its own amount, except that 2 and 3 only cost little together.
    const cost = [5, 1, 3, 3, 0.5, 4];
    const error = (kept: readonly number[]) => {
      const dropped = cost.map((_, e) => e).filter((e) => !kept.includes(e));
      const both = dropped.includes(2) && dropped.includes(3);
      return dropped.reduce((s, e) => s + cost[e]!, 0) - (both ? 5.5 : 0);
    };
    const best = chooseByError(6, 4, error);
    expect(best.dropped).toEqual([2, 3]);
    expect(best.error).toBeCloseTo(0.5);
    expect(Array.from(best.scores)).toEqual(cost);

    // 24 choose 12 sets are too many: greedy elimination drops the cheapest one at a time.
    const many = Array.from({ length: 24 }, (_, e) => (e * 7) % 24);
    const greedy = chooseByError(24, 12, (kept) => many.reduce((s, c, e) => s + (kept.includes(e) ? 0 : c), 0));
    expect(2704156).toBeGreaterThan(EXHAUSTIVE_LIMIT);
    expect(greedy.dropped.map((e) => many[e]).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});
