import { describe, expect, it } from 'vitest';
import { SparsecError } from '../../../ir/diagnostics.js';
import { kthSmallest, pruneSmallest, selectMask } from '../masks.js';
import { countZeroBlocks, findViolation, formatPattern, parsePattern, targetSparsity } from '../patterns.js';
import { gaussian } from './random.js';

const abs = (a: Float32Array) => a.map(Math.abs);
const count0 = (m: Uint8Array) => m.reduce((n, k) => n + (k ? 0 : 1), 0);

describe('parsePattern', () => {
  it.each([
    ['unstructured:0.7', { kind: 'unstructured', ratio: 0.7 }],
    ['2:4', { kind: 'nm', n: 2, m: 4 }],
    ['4:8', { kind: 'nm', n: 4, m: 8 }],
    ['1:4', { kind: 'nm', n: 1, m: 4 }],
    ['3:16', { kind: 'nm', n: 3, m: 16 }],
    ['block:4x1:0.8', { kind: 'block', rows: 4, cols: 1, ratio: 0.8 }],
    ['block:2x8:.5', { kind: 'block', rows: 2, cols: 8, ratio: 0.5 }],
  ])('%s', (text, expected) => {
    const p = parsePattern(text);
    expect(p).toEqual(expected);
    expect(parsePattern(formatPattern(p))).toEqual(p);
  });

  it.each([
    ['unstructured', /needs one sparsity ratio/],
    ['unstructured:1.2', /must be a number in \[0, 1\)/],
    ['unstructured:abc', /must be a number/],
    ['4:4', /prunes nothing/],
    ['0:4', /at least 1/],
    ['2:', /unknown sparsity pattern/],
    ['block:4:0.5', /block shape '4' must be RxC/],
    ['block:0x4:0.5', /at least 1/],
    ['block:4x1', /needs a block shape and a ratio/],
    ['dense', /unknown sparsity pattern/],
  ])('rejects %s', (text, message) => {
    let caught: unknown;
    try {
      parsePattern(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SparsecError);
    expect((caught as SparsecError).diagnostic.code).toBe('BAD_OPTION');
    expect((caught as SparsecError).message).toMatch(message);
  });

  it('states target sparsities', () => {
    expect(targetSparsity(parsePattern('2:4'))).toBe(0.5);
    expect(targetSparsity(parsePattern('1:4'))).toBe(0.75);
    expect(targetSparsity(parsePattern('block:4x1:0.8'))).toBe(0.8);
  });
});

describe('kthSmallest', () => {
  it('agrees with sorting, small and large (radix path), across several arrays', () => {
    for (const n of [100, 50_000]) {
      const a = abs(gaussian(n, 1));
      const b = abs(gaussian(n / 2, 2));
      // Ties: repeat some values.
      for (let i = 0; i < 50; i++) b[i] = a[i]!;
      const sorted = Float32Array.from([...a, ...b]).sort();
      for (const k of [0, 1, 77, Math.floor(sorted.length / 2), sorted.length - 1]) {
        expect(kthSmallest([a, b], k)).toBe(sorted[k]);
      }
    }
  });
});

describe('selectMask', () => {
  const rows = 12;
  const cols = 22; // not a multiple of 4 or 8: partial groups and blocks
  const w = gaussian(rows * cols, 3);
  const scores = abs(w);

  it('unstructured prunes exactly round(ratio * n), the smallest ones', () => {
    const keep = selectMask(scores, rows, cols, parsePattern('unstructured:0.7'));
    expect(count0(keep)).toBe(Math.round(0.7 * rows * cols));
    let maxPruned = 0;
    let minKept = Infinity;
    keep.forEach((k, i) => (k ? (minKept = Math.min(minKept, scores[i]!)) : (maxPruned = Math.max(maxPruned, scores[i]!))));
    expect(maxPruned).toBeLessThanOrEqual(minKept);
  });

  it('unstructured per row prunes the same count in every row (within one), exactly in all', () => {
    const keep = selectMask(scores, rows, cols, parsePattern('unstructured:0.5'), { perRow: true });
    for (let r = 0; r < rows; r++) expect(count0(keep.subarray(r * cols, (r + 1) * cols))).toBe(11);
    const uneven = selectMask(scores, rows, cols, parsePattern('unstructured:0.7'), { perRow: true });
    expect(count0(uneven)).toBe(Math.round(0.7 * rows * cols));
    for (let r = 0; r < rows; r++) expect([15, 16]).toContain(count0(uneven.subarray(r * cols, (r + 1) * cols)));
  });

  it('ties are pruned in order and exactly', () => {
    const keep = selectMask(new Float32Array(10), 1, 10, parsePattern('unstructured:0.3'));
    expect([...keep]).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it.each(['2:4', '1:4', '4:8', '3:5'])('%s keeps the N largest of each group (partial last group: min(N, size))', (text) => {
    const p = parsePattern(text);
    if (p.kind !== 'nm') throw new Error('unreachable');
    const keep = selectMask(scores, rows, cols, p);
    const pruned = w.map((v, i) => (keep[i] ? v : 0));
    expect(findViolation(pruned, rows, cols, p)).toBeUndefined();
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < cols; g += p.m) {
        const idx = Array.from({ length: Math.min(p.m, cols - g) }, (_, j) => r * cols + g + j);
        const kept = idx.filter((i) => keep[i]);
        expect(kept.length).toBe(Math.min(p.n, idx.length));
        const minKept = Math.min(...kept.map((i) => scores[i]!));
        for (const i of idx) if (!keep[i]) expect(scores[i]!).toBeLessThanOrEqual(minKept);
      }
    }
  });

  it.each(['block:4x1:0.5', 'block:1x4:0.8', 'block:5x3:0.6'])('%s zeroes whole blocks, the lowest-scoring ones', (text) => {
    const p = parsePattern(text);
    if (p.kind !== 'block') throw new Error('unreachable');
    const keep = selectMask(scores, rows, cols, p);
    const masked = Float32Array.from(keep);
    const total = Math.ceil(rows / p.rows) * Math.ceil(cols / p.cols);
    expect(countZeroBlocks(masked, rows, cols, p.rows, p.cols)).toBe(Math.round(p.ratio * total));
    // Every block is all kept or all pruned.
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const r0 = r - (r % p.rows);
        const c0 = c - (c % p.cols);
        expect(keep[r * cols + c]).toBe(keep[r0 * cols + c0]);
      }
    }
  });

  it('pruneSmallest ranks globally across layers', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([0.5, 10, 0.1, 20]);
    const ka = new Uint8Array(4).fill(1);
    const kb = new Uint8Array(4).fill(1);
    pruneSmallest([a, b], 3, [ka, kb]);
    expect([...ka, ...kb]).toEqual([0, 1, 1, 1, 0, 1, 0, 1]);
  });
});

describe('findViolation', () => {
  it('reports an N:M group with too many nonzeros', () => {
    const m = Float32Array.from([1, 1, 0, 0, 0, 1, 1, 0]);
    expect(findViolation(m, 1, 8, parsePattern('2:4'))).toBeUndefined();
    expect(findViolation(m, 2, 4, parsePattern('1:4'))?.text).toMatch(/row 0, cols 0..3 holds 2 nonzeros/);
    expect(findViolation(Float32Array.from([0, 0, 0, 0, 1, 0, 1, 1]), 2, 4, parsePattern('2:4'))?.text).toMatch(/row 1, cols 0..3 holds 3/);
  });
});
