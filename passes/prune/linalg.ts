// The little dense float64 linear algebra SparseGPT needs: Cholesky factors and the upper
// Cholesky factor of an inverse. Matrices are row-major n x n Float64Arrays.

/** Lower Cholesky factor of a symmetric positive definite matrix, or undefined if it is not. */
export function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    const lj = j * n;
    for (let k = 0; k < j; k++) d -= l[lj + k]! * l[lj + k]!;
    if (!(d > 0)) return undefined;
    const djj = Math.sqrt(d);
    l[lj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j]!;
      for (let k = 0; k < j; k++) s -= l[li + k]! * l[lj + k]!;
      l[li + j] = s / djj;
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix (itself lower-triangular), by forward substitution. */
export function invertLower(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += l[i * n + k]! * inv[k * n + j]!;
      inv[i * n + j] = -s / l[i * n + i]!;
    }
  }
  return inv;
}

/**
 * The upper Cholesky factor U of inv(H) (inv(H) = U^T U), for a symmetric positive definite H:
 * H = L L^T gives inv(H) = L^-T L^-1, whose Cholesky factor is then taken directly. Undefined if
 * H is not positive definite.
 */
export function upperCholeskyOfInverse(h: Float64Array, n: number): Float64Array | undefined {
  const l = cholesky(h, n);
  if (!l) return undefined;
  const li = invertLower(l, n);
  // inv(H)[i][j] = sum_k Li[k][i] * Li[k][j], k >= max(i, j).
  const hinv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const row = k * n;
    for (let i = 0; i <= k; i++) {
      const a = li[row + i]!;
      if (a === 0) continue;
      for (let j = 0; j <= i; j++) hinv[i * n + j]! += a * li[row + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) hinv[j * n + i] = hinv[i * n + j]!;
  const l2 = cholesky(hinv, n);
  if (!l2) return undefined;
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l2[i * n + j]!;
  return u;
}
