// Sparsity patterns a weight can be pruned to, their text form, and checks that a matrix obeys
// one. Every pattern is stated on the [rows, cols] view of a weight (rows = output channels,
// cols = the reduction axis), the view WeightView gives:
//
//   unstructured:R   a fraction R of the weights is zero, anywhere
//   N:M              at most N nonzeros in every group of M consecutive columns of a row
//                    (keep N of M: 2:4 is 50% sparse, 1:4 75%)
//   block:RxC:S      the matrix tiled in blocks of R rows x C columns; a fraction S of the
//                    blocks is entirely zero (block:4x1 groups 4 output channels, block:1x4 4
//                    consecutive reduction columns)

import { error } from '../../ir/diagnostics.js';

export type SparsityPattern =
  | { readonly kind: 'unstructured'; readonly ratio: number }
  | { readonly kind: 'nm'; readonly n: number; readonly m: number }
  | { readonly kind: 'block'; readonly rows: number; readonly cols: number; readonly ratio: number };

const EXAMPLES = 'unstructured:0.7, 2:4, 4:8, 1:4, block:4x1:0.8';

const bad = (text: string, hint = `Patterns look like ${EXAMPLES}.`) => error('BAD_OPTION', text, undefined, hint);

/** Parse `unstructured:0.7`, `2:4`, `block:4x1:0.8`; BAD_OPTION errors say what is wrong. */
export function parsePattern(text: string): SparsityPattern {
  const t = text.trim();
  const parts = t.split(':');
  if (parts[0] === 'unstructured') {
    if (parts.length !== 2) throw bad(`pattern '${text}' needs one sparsity ratio, e.g. unstructured:0.7`);
    return { kind: 'unstructured', ratio: parseRatio(parts[1]!, text) };
  }
  if (parts[0] === 'block') {
    if (parts.length !== 3) throw bad(`pattern '${text}' needs a block shape and a ratio, e.g. block:4x1:0.8`);
    const shape = /^(\d+)x(\d+)$/.exec(parts[1]!);
    if (!shape) throw bad(`pattern '${text}': block shape '${parts[1]}' must be RxC, e.g. 4x1 (rows = output channels, cols = reduction)`);
    const rows = Number(shape[1]);
    const cols = Number(shape[2]);
    if (rows < 1 || cols < 1) throw bad(`pattern '${text}': block dims must be at least 1`);
    return { kind: 'block', rows, cols, ratio: parseRatio(parts[2]!, text) };
  }
  if (parts.length === 2 && /^\d+$/.test(parts[0]!) && /^\d+$/.test(parts[1]!)) {
    const n = Number(parts[0]);
    const m = Number(parts[1]);
    if (m < 1 || n < 1) throw bad(`pattern '${text}': N and M must be at least 1`);
    if (n >= m) throw bad(`pattern '${text}' keeps ${n} of every ${m} weights, which prunes nothing`, 'N:M keeps N of every M consecutive weights; N must be below M, e.g. 2:4.');
    if (m > 256) throw bad(`pattern '${text}': group size M must be at most 256`);
    return { kind: 'nm', n, m };
  }
  throw bad(`unknown sparsity pattern '${text}'`);
}

function parseRatio(s: string, text: string): number {
  const r = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(s) ? Number(s) : NaN;
  if (!(r >= 0 && r < 1)) throw bad(`pattern '${text}': sparsity ratio '${s}' must be a number in [0, 1), e.g. 0.7 for 70% zeros`);
  return r;
}

/** The text form parsePattern reads back. */
export function formatPattern(p: SparsityPattern): string {
  switch (p.kind) {
    case 'unstructured':
      return `unstructured:${p.ratio}`;
    case 'nm':
      return `${p.n}:${p.m}`;
    case 'block':
      return `block:${p.rows}x${p.cols}:${p.ratio}`;
  }
}

/** The fraction of zeros the pattern aims at. */
export function targetSparsity(p: SparsityPattern): number {
  return p.kind === 'nm' ? 1 - p.n / p.m : p.ratio;
}

/** A place where a matrix breaks a pattern, for tests and error messages. */
export interface PatternViolation {
  row: number;
  col: number;
  text: string;
}

/**
 * Check the structural part of a pattern: N:M groups hold at most N nonzeros, blocks are
 * all-zero or untouched (block patterns need the dense original to tell them apart, so only the
 * zero-block count is checked here: at least round(ratio * blocks) blocks are all zero).
 * Unstructured patterns check the zero count against the ratio. Returns the first violation.
 */
export function findViolation(w: ArrayLike<number>, rows: number, cols: number, p: SparsityPattern): PatternViolation | undefined {
  if (p.kind === 'nm') {
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < cols; g += p.m) {
        let nonzeros = 0;
        const end = Math.min(cols, g + p.m);
        for (let c = g; c < end; c++) if (w[r * cols + c] !== 0) nonzeros++;
        if (nonzeros > p.n) return { row: r, col: g, text: `group at row ${r}, cols ${g}..${end - 1} holds ${nonzeros} nonzeros (at most ${p.n})` };
      }
    }
    return undefined;
  }
  if (p.kind === 'block') {
    const total = Math.ceil(rows / p.rows) * Math.ceil(cols / p.cols);
    const zeroBlocks = countZeroBlocks(w, rows, cols, p.rows, p.cols);
    const want = Math.round(p.ratio * total);
    return zeroBlocks >= want ? undefined : { row: 0, col: 0, text: `${zeroBlocks} of ${total} ${p.rows}x${p.cols} blocks are zero (want ${want})` };
  }
  let zeros = 0;
  for (let i = 0; i < rows * cols; i++) if (w[i] === 0) zeros++;
  const want = Math.round(p.ratio * rows * cols);
  return zeros >= want ? undefined : { row: 0, col: 0, text: `${zeros} of ${rows * cols} weights are zero (want ${want})` };
}

/** Blocks (partial edge blocks included) whose every element is zero. */
export function countZeroBlocks(w: ArrayLike<number>, rows: number, cols: number, br: number, bc: number): number {
  let count = 0;
  for (let r0 = 0; r0 < rows; r0 += br) {
    for (let c0 = 0; c0 < cols; c0 += bc) {
      let zero = true;
      for (let r = r0; r < Math.min(rows, r0 + br) && zero; r++) {
        for (let c = c0; c < Math.min(cols, c0 + bc); c++) {
          if (w[r * cols + c] !== 0) {
            zero = false;
            break;
          }
        }
      }
      if (zero) count++;
    }
  }
  return count;
}
