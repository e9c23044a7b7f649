// Mask selection: given a non-negative importance score per weight of a [rows, cols] matrix,
// choose which weights a pattern keeps. A mask is a Uint8Array, 1 = keep, 0 = prune.
//
// Counts are exact: pruning a fraction r of n scores prunes round(r * n) of them, ties broken by
// position (earlier ones go first), so results are deterministic and the sparsity reached is
// the one asked for.

import type { SparsityPattern } from './patterns.js';

export interface MaskOptions {
  /**
   * Unstructured only: compare scores within each output row (each row loses the same share),
   * as Wanda does, instead of across the whole matrix.
   */
  perRow?: boolean;
  /**
   * Unstructured and block patterns: prune exactly this many weights (blocks) instead of
   * round(ratio * count). SparseGPT picks masks slab by slab and uses this to land exactly on
   * the layer's total.
   */
  count?: number;
}

/** The keep-mask of a pattern for one [rows, cols] score matrix. */
export function selectMask(scores: Float32Array, rows: number, cols: number, pattern: SparsityPattern, opts: MaskOptions = {}): Uint8Array {
  const keep = new Uint8Array(rows * cols).fill(1);
  switch (pattern.kind) {
    case 'unstructured':
      if (opts.perRow) {
        // Rows take turns rounding up, so the layer's total is exactly round(ratio * rows * cols).
        const quota = (r: number) => Math.round(pattern.ratio * cols * r);
        for (let r = 0; r < rows; r++) {
          pruneSmallest([scores.subarray(r * cols, (r + 1) * cols)], quota(r + 1) - quota(r), [keep.subarray(r * cols, (r + 1) * cols)]);
        }
      } else {
        pruneSmallest([scores], opts.count ?? Math.round(pattern.ratio * rows * cols), [keep]);
      }
      return keep;
    case 'nm':
      selectNM(scores, rows, cols, pattern.n, pattern.m, keep);
      return keep;
    case 'block':
      selectBlocks(scores, rows, cols, pattern.rows, pattern.cols, pattern.ratio, keep, opts.count);
      return keep;
  }
}

/**
 * Keep the N highest scores of every group of M consecutive columns in each row. A partial last
 * group of r < M columns keeps min(N, r): padded with zeros to M it still holds at most N
 * nonzeros, which is what N:M kernels need.
 */
export function selectNM(scores: Float32Array, rows: number, cols: number, n: number, m: number, keep: Uint8Array): void {
  const picked = new Uint8Array(m);
  for (let r = 0; r < rows; r++) {
    for (let g = r * cols, rowEnd = (r + 1) * cols; g < rowEnd; g += m) {
      const size = Math.min(m, rowEnd - g);
      picked.fill(0);
      for (let t = 0; t < Math.min(n, size); t++) {
        let best = -1;
        for (let j = 0; j < size; j++) {
          if (!picked[j] && (best < 0 || scores[g + j]! > scores[g + best]!)) best = j;
        }
        picked[best] = 1;
      }
      for (let j = 0; j < size; j++) keep[g + j] = picked[j]!;
    }
  }
}

/**
 * Tile the matrix in br x bc blocks, score each block by the sum of its scores (partial edge
 * blocks by their mean scaled to a full block, so they compete fairly), and prune the
 * round(ratio * blocks) lowest (or `count` of them).
 */
export function selectBlocks(scores: Float32Array, rows: number, cols: number, br: number, bc: number, ratio: number, keep: Uint8Array, count?: number): void {
  const blockRows = Math.ceil(rows / br);
  const blockCols = Math.ceil(cols / bc);
  const blockScores = new Float32Array(blockRows * blockCols);
  for (let r = 0; r < rows; r++) {
    const bRow = Math.floor(r / br) * blockCols;
    for (let c = 0; c < cols; c++) blockScores[bRow + Math.floor(c / bc)]! += scores[r * cols + c]!;
  }
  for (let bi = 0; bi < blockRows; bi++) {
    const h = Math.min(br, rows - bi * br);
    for (let bj = 0; bj < blockCols; bj++) {
      const w = Math.min(bc, cols - bj * bc);
      if (h * w < br * bc) blockScores[bi * blockCols + bj]! *= (br * bc) / (h * w);
    }
  }
  const blockKeep = new Uint8Array(blockScores.length).fill(1);
  pruneSmallest([blockScores], count ?? Math.round(ratio * blockScores.length), [blockKeep]);
  for (let r = 0; r < rows; r++) {
    const bRow = Math.floor(r / br) * blockCols;
    for (let c = 0; c < cols; c++) keep[r * cols + c] = blockKeep[bRow + Math.floor(c / bc)]!;
  }
}

/**
 * Clear `keep` for the k smallest scores across all arrays (one global ranking; ties go in
 * array order, then position). Scores must be non-negative (NaN counts as largest).
 */
export function pruneSmallest(scores: readonly Float32Array[], k: number, keeps: readonly Uint8Array[]): void {
  if (k <= 0) return;
  const total = scores.reduce((n, s) => n + s.length, 0);
  if (k >= total) {
    for (const keep of keeps) keep.fill(0);
    return;
  }
  const threshold = kthSmallest(scores, k - 1);
  // Everything strictly below the threshold goes; then ties at the threshold, in order.
  let pruned = 0;
  scores.forEach((s, a) => {
    const keep = keeps[a]!;
    for (let i = 0; i < s.length; i++) {
      if (s[i]! < threshold) {
        keep[i] = 0;
        pruned++;
      }
    }
  });
  for (let a = 0; a < scores.length && pruned < k; a++) {
    const s = scores[a]!;
    const keep = keeps[a]!;
    for (let i = 0; i < s.length && pruned < k; i++) {
      if (s[i] === threshold) {
        keep[i] = 0;
        pruned++;
      }
    }
  }
}

const SMALL = 4096;

/**
 * The k-th smallest (0-based) of non-negative float32 scores spread over several arrays. Small
 * inputs are sorted; large ones use two 16-bit radix histograms over the float bits (for
 * non-negative floats the bit patterns order like the values), which is linear time and needs
 * no copy of the data: global allocation over a 100M-weight model stays cheap.
 */
export function kthSmallest(scores: readonly Float32Array[], k: number): number {
  const total = scores.reduce((n, s) => n + s.length, 0);
  if (k < 0 || k >= total) throw new RangeError(`kthSmallest: k=${k} out of range for ${total} scores`);
  if (total <= SMALL) {
    const all = new Float32Array(total);
    let at = 0;
    for (const s of scores) {
      all.set(s, at);
      at += s.length;
    }
    return all.sort()[k]!;
  }
  const bits = scores.map((s) => new Uint32Array(s.buffer, s.byteOffset, s.length));
  const high = new Float64Array(65536);
  for (const b of bits) for (let i = 0; i < b.length; i++) high[b[i]! >>> 16]!++;
  let rank = k;
  let top = 0;
  while (rank >= high[top]!) rank -= high[top++]!;
  const low = new Float64Array(65536);
  for (const b of bits) {
    for (let i = 0; i < b.length; i++) if (b[i]! >>> 16 === top) low[b[i]! & 0xffff]!++;
  }
  let bottom = 0;
  while (rank >= low[bottom]!) rank -= low[bottom++]!;
  const out = new Uint32Array([((top << 16) | bottom) >>> 0]);
  return new Float32Array(out.buffer)[0]!;
}
