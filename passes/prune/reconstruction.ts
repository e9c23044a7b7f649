// How far pruning moved a layer's output on the calibration data:
// ||W X - W' X|| / ||W X||, with X the layer's calibration inputs. With H = sum x x^T this is
// sqrt(sum_r d_r H d_r^T / sum_r w_r H w_r^T) (d = W - W'), exact without keeping X. With only
// the per-column squared norms (diag H) the cross terms are dropped: an estimate.

export interface ReconstructionError {
  relative: number;
  /** 'exact' from the full Hessian, 'diagonal' from the column norms only. */
  kind: 'exact' | 'diagonal';
}

export function reconstructionError(
  before: Float32Array,
  after: Float32Array,
  rows: number,
  cols: number,
  stats: { colSqNorm: Float64Array; hessian?: Float64Array },
): ReconstructionError {
  const h = stats.hessian;
  let num = 0;
  let den = 0;
  const d = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const at = r * cols;
    for (let j = 0; j < cols; j++) d[j] = before[at + j]! - after[at + j]!;
    if (h) {
      num += quadraticForm(h, d, cols);
      den += quadraticForm(h, before.subarray(at, at + cols), cols);
    } else {
      for (let j = 0; j < cols; j++) {
        num += d[j]! * d[j]! * stats.colSqNorm[j]!;
        den += before[at + j]! * before[at + j]! * stats.colSqNorm[j]!;
      }
    }
  }
  return { relative: den > 0 ? Math.sqrt(Math.max(0, num) / den) : 0, kind: h ? 'exact' : 'diagonal' };
}

/** v H v^T for a symmetric H, skipping zero entries of v (pruning differences are sparse). */
function quadraticForm(h: Float64Array, v: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const vi = v[i]!;
    if (vi === 0) continue;
    let t = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) t += h[row + j]! * v[j]!;
    s += vi * t;
  }
  return s;
}
