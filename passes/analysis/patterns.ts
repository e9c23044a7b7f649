// Sparsity patterns of one [rows, cols] weight matrix: density, N:M compliance along the
// reduction axis, all-zero blocks, dead rows and columns. Pure functions over a nonzero mask.

/** An N:M pattern: at most n nonzeros in every group of m consecutive columns. */
export interface NMPattern {
  readonly n: number;
  readonly m: number;
}

/** A block shape in the [rows, cols] view: `rows` output channels by `cols` reduction columns. */
export interface BlockShape {
  readonly rows: number;
  readonly cols: number;
}

export const NM_PATTERNS: readonly NMPattern[] = [
  { n: 1, m: 2 },
  { n: 2, m: 4 },
  { n: 4, m: 8 },
  { n: 1, m: 4 },
];

export const BLOCK_SHAPES: readonly BlockShape[] = [
  { rows: 1, cols: 4 },
  { rows: 4, cols: 1 },
  { rows: 8, cols: 1 },
  { rows: 4, cols: 4 },
];

export const nmLabel = (p: NMPattern): string => `${p.n}:${p.m}`;
export const blockLabel = (b: BlockShape): string => `${b.rows}x${b.cols}`;

/** 1 where the weight is nonzero (NaN counts as nonzero). */
export function nonzeroMask(w: Float32Array): Uint8Array {
  const mask = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) mask[i] = w[i] !== 0 ? 1 : 0;
  return mask;
}

export function countNonzeros(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

/**
 * Fraction of groups of m consecutive columns (per row) holding at most n nonzeros. A last
 * group shorter than m counts as a group, as if padded with zeros.
 */
export function nmCompliance(mask: Uint8Array, rows: number, cols: number, p: NMPattern): number {
  const groupsPerRow = Math.ceil(cols / p.m);
  if (rows === 0 || groupsPerRow === 0) return 1;
  let ok = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c0 = 0; c0 < cols; c0 += p.m) {
      let nz = 0;
      const end = Math.min(cols, c0 + p.m);
      for (let c = c0; c < end; c++) nz += mask[base + c]!;
      if (nz <= p.n) ok++;
    }
  }
  return ok / (rows * groupsPerRow);
}

/** Fraction of blocks (edge blocks included, clipped) whose weights are all zero. */
export function zeroBlockFraction(mask: Uint8Array, rows: number, cols: number, b: BlockShape): number {
  const br = Math.ceil(rows / b.rows);
  const bc = Math.ceil(cols / b.cols);
  if (br * bc === 0) return 1;
  let zero = 0;
  // Per band of b.rows rows: OR the rows column by column, then test runs of b.cols columns.
  const any = new Uint8Array(cols);
  for (let i = 0; i < br; i++) {
    any.fill(0);
    for (let r = i * b.rows; r < Math.min(rows, (i + 1) * b.rows); r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) any[c]! |= mask[base + c]!;
    }
    for (let j = 0; j < bc; j++) {
      let nz = 0;
      for (let c = j * b.cols; c < Math.min(cols, (j + 1) * b.cols); c++) nz |= any[c]!;
      if (!nz) zero++;
    }
  }
  return zero / (br * bc);
}

/** Nonzeros per row. */
export function rowCounts(mask: Uint8Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let c = 0; c < cols; c++) n += mask[r * cols + c]!;
    out[r] = n;
  }
  return out;
}

/** Nonzeros per column. */
export function colCounts(mask: Uint8Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c]! += mask[r * cols + c]!;
  return out;
}

/** Input channels none of whose columns holds a nonzero (for matrices: the dead columns). */
export function deadChannels(colNonzeros: Int32Array, colChannel: Int32Array): number[] {
  let channels = 0;
  for (const ch of colChannel) channels = Math.max(channels, ch + 1);
  const alive = new Uint8Array(channels);
  colChannel.forEach((ch, j) => {
    if (colNonzeros[j]! > 0) alive[ch] = 1;
  });
  const out: number[] = [];
  for (let c = 0; c < channels; c++) if (!alive[c]) out.push(c);
  return out;
}

export function zeroIndices(counts: Int32Array): number[] {
  const out: number[] = [];
  counts.forEach((n, i) => {
    if (n === 0) out.push(i);
  });
  return out;
}
