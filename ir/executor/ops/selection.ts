// Ops that select elements by their values, so that the output size depends on the data:
// TopK, NonZero, Compress, Unique.

import { isBitPatternFloat } from '../../dtype.js';
import type { Dim } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Tensor, sizeOf, stridesOf } from '../../tensor.js';
import { normalizeAxis } from '../util.js';
import { badInput, copyRange, folding, scalarOf, unsupported } from './layout.js';

type Key = number | bigint | string;

/** Comparable element values: float16/bfloat16 decoded, int64 kept exact as BigInt. */
function keysOf(t: Tensor): Key[] {
  if (isBitPatternFloat(t.dtype)) return t.toNumbers();
  if (t.dtype === 'complex64' || t.dtype === 'complex128') throw new Error('complex values have no order');
  return Array.from(t.data as ArrayLike<Key>);
}

/** Ascending order with NaN last (as numpy sorts). */
function compareKeys(a: Key, b: Key): number {
  if (a !== a) return b !== b ? 0 : 1;
  if (b !== b) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- TopK ----

const topK: OpDef = {
  op: 'TopK',
  infer(node, [x, k], ctx) {
    const s = x?.shape;
    if (!s) return [{ dtype: x?.dtype }, { dtype: 'int64' }];
    const axis = normalizeAxis(node.attrInt('axis', -1), s.length, node);
    const shape: Dim[] = [...s];
    shape[axis] = k?.value ? k.value.get(0) : ctx.freshDim('topk');
    return [{ dtype: x?.dtype, shape }, { dtype: 'int64', shape }];
  },
  run(node, [x, kT]) {
    const t = x!;
    const axis = normalizeAxis(node.attrInt('axis', -1), t.rank, node);
    const k = scalarOf(kT!, node, 'K');
    const n = t.shape[axis]!;
    if (k < 0 || k > n) badInput(node, `K=${k} is out of range for a dim of ${n}`);
    const largest = node.attrInt('largest', 1) === 1;
    const shape = [...t.shape];
    shape[axis] = k;
    const values = Tensor.zeros(t.dtype, shape);
    const indices = Tensor.zeros('int64', shape);
    const keys = keysOf(t);
    const inner = sizeOf(t.shape.slice(axis + 1));
    const outer = sizeOf(t.shape.slice(0, axis));
    const src = t.data as unknown as unknown[];
    const dst = values.data as unknown as unknown[];
    const order = Array.from({ length: n }, (_, i) => i);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => (o * n + j) * inner + i;
        // Ties keep the lower index first, as ONNX requires; NaN counts as the largest value.
        order.sort((a, b) => (largest ? compareKeys(keys[at(b)]!, keys[at(a)]!) : compareKeys(keys[at(a)]!, keys[at(b)]!)) || a - b);
        for (let j = 0; j < k; j++) {
          const to = (o * k + j) * inner + i;
          dst[to] = src[at(order[j]!)];
          indices.data[to] = BigInt(order[j]!);
        }
      }
    }
    return [values, indices];
  },
};

// ---- NonZero ----

function isNonZero(t: Tensor): (i: number) => boolean {
  if (t.dtype === 'string') return (i) => (t.data as string[])[i] !== '';
  if (isBitPatternFloat(t.dtype)) return (i) => t.get(i) !== 0;
  const d = t.data as ArrayLike<number | bigint>;
  return (i) => d[i] !== 0 && d[i] !== 0n;
}

const nonZero: OpDef = {
  op: 'NonZero',
  infer(_node, [x], ctx) {
    const r = x?.shape?.length;
    return [{ dtype: 'int64', shape: [r ?? ctx.freshDim('rank'), ctx.freshDim('nonzero')] }];
  },
  run(_node, [x]) {
    const t = x!;
    const test = isNonZero(t);
    const hits: number[] = [];
    for (let i = 0; i < t.size; i++) if (test(i)) hits.push(i);
    const strides = stridesOf(t.shape);
    const out = Tensor.zeros('int64', [t.rank, hits.length]);
    hits.forEach((flat, j) => {
      let rest = flat;
      strides.forEach((s, a) => {
        out.data[a * hits.length + j] = BigInt(Math.floor(rest / s));
        rest %= s;
      });
    });
    return [out];
  },
};

// ---- Compress ----

const compress: OpDef = {
  op: 'Compress',
  infer(node, [x], ctx) {
    const s = x?.shape;
    const axis = node.attrInt('axis');
    if (axis === undefined) return [{ dtype: x?.dtype, shape: [ctx.freshDim('compress')] }];
    if (!s) return [{ dtype: x?.dtype }];
    const shape: Dim[] = [...s];
    shape[normalizeAxis(axis, s.length, node)] = ctx.freshDim('compress');
    return [{ dtype: x?.dtype, shape }];
  },
  run(node, [x, condition]) {
    const axisAttr = node.attrInt('axis');
    const t = axisAttr === undefined ? x!.reshape([x!.size]) : x!;
    const axis = axisAttr === undefined ? 0 : normalizeAxis(axisAttr, t.rank, node);
    const dim = t.shape[axis]!;
    const cond = condition!.toNumbers();
    if (condition!.rank !== 1) badInput(node, 'condition must be 1-D');
    if (cond.length > dim) badInput(node, `condition has ${cond.length} entries for a dim of ${dim}`);
    const kept = cond.flatMap((c, i) => (c ? [i] : []));
    const shape = [...t.shape];
    shape[axis] = kept.length;
    const out = Tensor.zeros(t.dtype, shape);
    const inner = sizeOf(t.shape.slice(axis + 1));
    const outer = sizeOf(t.shape.slice(0, axis));
    for (let o = 0; o < outer; o++) {
      kept.forEach((j, k) => copyRange(t.data, (o * dim + j) * inner, inner, out.data, (o * kept.length + k) * inner));
    }
    return [out];
  },
};

// ---- Unique ----

/** Lexicographic order of two slices given as key arrays. */
function compareSlices(a: readonly Key[], b: readonly Key[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareKeys(a[i]!, b[i]!);
    if (c) return c;
  }
  return 0;
}

/** A string identifying a slice's values exactly (bigints and NaN survive). */
function sliceId(slice: readonly Key[]): string {
  return JSON.stringify(slice.map((k) => (typeof k === 'bigint' ? `${k}n` : typeof k === 'number' && Number.isNaN(k) ? 'NaN' : k)));
}

const unique: OpDef = {
  op: 'Unique',
  infer(node, [x], ctx) {
    const count = ctx.freshDim('unique');
    const axis = node.attrInt('axis');
    const s = x?.shape;
    let y: Dim[] | undefined = [count];
    let inverse: Dim = ctx.freshDim('unique_inverse');
    if (axis !== undefined) {
      if (s) {
        const a = normalizeAxis(axis, s.length, node);
        y = [...s];
        y[a] = count;
        inverse = s[a]!;
      } else y = undefined;
    } else if (s && s.every((d) => typeof d === 'number')) inverse = sizeOf(s as number[]);
    return [
      { dtype: x?.dtype, shape: y },
      { dtype: 'int64', shape: [count] },
      { dtype: 'int64', shape: [inverse] },
      { dtype: 'int64', shape: [count] },
    ];
  },
  run(node, [x]) {
    const axisAttr = node.attrInt('axis');
    const t = axisAttr === undefined ? x!.reshape([x!.size]) : x!;
    const axis = axisAttr === undefined ? 0 : normalizeAxis(axisAttr, t.rank, node);
    if (t.dtype === 'complex64' || t.dtype === 'complex128') unsupported(node, 'Unique of complex values');
    const n = t.shape[axis]!;
    const inner = sizeOf(t.shape.slice(axis + 1));
    const outer = sizeOf(t.shape.slice(0, axis));
    const keys = keysOf(t);
    // Slice j is every element whose coordinate on the axis is j, in row-major order.
    const slices = Array.from({ length: n }, (_, j) => {
      const s: Key[] = [];
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s.push(keys[(o * n + j) * inner + i]!);
      return s;
    });
    const firsts: number[] = [];
    const inverse = new Array<number>(n);
    const counts: number[] = [];
    const seen = new Map<string, number>();
    for (let j = 0; j < n; j++) {
      const id = sliceId(slices[j]!);
      let u = seen.get(id);
      if (u === undefined) {
        u = firsts.length;
        seen.set(id, u);
        firsts.push(j);
        counts.push(0);
      }
      inverse[j] = u;
      counts[u]!++;
    }
    // `order` lists unique ids in output order; `position` maps an id to its output slot.
    const order = firsts.map((_, u) => u);
    if (node.attrInt('sorted', 1) === 1) order.sort((a, b) => compareSlices(slices[firsts[a]!]!, slices[firsts[b]!]!));
    const position = new Array<number>(order.length);
    order.forEach((u, r) => (position[u] = r));
    const shape = [...t.shape];
    shape[axis] = order.length;
    const y = Tensor.zeros(t.dtype, shape);
    for (let o = 0; o < outer; o++) {
      order.forEach((u, r) => copyRange(t.data, (o * n + firsts[u]!) * inner, inner, y.data, (o * order.length + r) * inner));
    }
    return [
      y,
      Tensor.int64(order.map((u) => firsts[u]!)),
      Tensor.int64(inverse.map((u) => position[u]!)),
      Tensor.int64(order.map((u) => counts[u]!)),
    ];
  },
};

export const selectionDefs: OpDef[] = [topK, nonZero, compress, unique].map(folding);
