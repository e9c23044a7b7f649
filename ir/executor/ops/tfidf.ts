// TfIdfVectorizer (opset 9): counts the n-grams of a pool in each row of X (ints or strings),
// with up to max_skip_count items skipped between the members of an n-gram, then weighs the
// counts (TF: the count, IDF: the weight when the count is nonzero, TFIDF: count * weight).
//
// The pool is laid out by n-gram length: ngram_counts[k] is where the (k+1)-grams start in
// pool_int64s / pool_strings. N-grams are numbered in pool order across all lengths, and
// ngram_indexes maps that number to an output column.

import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { badAttribute, typeMismatch } from '../util.js';
import { badInput, unsupported } from './layout.js';

type Mode = 'TF' | 'IDF' | 'TFIDF';

interface Vectorizer {
  readonly minLength: number;
  readonly maxLength: number;
  readonly maxSkip: number;
  readonly mode: Mode;
  /** N-gram key (items joined by '\u0000') -> output column. */
  readonly columns: Map<string, number>;
  readonly weights: readonly number[] | undefined;
  readonly width: number;
}

function readVectorizer(node: Node): Vectorizer {
  const mode = node.attrString('mode', '') as Mode;
  if (!['TF', 'IDF', 'TFIDF'].includes(mode)) badAttribute(node, `TfIdfVectorizer mode must be TF, IDF or TFIDF, got '${mode}'`);
  const minLength = node.attrInt('min_gram_length', 0);
  const maxLength = node.attrInt('max_gram_length', 0);
  if (minLength < 1 || maxLength < minLength) badAttribute(node, `bad n-gram lengths ${minLength}..${maxLength}`);
  const ints = node.attrInts('pool_int64s');
  const strs = node.attrStrings('pool_strings');
  const pool: string[] | undefined = ints?.map(String) ?? strs;
  if (!pool) badAttribute(node, 'TfIdfVectorizer needs pool_int64s or pool_strings');
  const starts = node.attrInts('ngram_counts', []);
  const indexes = node.attrInts('ngram_indexes', []);
  const columns = new Map<string, number>();
  let id = 0;
  starts.forEach((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : pool.length;
    const n = k + 1;
    if (end < start || (end - start) % n !== 0) badAttribute(node, `pool entries ${start}..${end} are not whole ${n}-grams`);
    for (let at = start; at < end; at += n, id++) {
      if (n < minLength || n > maxLength) continue;
      const column = indexes[id];
      if (column === undefined) badAttribute(node, `ngram_indexes has no entry for n-gram ${id}`);
      columns.set(pool.slice(at, at + n).join('\u0000'), column);
    }
  });
  return {
    minLength,
    maxLength,
    maxSkip: node.attrInt('max_skip_count', 0),
    mode,
    columns,
    weights: node.attrFloats('weights'),
    width: indexes.length ? Math.max(...indexes) + 1 : 0,
  };
}

/** Counts of each output column's n-gram in one row. */
function countRow(v: Vectorizer, row: readonly string[], counts: Float64Array): void {
  const count = (n: number, first: number, step: number) => {
    const items: string[] = [];
    for (let k = 0; k < n; k++) items.push(row[first + k * step]!);
    const col = v.columns.get(items.join('\u0000'));
    if (col !== undefined) counts[col]!++;
  };
  for (let first = 0; first < row.length; first++) {
    // Unigrams do not depend on the skip: count them once.
    if (v.minLength === 1) count(1, first, 1);
    for (let skip = 0; skip <= v.maxSkip; skip++) {
      const step = skip + 1;
      for (let n = Math.max(2, v.minLength); n <= v.maxLength; n++) {
        if (first + (n - 1) * step >= row.length) break;
        count(n, first, step);
      }
    }
  }
}

function weigh(v: Vectorizer, counts: Float64Array, out: Float32Array, offset: number): void {
  // Weights are indexed by output column, as onnxruntime reads them.
  const w = (col: number) => v.weights?.[col] ?? 1;
  for (let col = 0; col < counts.length; col++) {
    const c = counts[col]!;
    out[offset + col] = v.mode === 'TF' ? c : v.mode === 'IDF' ? (c > 0 ? w(col) : 0) : c * w(col);
  }
}

const tfIdfVectorizer: OpDef = {
  op: Op.TfIdfVectorizer,
  infer(node, [x]) {
    const v = readVectorizer(node);
    if (x?.dtype && !['int32', 'int64', 'string'].includes(x.dtype)) typeMismatch(node, `X must be int32, int64 or string, got ${x.dtype}`);
    if (x?.dtype === 'string' && !node.attrStrings('pool_strings')) typeMismatch(node, 'string X needs pool_strings');
    const s = x?.shape;
    if (s && s.length !== 1 && s.length !== 2) badInput(node, `X must be [C] or [N, C], got rank ${s.length}`);
    return [{ dtype: 'float32', shape: s ? (s.length === 2 ? [s[0]!, v.width] : [v.width]) : undefined }];
  },
  run(node, [x]) {
    const t = x!;
    if (t.rank !== 1 && t.rank !== 2) unsupported(node, `TfIdfVectorizer takes [C] or [N, C], got rank ${t.rank}`);
    const v = readVectorizer(node);
    const items = t.dtype === 'string' ? (t.data as string[]) : t.toNumbers().map(String);
    const rows = t.rank === 2 ? t.shape[0]! : 1;
    const cols = t.shape[t.rank - 1]!;
    const out = new Float32Array(rows * v.width);
    const counts = new Float64Array(v.width);
    for (let r = 0; r < rows; r++) {
      counts.fill(0);
      countRow(v, items.slice(r * cols, (r + 1) * cols), counts);
      weigh(v, counts, out, r * v.width);
    }
    return [new Tensor('float32', t.rank === 2 ? [rows, v.width] : [v.width], out)];
  },
};

export const tfidfDefs: OpDef[] = [tfIdfVectorizer];
