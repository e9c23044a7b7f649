// How much magnitude N:M pruning keeps, for a magnitude matrix whose columns may be permuted.
//
// Matrices here are column-major: a column is one input channel (the thing a permutation
// moves), and N:M groups are runs of M consecutive columns ("stripes") of one row. Storing
// columns contiguously makes a stripe's rows cheap to walk, which is all the search does.

/** A non-negative [rows, cols] matrix, column-major: element (r, c) is data[c * rows + r]. */
export interface ColumnMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** |m| of a row-major [rows, cols] matrix, as a ColumnMatrix. */
export function magnitudeColumns(rowMajor: ArrayLike<number>, rows: number, cols: number): ColumnMatrix {
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[c * rows + r] = Math.abs(rowMajor[r * cols + c]!);
  }
  return { rows, cols, data };
}

/** Rows of several matrices with the same columns stacked into one (their objectives add up). */
export function stackRows(parts: readonly ColumnMatrix[]): ColumnMatrix {
  const cols = parts[0]!.cols;
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const data = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    let at = c * rows;
    for (const p of parts) {
      if (p.cols !== cols) throw new Error(`stackRows: ${p.cols} columns, expected ${cols}`);
      data.set(p.data.subarray(c * p.rows, (c + 1) * p.rows), at);
      at += p.rows;
    }
  }
  return { rows, cols, data };
}

/** Scales a matrix so its mean element is 1: layers of a group then weigh alike in the search. */
export function normalized(m: ColumnMatrix): ColumnMatrix {
  let sum = 0;
  for (const v of m.data) sum += v;
  if (sum === 0) return m;
  const k = m.data.length / sum;
  return { rows: m.rows, cols: m.cols, data: m.data.map((v) => v * k) };
}

/**
 * Scales a matrix so that what permutation can win on it, lostDefault - lostUnstructured, is 1:
 * a sum of such matrices gains the sum of their efficacies, so a search on it maximizes the
 * mean efficacy of the layers sharing a permutation. Undefined when nothing can be won.
 */
export function scaledToRoom(m: ColumnMatrix, n: number, groupSize: number): ColumnMatrix | undefined {
  const identity = Int32Array.from({ length: m.cols }, (_, i) => i);
  const { total, lostDefault, lostUnstructured } = efficacyOf(m, identity, n, groupSize);
  const room = lostDefault - lostUnstructured;
  if (!(room > 1e-9 * total)) return undefined;
  return { rows: m.rows, cols: m.cols, data: m.data.map((v) => v / room) };
}

/**
 * A function giving the magnitude N:M pruning keeps in one stripe: the sum over rows of the N
 * largest of the stripe's M values in that row. `cols` holds the stripe's M column indices.
 */
export type StripeScorer = (cols: ArrayLike<number>, offset?: number) => number;

export function stripeScorer(m: ColumnMatrix, n: number, groupSize: number): StripeScorer {
  const { rows, data } = m;
  if (n === 2 && groupSize === 4) {
    // The common case, unrolled: the two largest of four.
    return (cols, offset = 0) => {
      const c0 = cols[offset]! * rows;
      const c1 = cols[offset + 1]! * rows;
      const c2 = cols[offset + 2]! * rows;
      const c3 = cols[offset + 3]! * rows;
      let kept = 0;
      for (let r = 0; r < rows; r++) {
        // Branch-free, since random magnitudes defeat branch prediction (this was 3-5x faster
        // than compares): max(x, y) = (x + y + |x - y|) / 2 and min(x, y) = (x + y - |x - y|) / 2.
        // With hi/lo the larger/smaller of each pair, the two largest of four are max(hi1, hi2)
        // and max(min(hi1, hi2), max(lo1, lo2)). Values below carry a factor of 2 or 4.
        const x0 = data[c0 + r]!;
        const x1 = data[c1 + r]!;
        const x2 = data[c2 + r]!;
        const x3 = data[c3 + r]!;
        const d01 = Math.abs(x0 - x1);
        const d23 = Math.abs(x2 - x3);
        const hi1 = x0 + x1 + d01;
        const lo1 = x0 + x1 - d01;
        const hi2 = x2 + x3 + d23;
        const lo2 = x2 + x3 - d23;
        const dHi = Math.abs(hi1 - hi2);
        const minHi = hi1 + hi2 - dHi;
        const maxLo = lo1 + lo2 + Math.abs(lo1 - lo2);
        kept += 0.25 * (hi1 + hi2 + dHi) + 0.125 * (minHi + maxLo + Math.abs(minHi - maxLo));
      }
      return kept;
    };
  }
  const top = new Float64Array(n);
  return (cols, offset = 0) => {
    let kept = 0;
    for (let r = 0; r < rows; r++) {
      // Insertion into a descending list of the N largest so far.
      top.fill(-1);
      for (let j = 0; j < groupSize; j++) {
        const v = data[cols[offset + j]! * rows + r]!;
        if (v <= top[n - 1]!) continue;
        let k = n - 1;
        while (k > 0 && top[k - 1]! < v) {
          top[k] = top[k - 1]!;
          k--;
        }
        top[k] = v;
      }
      for (let k = 0; k < n; k++) kept += top[k]!;
    }
    return kept;
  };
}

/** Magnitude kept by N:M pruning when new column i holds old column perm[i]. */
export function keptByNM(m: ColumnMatrix, perm: ArrayLike<number>, n: number, groupSize: number): number {
  const score = stripeScorer(m, n, groupSize);
  let kept = 0;
  for (let s = 0; s + groupSize <= m.cols; s += groupSize) kept += score(perm, s);
  return kept;
}

export function totalMagnitude(m: ColumnMatrix): number {
  let sum = 0;
  for (const v of m.data) sum += v;
  return sum;
}

/** Magnitude lost by unstructured pruning to the same density n/m (the largest values kept). */
export function lostUnstructured(m: ColumnMatrix, n: number, groupSize: number): number {
  const sorted = Float32Array.from(m.data).sort();
  const pruned = sorted.length - Math.floor((sorted.length * n) / groupSize);
  let lost = 0;
  for (let i = 0; i < pruned; i++) lost += sorted[i]!;
  return lost;
}

export interface Efficacy {
  /** Sum of all magnitudes. */
  readonly total: number;
  readonly lostDefault: number;
  readonly lostPermuted: number;
  readonly lostUnstructured: number;
  /** (lostDefault - lostPermuted) / (lostDefault - lostUnstructured); 0 when nothing can be won. */
  readonly efficacy: number;
}

export function efficacyOf(m: ColumnMatrix, perm: ArrayLike<number>, n: number, groupSize: number): Efficacy {
  const identity = Int32Array.from({ length: m.cols }, (_, i) => i);
  const total = totalMagnitude(m);
  const lostDefault = total - keptByNM(m, identity, n, groupSize);
  const lostPermuted = total - keptByNM(m, perm, n, groupSize);
  const lostUnstructured_ = lostUnstructured(m, n, groupSize);
  const room = lostDefault - lostUnstructured_;
  const efficacy = room > 1e-12 * total ? (lostDefault - lostPermuted) / room : 0;
  return { total, lostDefault, lostPermuted, lostUnstructured: lostUnstructured_, efficacy };
}
