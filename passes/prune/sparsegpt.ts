// SparseGPT (Frantar & Alistarh 2023): layer-wise Optimal Brain Surgeon pruning. Columns are
// visited left to right; pruning weight (r, i) leaves an error that the remaining columns of row
// r absorb through the inverse Hessian of the layer's inputs, so the layer's output on the
// calibration data moves as little as possible. Work goes in slabs of `blockSize` columns: the
// update inside a slab is eager, the rest of the matrix gets one batched update per slab.
// Masks are chosen per slab (unstructured, blocks) or per group of M columns (N:M) from the
// OBS saliency w^2 / [H^-1]_ii^2 of the weights as updated so far. All math is float64.

import { selectMask } from './masks.js';
import type { SparsityPattern } from './patterns.js';
import { upperCholeskyOfInverse } from './linalg.js';

export interface SparseGptOptions {
  /** Columns per slab (rounded up to a multiple of the pattern's M or block width). */
  blockSize?: number;
  /** Diagonal damping as a fraction of the mean diagonal of H (the paper's 1%). */
  dampening?: number;
}

/**
 * Prune `w` ([rows, cols], row-major) to `pattern` given H = sum over tokens of x x^T
 * ([cols, cols]). Returns the pruned and updated weights; `w` is not modified.
 */
export function sparseGpt(w: Float32Array, rows: number, cols: number, hessian: Float64Array, pattern: SparsityPattern, opts: SparseGptOptions = {}): Float32Array {
  const unit = pattern.kind === 'nm' ? pattern.m : pattern.kind === 'block' ? pattern.cols : 1;
  const slab = Math.ceil((opts.blockSize ?? 128) / unit) * unit;
  const W = Float64Array.from(w);
  const U = inverseHessianFactor(hessian, cols, opts.dampening ?? 0.01);
  const err = new Float64Array(rows * slab);
  const tally = { units: 0, pruned: 0 };

  for (let i1 = 0; i1 < cols; i1 += slab) {
    const i2 = Math.min(i1 + slab, cols);
    const count = i2 - i1;
    let keep = pattern.kind === 'nm' ? undefined : slabMask(W, U, rows, cols, i1, count, pattern, tally);
    for (let j = 0; j < count; j++) {
      const i = i1 + j;
      if (pattern.kind === 'nm' && j % pattern.m === 0) {
        keep = slabMask(W, U, rows, cols, i, Math.min(pattern.m, i2 - i), pattern, tally);
      }
      const stride = pattern.kind === 'nm' ? Math.min(pattern.m, i2 - i1 - (j - (j % pattern.m))) : count;
      const local = pattern.kind === 'nm' ? j % pattern.m : j;
      const d = U[i * cols + i]!;
      for (let r = 0; r < rows; r++) {
        const at = r * cols;
        const wv = W[at + i]!;
        const q = keep![r * stride + local] ? wv : 0;
        const e = (wv - q) / d;
        err[r * slab + j] = e;
        W[at + i] = q;
        if (e === 0) continue;
        const ui = i * cols;
        for (let k = i + 1; k < i2; k++) W[at + k]! -= e * U[ui + k]!;
      }
    }
    // The columns right of the slab absorb the slab's errors in one pass.
    for (let r = 0; r < rows; r++) {
      const at = r * cols;
      for (let j = 0; j < count; j++) {
        const e = err[r * slab + j]!;
        if (e === 0) continue;
        const ui = (i1 + j) * cols;
        for (let k = i2; k < cols; k++) W[at + k]! -= e * U[ui + k]!;
      }
    }
  }
  return Float32Array.from(W);
}

/**
 * The mask for columns [c0, c0 + count) from the OBS saliency. Unstructured and block patterns
 * prune the share that brings the running total to round(ratio * units seen so far), so the
 * layer ends exactly on its target however the slabs divide it.
 */
function slabMask(W: Float64Array, U: Float64Array, rows: number, cols: number, c0: number, count: number, pattern: SparsityPattern, tally: { units: number; pruned: number }): Uint8Array {
  const scores = new Float32Array(rows * count);
  for (let j = 0; j < count; j++) {
    const d = U[(c0 + j) * cols + c0 + j]!;
    const d2 = d * d;
    for (let r = 0; r < rows; r++) {
      const v = W[r * cols + c0 + j]!;
      scores[r * count + j] = (v * v) / d2;
    }
  }
  if (pattern.kind === 'nm') return selectMask(scores, rows, count, pattern);
  const units = pattern.kind === 'block' ? Math.ceil(rows / pattern.rows) * Math.ceil(count / pattern.cols) : rows * count;
  tally.units += units;
  const want = Math.min(units, Math.max(0, Math.round(pattern.ratio * tally.units) - tally.pruned));
  tally.pruned += want;
  return selectMask(scores, rows, count, pattern, { count: want });
}

/**
 * The upper Cholesky factor of the damped inverse Hessian. Columns whose input was always zero
 * get a unit diagonal (their weights then prune freely without moving anything else); if the
 * damped H is still not positive definite the damping grows tenfold, up to 1e4 times the mean.
 */
function inverseHessianFactor(hessian: Float64Array, n: number, dampening: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += hessian[i * n + i]!;
  mean = mean / n || 1;
  for (let damp = dampening; ; damp *= 10) {
    const h = Float64Array.from(hessian);
    for (let i = 0; i < n; i++) {
      if (h[i * n + i] === 0) h[i * n + i] = 1;
      h[i * n + i]! += damp * mean;
    }
    const u = upperCholeskyOfInverse(h, n);
    if (u) return u;
    if (damp > 1e4) throw new Error('sparseGpt: the calibration Hessian is not positive definite even with heavy damping');
  }
}
