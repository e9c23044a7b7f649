// The search for an input-channel permutation that makes N:M pruning keep more magnitude,
// after NVIDIA apex ASP ("Channel Permutations for N:M Sparsity", Pool & Yu 2021).
//
// Columns sit in stripes of M; N:M pruning keeps the N largest of every row of a stripe, so
// only which columns share a stripe matters (order inside a stripe and the stripes' order do
// not). The search:
//   1. stripe groups: for every group of 2 (or 3) stripes, try every way of regrouping their
//      2M (3M) columns into stripes and remember the best gain;
//   2. greedy: apply the best gains of stripe-disjoint groups, re-evaluate the groups that
//      touch changed stripes, repeat until no group gains;
//   3. escape: from the best solution so far, swap two random columns of two random stripes
//      and descend again; keep the result only if it beats the best (seeded, deterministic).
// Channel swaps (try every swap of two columns of two stripes, apply the improving ones) are
// the cheaper alternative for very wide matrices, where the stripe-group table gets large.
//
// A permutation `perm` maps new column i to old column perm[i].

import { stripeScorer, type ColumnMatrix, type StripeScorer } from './score.js';

export type SearchStrategy = 'auto' | 'stripe-groups' | 'channel-swaps';

export interface SearchOptions {
  readonly n: number;
  readonly m: number;
  /** Seed of the escape moves (default 1): the same seed gives the same permutation. */
  readonly seed?: number;
  /** Stop and return the best permutation found after this long (default: no limit). */
  readonly timeLimitMs?: number;
  /** 'auto' (default) uses channel swaps above `wideColumns` columns. */
  readonly strategy?: SearchStrategy;
  /** Stripes regrouped together by the exhaustive step: 2 (default) or 3. */
  readonly stripesPerGroup?: 2 | 3;
  /** Random escapes tried after the greedy descent converges (default 100). */
  readonly escapeAttempts?: number;
  /** Width from which 'auto' switches to channel swaps (default 2048). */
  readonly wideColumns?: number;
}

export interface SearchResult {
  /** New column i holds old column permutation[i]. */
  readonly permutation: Int32Array;
  readonly strategy: Exclude<SearchStrategy, 'auto'>;
  readonly ms: number;
  /** The time limit cut the search short. */
  readonly timedOut: boolean;
  /** Escape attempts that improved on the best solution. */
  readonly escapesTaken: number;
}

const DEFAULT_ESCAPES = 100;
const DEFAULT_WIDE = 2048;
/** Columns regrouped at once by the exhaustive step, at most (the memo has 2^slots entries). */
const MAX_GROUP_SLOTS = 16;

/** Search a permutation of `matrix`'s columns; returns the identity when cols is not a multiple of M. */
export function searchPermutation(matrix: ColumnMatrix, opts: SearchOptions): SearchResult {
  const start = performance.now();
  const deadline = start + (opts.timeLimitMs ?? Infinity);
  const strategy = chooseStrategy(matrix.cols, opts);
  const k = opts.stripesPerGroup === 3 && 3 * opts.m <= MAX_GROUP_SLOTS ? 3 : 2;
  const state = new Stripes(matrix, opts.n, opts.m);
  const clock = new Clock(deadline);
  let escapesTaken = 0;
  if (state.count >= 2) {
    const descend =
      strategy === 'channel-swaps'
        ? () => channelSwapDescent(state, clock)
        : stripeGroupDescent(state, Math.min(k, state.count), clock);
    escapesTaken = descendWithEscapes(state, descend, opts.escapeAttempts ?? DEFAULT_ESCAPES, opts.seed ?? 1, clock);
  }
  return { permutation: state.perm, strategy, ms: performance.now() - start, timedOut: clock.expired, escapesTaken };
}

/**
 * Stripe groups while the exhaustive step is cheap: 2 stripes of M <= 4 (35 regroupings each).
 * For M = 8 a pair already has 6435 regroupings, and wide matrices have too many pairs: there
 * channel swaps do more per second. Forcing stripe groups works up to 2 stripes of 8.
 */
function chooseStrategy(cols: number, opts: SearchOptions): Exclude<SearchStrategy, 'auto'> {
  const forced = opts.strategy === 'auto' ? undefined : opts.strategy;
  if (forced === 'stripe-groups' && 2 * opts.m <= MAX_GROUP_SLOTS) return forced;
  if (forced === 'channel-swaps') return forced;
  return cols < (opts.wideColumns ?? DEFAULT_WIDE) && opts.m <= 4 ? 'stripe-groups' : 'channel-swaps';
}

/** The current assignment of columns to stripes and each stripe's kept magnitude. */
class Stripes {
  readonly perm: Int32Array;
  readonly kept: Float64Array;
  readonly count: number;
  readonly score: StripeScorer;
  /** Gains below this are rounding noise. */
  readonly epsilon: number;

  constructor(
    readonly matrix: ColumnMatrix,
    readonly n: number,
    readonly m: number,
  ) {
    this.perm = Int32Array.from({ length: matrix.cols }, (_, i) => i);
    this.count = matrix.cols % m === 0 ? matrix.cols / m : 0;
    this.score = stripeScorer(matrix, n, m);
    this.kept = new Float64Array(this.count);
    for (let s = 0; s < this.count; s++) this.kept[s] = this.score(this.perm, s * m);
    let total = 0;
    for (const v of this.kept) total += v;
    this.epsilon = 1e-9 * total + 1e-30;
  }

  total(): number {
    let t = 0;
    for (const v of this.kept) t += v;
    return t;
  }

  rescore(s: number): void {
    this.kept[s] = this.score(this.perm, s * this.m);
  }
}

/** A deadline checked cheaply: the clock is read every few calls only. */
class Clock {
  expired = false;
  private calls = 0;
  constructor(private readonly deadline: number) {}
  check(): boolean {
    if (this.expired) return true;
    if (this.deadline === Infinity || ++this.calls % 16 !== 0) return false;
    this.expired = performance.now() > this.deadline;
    return this.expired;
  }
}

/** xorshift32: small, seeded, the same sequence on every platform. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Descend, then try `attempts` escapes from the best solution: swap two random columns of two
 * random stripes, descend again, keep the result only if it is better. Returns the escapes kept.
 */
function descendWithEscapes(state: Stripes, descend: (changed?: readonly number[]) => void, attempts: number, seed: number, clock: Clock): number {
  const random = rng(seed);
  descend();
  let best = Int32Array.from(state.perm);
  let bestKept = Float64Array.from(state.kept);
  let bestTotal = state.total();
  let taken = 0;
  for (let a = 0; a < attempts && !clock.check(); a++) {
    const s1 = Math.floor(random() * state.count);
    let s2 = Math.floor(random() * (state.count - 1));
    if (s2 >= s1) s2++;
    const i = s1 * state.m + Math.floor(random() * state.m);
    const j = s2 * state.m + Math.floor(random() * state.m);
    [state.perm[i], state.perm[j]] = [state.perm[j]!, state.perm[i]!];
    state.rescore(s1);
    state.rescore(s2);
    descend([s1, s2]);
    const total = state.total();
    if (total > bestTotal + state.epsilon) {
      best = Int32Array.from(state.perm);
      bestKept = Float64Array.from(state.kept);
      bestTotal = total;
      taken++;
    } else {
      state.perm.set(best);
      state.kept.set(bestKept);
    }
  }
  state.perm.set(best);
  state.kept.set(bestKept);
  return taken;
}

// ---- stripe groups ----

/**
 * Every way to split k*M slots into k unordered stripes of M, each given by the bit masks of
 * its stripes. The first partition is the identity (slots 0..M-1, M..2M-1, ...).
 */
function partitions(k: number, m: number): Int32Array {
  const out: number[] = [];
  const size = k * m;
  const current: number[] = [];
  const pick = (remaining: number) => {
    if (remaining === 0) {
      out.push(...current);
      return;
    }
    // The lowest free slot starts the next stripe: stripes come out in one canonical order.
    const first = 31 - Math.clz32(remaining & -remaining);
    const rest = remaining & ~(1 << first);
    const choose = (from: number, mask: number, left: number) => {
      if (left === 0) {
        current.push(mask);
        pick(remaining & ~mask);
        current.pop();
        return;
      }
      for (let b = from; b < size; b++) if (rest & (1 << b)) choose(b + 1, mask | (1 << b), left - 1);
    };
    choose(first + 1, 1 << first, m - 1);
  };
  pick((2 ** size - 1) | 0);
  return Int32Array.from(out);
}

interface GroupTable {
  /** Stripe ids of each group, k per group. */
  readonly members: Int32Array;
  readonly gain: Float64Array;
  /** Index of the best partition of each group. */
  readonly best: Int32Array;
  readonly dirty: Uint8Array;
}

function groupTable(count: number, k: number): GroupTable {
  const members: number[] = [];
  if (k === 2) {
    for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) members.push(a, b);
  } else {
    for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) for (let c = b + 1; c < count; c++) members.push(a, b, c);
  }
  const groups = members.length / k;
  return {
    members: Int32Array.from(members),
    gain: new Float64Array(groups),
    best: new Int32Array(groups),
    dirty: new Uint8Array(groups).fill(1),
  };
}

/**
 * The stripe-group descent: returns a function that descends from the current state, after
 * the given stripes changed (all groups are evaluated on the first call).
 */
function stripeGroupDescent(state: Stripes, k: number, clock: Clock): (changed?: readonly number[]) => void {
  const { m } = state;
  const parts = partitions(k, m);
  const partCount = parts.length / k;
  const table = groupTable(state.count, k);
  const groups = table.gain.length;
  const slots = k * m;
  const memo = new Float64Array(2 ** slots);
  const stamp = new Int32Array(2 ** slots);
  let generation = 0;
  const cols = new Int32Array(slots);
  const subset = new Int32Array(m);

  const scoreMask = (mask: number): number => {
    if (stamp[mask] === generation) return memo[mask]!;
    let j = 0;
    for (let b = 0; b < slots; b++) if (mask & (1 << b)) subset[j++] = cols[b]!;
    const v = state.score(subset);
    memo[mask] = v;
    stamp[mask] = generation;
    return v;
  };

  const evaluate = (g: number) => {
    generation++;
    let current = 0;
    for (let j = 0; j < k; j++) {
      const s = table.members[g * k + j]!;
      cols.set(state.perm.subarray(s * m, (s + 1) * m), j * m);
      current += state.kept[s]!;
    }
    let bestValue = current;
    let best = 0;
    for (let p = 1; p < partCount; p++) {
      let v = 0;
      for (let j = 0; j < k; j++) v += scoreMask(parts[p * k + j]!);
      if (v > bestValue) {
        bestValue = v;
        best = p;
      }
    }
    table.gain[g] = bestValue - current;
    table.best[g] = best;
    table.dirty[g] = 0;
  };

  const apply = (g: number) => {
    for (let j = 0; j < k; j++) {
      const s = table.members[g * k + j]!;
      cols.set(state.perm.subarray(s * m, (s + 1) * m), j * m);
    }
    const p = table.best[g]!;
    for (let j = 0; j < k; j++) {
      const s = table.members[g * k + j]!;
      const mask = parts[p * k + j]!;
      let at = s * m;
      for (let b = 0; b < slots; b++) if (mask & (1 << b)) state.perm[at++] = cols[b]!;
      state.rescore(s);
    }
  };

  const markDirty = (changed: Set<number>) => {
    for (let g = 0; g < groups; g++) {
      if (table.dirty[g]) continue;
      for (let j = 0; j < k; j++) {
        if (changed.has(table.members[g * k + j]!)) {
          table.dirty[g] = 1;
          break;
        }
      }
    }
  };

  return (changed) => {
    if (changed) markDirty(new Set(changed));
    for (;;) {
      for (let g = 0; g < groups; g++) {
        if (table.dirty[g]) {
          if (clock.check()) return;
          evaluate(g);
        }
      }
      const order = [...Array(groups).keys()].filter((g) => table.gain[g]! > state.epsilon);
      if (order.length === 0) return;
      order.sort((a, b) => table.gain[b]! - table.gain[a]! || a - b);
      const used = new Set<number>();
      for (const g of order) {
        const ids = table.members.subarray(g * k, (g + 1) * k);
        if (ids.some((s) => used.has(s))) continue;
        apply(g);
        for (const s of ids) used.add(s);
      }
      markDirty(used);
    }
  };
}

// ---- channel swaps ----

/** First-improvement descent over single swaps of two columns in two different stripes. */
function channelSwapDescent(state: Stripes, clock: Clock): void {
  const { m, perm } = state;
  for (let improved = true; improved; ) {
    improved = false;
    for (let a = 0; a < state.count; a++) {
      for (let b = a + 1; b < state.count; b++) {
        if (clock.check()) return;
        if (bestSwap(state, a, b)) improved = true;
      }
    }
  }

  function bestSwap(s: Stripes, a: number, b: number): boolean {
    const before = s.kept[a]! + s.kept[b]!;
    let bestGain = s.epsilon;
    let bestI = -1;
    let bestJ = -1;
    for (let i = a * m; i < (a + 1) * m; i++) {
      for (let j = b * m; j < (b + 1) * m; j++) {
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        const gain = s.score(perm, a * m) + s.score(perm, b * m) - before;
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        if (gain > bestGain) {
          bestGain = gain;
          bestI = i;
          bestJ = j;
        }
      }
    }
    if (bestI < 0) return false;
    [perm[bestI], perm[bestJ]] = [perm[bestJ]!, perm[bestI]!];
    s.rescore(a);
    s.rescore(b);
    return true;
  }
}
