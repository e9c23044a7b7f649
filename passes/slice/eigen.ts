// Symmetric eigendecomposition by cyclic Jacobi rotations, in float64. SliceGPT needs the
// eigenvectors of d x d activation covariances (d = the residual width); Jacobi is simple,
// accurate to working precision and fast enough for the widths sparsec meets (about n^3 flops
// per sweep, under ten sweeps).

export interface Eigen {
  readonly n: number;
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /** Row-major n x n; column j is the unit eigenvector of values[j]. Orthogonal. */
  readonly vectors: Float64Array;
}

const MAX_SWEEPS = 60;

/** Eigenvalues and eigenvectors of the symmetric row-major n x n matrix `a` (left unchanged). */
export function symmetricEigen(a: Float64Array, n: number): Eigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: ${a.length} elements for a ${n}x${n} matrix`);
  const m = Float64Array.from(a);
  const v = identity(n);
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i]! * m[i]!;
  const tolerance = 1e-30 * Math.max(total, Number.MIN_VALUE);
  for (let sweep = 0; sweep < MAX_SWEEPS && offDiagonal(m, n) > tolerance; sweep++) {
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) rotate(m, v, n, p, q);
  }
  return sortDescending(m, v, n);
}

/** Zero m[p][q] by the rotation J(p, q) applied on both sides; accumulate J into v. */
function rotate(m: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = m[p * n + q]!;
  if (apq === 0) return;
  const app = m[p * n + p]!;
  const aqq = m[q * n + q]!;
  const theta = (aqq - app) / (2 * apq);
  // The smaller root of t^2 + 2 theta t - 1 = 0 keeps the rotation angle under pi/4.
  const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  m[p * n + p] = app - t * apq;
  m[q * n + q] = aqq + t * apq;
  m[p * n + q] = 0;
  m[q * n + p] = 0;
  for (let r = 0; r < n; r++) {
    if (r !== p && r !== q) {
      const arp = m[r * n + p]!;
      const arq = m[r * n + q]!;
      const np = c * arp - s * arq;
      const nq = s * arp + c * arq;
      m[r * n + p] = np;
      m[p * n + r] = np;
      m[r * n + q] = nq;
      m[q * n + r] = nq;
    }
    const vrp = v[r * n + p]!;
    const vrq = v[r * n + q]!;
    v[r * n + p] = c * vrp - s * vrq;
    v[r * n + q] = s * vrp + c * vrq;
  }
}

function offDiagonal(m: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) s += m[i * n + j]! * m[i * n + j]!;
  return s;
}

function identity(n: number): Float64Array {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  return v;
}

function sortDescending(m: Float64Array, v: Float64Array, n: number): Eigen {
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j]! - m[i * n + i]!);
  const values = Float64Array.from(order, (i) => m[i * n + i]!);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let j = 0; j < n; j++) vectors[r * n + j] = v[r * n + order[j]!]!;
  return { n, values, vectors };
}
