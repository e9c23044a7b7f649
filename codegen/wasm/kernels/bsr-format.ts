// Block-sparse weight storage. A block shape is rows x cols on the pruner's [rows, cols] view of
// a weight (passes/prune/patterns.ts block:RxC): rows = consecutive output channels, cols =
// consecutive inputs. On the kernels' W [K,N] (K inputs, N outputs) block (i, j) covers
// outputs i*rows.. and inputs j*cols.., kept or dropped together.
//
// Storage per block row (`rows` output channels): the kept blocks' values, rows*cols f32 each,
// input-major ([cols][rows]: the rows channel values of one input contiguous, so a 4-row block
// reads them as f32x4), and each block's first input (u16, u32 past 65536 inputs; for one
// token x's byte offset 4k while that fits 16 bits); per block row a count of block groups
// (the one-token kernel's unroll, lists padded with zero blocks to whole groups; many-token
// kernels take groups of one), and the bias padded to whole block rows. Bytes per kept block
// over its dense bytes: 4x1 18/16 (1.13x density x dense), 8x1 34/32, 1x4 18/16, 4x4 66/64.
//
// A ragged last block column (K not a multiple of cols) starts at K - cols instead, its values
// zero on the inputs the previous column covers: its loads stay inside x, and kernels need no
// partial form. Fewer inputs than cols (K < cols) shrink the block to K columns.

import { BlobBuilder } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';

export interface BlockShape {
  /** Consecutive output channels per block. */
  readonly rows: number;
  /** Consecutive inputs per block. */
  readonly cols: number;
}

/** The block shapes the kernels implement, as the pruner names them (block:4x1 ...). */
export const BLOCK_SHAPES = ['4x1', '8x1', '1x4', '4x4'] as const;
export type BlockLabel = (typeof BLOCK_SHAPES)[number];

export function blockShape(label: BlockLabel): BlockShape {
  const [rows, cols] = label.split('x').map(Number) as [number, number];
  return { rows, cols };
}

export interface BlockStats {
  /** Blocks with at least one nonzero over all blocks (ragged edge blocks counted whole). */
  blockDensity: number;
  kept: number;
}

/** The shape as the kernels build it for K inputs: at most K columns. */
export function effectiveShape(label: BlockLabel, K: number): BlockShape {
  const { rows, cols } = blockShape(label);
  return { rows, cols: Math.max(1, Math.min(cols, K)) };
}

/** Kept[blockRow][blockCol]: which blocks of W [K,N] hold a nonzero. */
function keptBlocks(W: Float32Array, K: number, N: number, s: BlockShape): { kept: Uint8Array; blockRows: number; blockCols: number } {
  const blockRows = Math.ceil(N / s.rows);
  const blockCols = Math.ceil(K / s.cols);
  const kept = new Uint8Array(blockRows * blockCols);
  for (let k = 0; k < K; k++) {
    const col = Math.floor(k / s.cols);
    for (let n = 0; n < N; n++) if (W[k * N + n] !== 0) kept[Math.floor(n / s.rows) * blockCols + col] = 1;
  }
  return { kept, blockRows, blockCols };
}

export function blockStats(W: Float32Array, K: number, N: number, label: BlockLabel = '4x1'): BlockStats {
  const { kept } = keptBlocks(W, K, N, effectiveShape(label, K));
  let count = 0;
  for (const b of kept) count += b;
  return { blockDensity: kept.length === 0 ? 1 : count / kept.length, kept: count };
}

/**
 * Blocks per group of the one-token kernel: four multiply-adds per loop trip, each into its
 * own accumulator (4x1: 4 blocks, 8x1: 2 blocks of 2 vectors, 4x4: 1 block of 4 inputs, 1x4:
 * 4 blocks of one 4-input vector). Many tokens: 1 (their loop does enough work per block).
 */
export function groupSize(spec: SparseSpec, s: BlockShape): number {
  if (spec.M > 1) return 1;
  const vectorsPerBlock = s.rows === 1 ? 1 : Math.ceil(s.rows / 4) * s.cols;
  return Math.max(1, Math.floor(4 / vectorsPerBlock));
}

/**
 * One token with K <= 16384 stores each block's byte offset into x (4k) rather than k: one
 * shift less per block in the kernel's hottest loop.
 */
export const byteOffsets = (spec: SparseSpec): boolean => spec.M === 1 && spec.K <= 16384;

/** Pack W [K,N] (row-major) into blocks of `label`; every block holding a nonzero is kept. */
export function packBsr(spec: SparseSpec, W: Float32Array, bias: Float32Array | undefined, label: BlockLabel): PackedSparse {
  const { K, N } = spec;
  if (W.length !== K * N) throw new Error(`block-sparse weight has ${W.length} values, expected ${K}x${N}`);
  if (spec.bias && bias?.length !== N) throw new Error(`block-sparse bias must have ${N} values`);
  const s = effectiveShape(label, K);
  const { kept, blockRows, blockCols } = keptBlocks(W, K, N, s);
  const group = groupSize(spec, s);
  const groups = new Int32Array(blockRows);
  for (let b = 0; b < blockRows; b++) {
    let n = 0;
    for (let j = 0; j < blockCols; j++) n += kept[b * blockCols + j]!;
    groups[b] = Math.ceil(n / group);
  }
  const blocks = groups.reduce((sum, g) => sum + g, 0) * group;
  const blockFloats = s.rows * s.cols;
  const values = new Float32Array(blocks * blockFloats);
  const kBytes = K <= 65536 ? 2 : 4;
  const starts = kBytes === 2 ? new Uint16Array(blocks) : new Uint32Array(blocks);
  let at = 0;
  for (let b = 0; b < blockRows; b++) {
    // Padding blocks are zero weights at input 0: harmless, and x[0..cols-1] always exist.
    for (let j = 0; j < blockCols; j++) {
      if (!kept[b * blockCols + j]) continue;
      const first = j * s.cols;
      const start = Math.min(first, K - s.cols);
      for (let c = 0; c < s.cols; c++) {
        const k = start + c;
        if (k < first) continue;
        for (let r = 0; r < s.rows && b * s.rows + r < N; r++) values[at * blockFloats + c * s.rows + r] = W[k * N + b * s.rows + r]!;
      }
      starts[at++] = byteOffsets(spec) ? 4 * start : start;
    }
    at = Math.ceil(at / group) * group;
  }
  const paddedBias = new Float32Array(spec.bias ? blockRows * s.rows : 0);
  if (spec.bias && bias) paddedBias.set(bias);
  const blob = new BlobBuilder();
  const valuesAt = blob.add(values);
  const kAt = blob.add(starts);
  const countsAt = blob.add(groups);
  const biasAt = blob.add(paddedBias);
  return { blob: blob.build(), offsets: { values: valuesAt, bias: biasAt, counts: countsAt, k: kAt, kBytes } };
}
