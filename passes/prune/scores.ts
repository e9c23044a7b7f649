// Importance scores of the one-shot methods (higher = more important, always non-negative).

/** Magnitude pruning: |W|. */
export function magnitudeScores(w: Float32Array): Float32Array {
  const s = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) s[i] = Math.abs(w[i]!);
  return s;
}

/**
 * Wanda (Sun et al. 2023): |W_ij| * ||X_j||_2, the weight's magnitude times the L2 norm of the
 * input channel it multiplies over the calibration tokens. `colSqNorm[j]` is that squared norm.
 */
export function wandaScores(w: Float32Array, rows: number, cols: number, colSqNorm: Float64Array): Float32Array {
  const norm = new Float64Array(cols);
  for (let j = 0; j < cols; j++) norm[j] = Math.sqrt(colSqNorm[j]!);
  const s = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let j = 0; j < cols; j++) s[row + j] = Math.abs(w[row + j]!) * norm[j]!;
  }
  return s;
}

/** Zero the weights a mask drops; returns how many weights are zero afterwards. */
export function applyMask(w: Float32Array, keep: Uint8Array): number {
  let zeros = 0;
  for (let i = 0; i < w.length; i++) {
    if (!keep[i]) w[i] = 0;
    if (w[i] === 0) zeros++;
  }
  return zeros;
}
