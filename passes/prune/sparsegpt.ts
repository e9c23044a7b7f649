// SparseGPT (Frantar & Alistarh 2023): layer-wise Optimal Brain Surgeon pruning. Columns are
// visited left to right; pruning weight (r, i) leaves an error that the remaining columns of row
// r absorb through the inverse Hessian of the layer's inputs, so the layer's output on the
// calibration data moves as little as possible. Work goes in slabs of `blockSize` columns: the
// update inside a slab is eager, the rest of the matrix gets one batched update per slab.
// Masks are chosen per slab (unstructured, blocks) or per group of M columns (N:M) from the
// OBS saliency w^2 / [H^-1]_ii^2 of the weights as updated so far. All math is float64.

import { selectMask } from './masks.js';
import type { SparsityPattern } from './patterns.js';
import { cholesky, upperCholeskyOfInverse } from './linalg.js';

export interface SparseGptOptions {
  /** Columns per slab (rounded up to a multiple of the pattern's M or block width). */
  blockSize?: number;
  /** Diagonal damping as a fraction of the mean diagonal of H (the paper's 1%). */
  dampening?: number;
  /**
   * After the OBS pass, solve each row's kept weights exactly: minimize the (damped) output
   * error with the mask fixed. OBS freezes columns left of the one being pruned, so it stops
   * short of this optimum. Costs rows x kept^3 / 3 flops; default on for layers up to
   * REFIT_MAX_COLS columns.
   */
  refit?: boolean;
}

/** Widest layer refit by default: 512 columns keep the per-row solves cheap. */
export const REFIT_MAX_COLS = 512;

/**
 * Prune `w` ([rows, cols], row-major) to `pattern` given H = sum over tokens of x x^T
 * ([cols, cols]). Returns the pruned and updated weights; `w` is not modified.
 */
export function sparseGpt(w: Float32Array, rows: number, cols: number, hessian: Float64Array, pattern: SparsityPattern, opts: SparseGptOptions = {}): Float32Array {
  const unit = pattern.kind === 'nm' ? pattern.m : pattern.kind === 'block' ? pattern.cols : 1;
  const slab = Math.ceil((opts.blockSize ?? 128) / unit) * unit;
  const W = Float64Array.from(w);
  const damped = dampedHessian(hessian, cols, opts.dampening ?? 0.01);
  const U = inverseFactor(damped, cols);
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
  if (opts.refit ?? cols <= REFIT_MAX_COLS) refitRows(W, w, rows, cols, damped.h);
  return Float32Array.from(W);
}

/**
 * For each row, the kept weights K that minimize (w - w') H (w - w')^T with w' zero outside K:
 * H_KK w'_K = (H w^T)_K, solved by Cholesky. `W` holds the mask (its zeros) and gets the result.
 */
function refitRows(W: Float64Array, original: Float32Array, rows: number, cols: number, h: Float64Array): void {
  const hw = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const at = r * cols;
    const kept: number[] = [];
    for (let j = 0; j < cols; j++) if (W[at + j] !== 0) kept.push(j);
    const k = kept.length;
    if (k === 0) continue;
    for (let i = 0; i < cols; i++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += h[i * cols + j]! * original[at + j]!;
      hw[i] = s;
    }
    const a = new Float64Array(k * k);
    for (let p = 0; p < k; p++) for (let q = 0; q <= p; q++) a[p * k + q] = a[q * k + p] = h[kept[p]! * cols + kept[q]!]!;
    const l = cholesky(a, k);
    if (!l) continue;
    const y = new Float64Array(k);
    for (let p = 0; p < k; p++) {
      let s = hw[kept[p]!]!;
      for (let q = 0; q < p; q++) s -= l[p * k + q]! * y[q]!;
      y[p] = s / l[p * k + p]!;
    }
    for (let p = k - 1; p >= 0; p--) {
      let s = y[p]!;
      for (let q = p + 1; q < k; q++) s -= l[q * k + p]! * y[q]!;
      y[p] = s / l[p * k + p]!;
    }
    for (let p = 0; p < k; p++) W[at + kept[p]!] = y[p]!;
  }
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
 * H with a damped diagonal. Columns whose input was always zero get a unit diagonal (their
 * weights then prune freely without moving anything else).
 */
function dampedHessian(hessian: Float64Array, n: number, dampening: number): { h: Float64Array; mean: number } {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += hessian[i * n + i]!;
  mean = mean / n || 1;
  const h = Float64Array.from(hessian);
  for (let i = 0; i < n; i++) {
    if (h[i * n + i] === 0) h[i * n + i] = 1;
    h[i * n + i]! += dampening * mean;
  }
  return { h, mean };
}

/**
 * The upper Cholesky factor of inv(H). If H is not numerically positive definite the damping
 * grows tenfold, up to 1e4 times the mean diagonal.
 */
function inverseFactor(damped: { h: Float64Array; mean: number }, n: number): Float64Array {
  for (let extra = 0; ; extra = extra === 0 ? 0.1 : extra * 10) {
    const h = damped.h;
    if (extra > 0) for (let i = 0; i < n; i++) h[i * n + i]! += extra * damped.mean;
    const u = upperCholeskyOfInverse(h, n);
    if (u) return u;
    if (extra > 1e4) throw new Error('sparseGpt: the calibration Hessian is not positive definite even with heavy damping');
  }
}
