// The dense matrix product behind MatMul, Gemm and Linear: C[M,N] += A[M,K] * B[K,N], all
// row-major at given offsets. Calibration multiplies shapes such as [64x768]x[768x3072] many
// times, so the float loops are blocked: a panel of B (KB rows x NB columns, ~256 KB) stays in
// cache while every row of A streams over it, and four rows of B are combined per pass so each
// element of C is loaded and stored once per four multiply-adds. Zero entries of A are skipped,
// which is free for dense inputs and quick for sparse ones (a skipped 0 * inf yields 0, not NaN).

type FloatArray = Float32Array | Float64Array;

const KB = 128;
const NB = 512;

export function gemmAccumulate(
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  aOff: number,
  b: FloatArray,
  bOff: number,
  c: FloatArray,
  cOff: number,
): void {
  // Separate float32 and float64 loops keep each one monomorphic, so V8 compiles the hot
  // float32 loop for exactly one array type.
  if (a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array) gemmF32(m, n, k, a, aOff, b, bOff, c, cOff);
  else gemmF64(m, n, k, a, aOff, b, bOff, c, cOff);
}

function gemmF64(m: number, n: number, k: number, a: FloatArray, aOff: number, b: FloatArray, bOff: number, c: FloatArray, cOff: number): void {
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[aOff + i * k + p]!;
      if (av === 0) continue;
      const bRow = bOff + p * n;
      const cRow = cOff + i * n;
      for (let j = 0; j < n; j++) c[cRow + j] += av * b[bRow + j]!;
    }
  }
}

function gemmF32(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
): void {
  for (let j0 = 0; j0 < n; j0 += NB) {
    const j1 = Math.min(n, j0 + NB);
    for (let k0 = 0; k0 < k; k0 += KB) {
      const k1 = Math.min(k, k0 + KB);
      for (let i = 0; i < m; i++) {
        const aRow = aOff + i * k;
        const cRow = cOff + i * n;
        let p = k0;
        for (; p + 3 < k1; p += 4) {
          const a0 = a[aRow + p]!;
          const a1 = a[aRow + p + 1]!;
          const a2 = a[aRow + p + 2]!;
          const a3 = a[aRow + p + 3]!;
          if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
          const b0 = bOff + p * n;
          const b1 = b0 + n;
          const b2 = b1 + n;
          const b3 = b2 + n;
          for (let j = j0; j < j1; j++) {
            c[cRow + j] += a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
          }
        }
        for (; p < k1; p++) {
          const av = a[aRow + p]!;
          if (av === 0) continue;
          const b0 = bOff + p * n;
          for (let j = j0; j < j1; j++) c[cRow + j] += av * b[b0 + j]!;
        }
      }
    }
  }
}

/** Row-major transpose of a [rows, cols] matrix at an offset into a new array. */
export function transpose2d<T extends FloatArray>(src: T, off: number, rows: number, cols: number, out: T): T {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[off + r * cols + c]!;
  return out;
}
