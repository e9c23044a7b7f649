// Which experts a block keeps: the `keep` highest-scoring ones. Scores are gate mass (how much
// of the block's output an expert carries), selection frequency, or, without calibration data,
// the router column norms. Ties go to the lower index, so the choice is deterministic.

import type { RoutingStats } from './routing.js';

export type ExpertRankBy = 'mass' | 'frequency';

export interface ExpertChoice {
  /** Router columns kept, ascending (the new expert order). */
  readonly kept: number[];
  /** Router columns dropped, ascending. */
  readonly dropped: number[];
}

export function routingScores(stats: RoutingStats, by: ExpertRankBy): Float64Array {
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
