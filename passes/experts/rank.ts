// Which experts a block keeps. By a score: the `keep` highest-scoring ones, where scores are gate
// mass (how much of the block's output an expert carries), selection frequency, or, without
// calibration data, the router column norms; ties go to the lower index, so the choice is
// deterministic. By error: the kept set whose block output on calibration tokens stays closest
// to the unpruned one (as in Lu et al. 2024, "Not All Experts are Equal"): every set when there
// are few enough, else experts dropped greedily one at a time.

import type { RoutingStats } from './routing.js';

export type ExpertRankBy = 'mass' | 'frequency' | 'error';

/** Kept sets tried exhaustively up to this many; beyond it, greedy elimination. */
export const EXHAUSTIVE_LIMIT = 5000;

export interface ExpertChoice {
  /** Router columns kept, ascending (the new expert order). */
  readonly kept: number[];
  /** Router columns dropped, ascending. */
  readonly dropped: number[];
}

export function routingScores(stats: RoutingStats, by: 'mass' | 'frequency'): Float64Array {
  return by === 'mass' ? stats.mass : stats.selected;
}

export function chooseExperts(scores: ArrayLike<number>, keep: number): ExpertChoice {
  const n = scores.length;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a positive integer, not ${keep}`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const keptSet = new Set(order.slice(0, Math.min(keep, n)));
  const kept: number[] = [];
  const dropped: number[] = [];
  for (let i = 0; i < n; i++) (keptSet.has(i) ? kept : dropped).push(i);
  return { kept, dropped };
}

/**
 * The kept set of size `keep` (of `experts`) with the lowest `error(kept)`, and per expert the
 * error of dropping it alone from the full set (a score: higher means more needed).
 */
export function chooseByError(experts: number, keep: number, error: (kept: readonly number[]) => number): ExpertChoice & { error: number; scores: Float64Array } {
  const all = Array.from({ length: experts }, (_, i) => i);
  const scores = Float64Array.from(all, (e) => error(all.filter((x) => x !== e)));
  let best: { kept: number[]; error: number };
  if (binomial(experts, keep) <= EXHAUSTIVE_LIMIT) {
    best = { kept: all, error: Infinity };
    for (const kept of subsets(all, keep)) {
      const err = error(kept);
      if (err < best.error) best = { kept, error: err };
    }
  } else {
    best = { kept: all, error: error(all) };
    while (best.kept.length > keep) {
      let next: { kept: number[]; error: number } | undefined;
      for (const e of best.kept) {
        const kept = best.kept.filter((x) => x !== e);
        const err = error(kept);
        if (!next || err < next.error) next = { kept, error: err };
      }
      best = next!;
    }
  }
  return { kept: best.kept, dropped: all.filter((e) => !best.kept.includes(e)), error: best.error, scores };
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Every ascending subset of `items` of size `size`. */
function* subsets(items: readonly number[], size: number, from = 0): Generator<number[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = from; i <= items.length - size; i++) {
    for (const rest of subsets(items, size - 1, i + 1)) yield [items[i]!, ...rest];
  }
}
