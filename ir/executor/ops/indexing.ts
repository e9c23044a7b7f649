// Ops that read or write elements at computed positions: Gather, GatherElements, GatherND,
// ScatterElements, ScatterND, OneHot, ReverseSequence. Selection ops whose output size depends
// on the data (TopK, NonZero, Compress, Unique) live in selection.ts.

import { isBitPatternFloat } from '../../dtype.js';
import type { Dim, Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Tensor, sizeOf, stridesOf } from '../../tensor.js';
import { normalizeAxis, shapeMismatch } from '../util.js';
import { badInput, cloneData, copyRange, folding, forEachIndex, ints, scalarOf, unsupported } from './layout.js';

/** Resolve a possibly negative index into a dim, or fail. */
function indexInto(i: number, dim: number, node: Node): number {
  const j = i < 0 ? i + dim : i;
  if (j < 0 || j >= dim || !Number.isInteger(j)) badInput(node, `index ${i} is out of range for a dim of ${dim}`);
  return j;
}

// ---- Gather ----

const gather: OpDef = {
  op: 'Gather',
  infer(node, [data, indices]) {
    const s = data?.shape;
    const q = indices?.shape;
    if (!s || !q) return [{ dtype: data?.dtype }];
    const axis = normalizeAxis(node.attrInt('axis', 0), s.length, node);
    return [{ dtype: data?.dtype, shape: [...s.slice(0, axis), ...q, ...s.slice(axis + 1)] }];
  },
  run(node, [data, indices]) {
    const t = data!;
    const axis = normalizeAxis(node.attrInt('axis', 0), t.rank, node);
    const idx = ints(indices!);
    const dim = t.shape[axis]!;
    const outer = sizeOf(t.shape.slice(0, axis));
    const inner = sizeOf(t.shape.slice(axis + 1));
    const out = Tensor.zeros(t.dtype, [...t.shape.slice(0, axis), ...indices!.shape, ...t.shape.slice(axis + 1)]);
    const resolved = idx.map((i) => indexInto(i, dim, node));
    for (let o = 0; o < outer; o++) {
      resolved.forEach((j, k) => copyRange(t.data, (o * dim + j) * inner, inner, out.data, (o * idx.length + k) * inner));
    }
    return [out];
  },
};

// ---- GatherElements / ScatterElements ----

function checkSameRank(node: Node, a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): void {
  if (a && b && a.length !== b.length) shapeMismatch(node, `data has rank ${a.length} but indices rank ${b.length}`);
}

/** For each position of `indices`: the flat data offset with the axis coordinate replaced by the index. */
function elementOffsets(node: Node, dataShape: readonly number[], indices: Tensor, axis: number): Int32Array {
  checkSameRank(node, dataShape, indices.shape);
  const strides = stridesOf(dataShape);
  const idx = ints(indices);
  const offsets = new Int32Array(idx.length);
  forEachIndex(indices.shape, (pos, flat) => {
    let p = 0;
    for (let a = 0; a < pos.length; a++) {
      const c = a === axis ? indexInto(idx[flat]!, dataShape[a]!, node) : pos[a]!;
      if (c >= dataShape[a]!) badInput(node, `indices of shape [${indices.shape.join(',')}] exceed data [${dataShape.join(',')}]`);
      p += c * strides[a]!;
    }
    offsets[flat] = p;
  });
  return offsets;
}

const gatherElements: OpDef = {
  op: 'GatherElements',
  infer(node, [data, indices]) {
    checkSameRank(node, data?.shape, indices?.shape);
    return [{ dtype: data?.dtype, shape: indices?.shape }];
  },
  run(node, [data, indices]) {
    const t = data!;
    const offsets = elementOffsets(node, t.shape, indices!, normalizeAxis(node.attrInt('axis', 0), t.rank, node));
    const out = Tensor.zeros(t.dtype, indices!.shape);
    const src = t.data as unknown as unknown[];
    const dst = out.data as unknown as unknown[];
    offsets.forEach((p, i) => (dst[i] = src[p]));
    return [out];
  },
};

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

function reductionOf(node: Node): Reduction {
  const r = node.attrString('reduction', 'none');
  if (r !== 'none' && r !== 'add' && r !== 'mul' && r !== 'max' && r !== 'min') unsupported(node, `reduction '${r}' is not supported`);
  return r;
}

/** Writes `src[from]` into `out[to]`, combined by the reduction; float16 goes through numbers. */
function writer(out: Tensor, src: Tensor, reduction: Reduction, node: Node): (to: number, from: number) => void {
  const o = out.data as unknown as unknown[];
  const s = src.data as unknown as unknown[];
  if (reduction === 'none') return (to, from) => (o[to] = s[from]);
  if (out.dtype === 'string' || out.dtype === 'bool') unsupported(node, `reduction '${reduction}' on ${out.dtype}`);
  const combine = <T extends number | bigint>(a: T, b: T): T =>
    (reduction === 'add' ? (a as number) + (b as number) : reduction === 'mul' ? (a as number) * (b as number) : reduction === 'max' ? (a > b ? a : b) : a < b ? a : b) as T;
  if (typeof o[0] === 'bigint' || isBitPatternFloat(out.dtype)) {
    if (isBitPatternFloat(out.dtype)) return (to, from) => out.set(to, combine(out.get(to), src.get(from)));
    return (to, from) => (o[to] = combine(o[to] as bigint, s[from] as bigint));
  }
  // Typed-array stores round and wrap exactly as the dtype does.
  return (to, from) => (o[to] = combine(o[to] as number, s[from] as number));
}

const scatterElements: OpDef = {
  op: 'ScatterElements',
  infer(node, [data, indices]) {
    reductionOf(node);
    checkSameRank(node, data?.shape, indices?.shape);
    return [{ dtype: data?.dtype, shape: data?.shape }];
  },
  run(node, [data, indices, updates]) {
    const t = data!;
    if (updates!.shape.join() !== indices!.shape.join()) shapeMismatch(node, 'updates and indices must have the same shape');
    const offsets = elementOffsets(node, t.shape, indices!, normalizeAxis(node.attrInt('axis', 0), t.rank, node));
    const out = new Tensor(t.dtype, t.shape, cloneData(t));
    const write = writer(out, updates!, reductionOf(node), node);
    offsets.forEach((p, i) => write(p, i));
    return [out];
  },
};

// ---- GatherND / ScatterND ----

interface NdLayout {
  /** For each row of indices, the data offset it points at. */
  offsets: number[];
  /** Elements selected per row: prod(data.shape[b+k:]). */
  slice: number;
}

/**
 * Resolve the index rows of GatherND/ScatterND. With batch_dims b, the rows of batch n index
 * data[n, ...]; a row of k coordinates selects a slice of prod(data.shape[b+k:]) elements.
 */
function ndLayout(node: Node, dataShape: readonly number[], indices: Tensor, batchDims: number): NdLayout {
  const q = indices.rank;
  const k = indices.shape[q - 1]!;
  if (q < 1 || k + batchDims > dataShape.length || batchDims >= q) {
    badInput(node, `indices of shape [${indices.shape.join(',')}] cannot index data [${dataShape.join(',')}]`);
  }
  const strides = stridesOf(dataShape);
  const rows = sizeOf(indices.shape.slice(0, q - 1));
  const batches = sizeOf(dataShape.slice(0, batchDims));
  const batchStride = batchDims > 0 ? strides[batchDims - 1]! : 0;
  const rowsPerBatch = batches === 0 ? 1 : rows / batches;
  const idx = ints(indices);
  const offsets: number[] = [];
  for (let r = 0; r < rows; r++) {
    let p = Math.floor(r / rowsPerBatch) * batchStride;
    for (let j = 0; j < k; j++) p += indexInto(idx[r * k + j]!, dataShape[batchDims + j]!, node) * strides[batchDims + j]!;
    offsets.push(p);
  }
  return { offsets, slice: sizeOf(dataShape.slice(batchDims + k)) };
}

const gatherND: OpDef = {
  op: 'GatherND',
  infer(node, [data, indices]) {
    const s = data?.shape;
    const q = indices?.shape;
    const b = node.attrInt('batch_dims', 0);
    const k = q?.[q.length - 1];
    if (!s || !q || typeof k !== 'number') return [{ dtype: data?.dtype }];
    return [{ dtype: data?.dtype, shape: [...q.slice(0, -1), ...s.slice(b + k)] }];
  },
  run(node, [data, indices]) {
    const t = data!;
    const b = node.attrInt('batch_dims', 0);
    const { offsets, slice } = ndLayout(node, t.shape, indices!, b);
    const k = indices!.shape[indices!.rank - 1]!;
    const out = Tensor.zeros(t.dtype, [...indices!.shape.slice(0, -1), ...t.shape.slice(b + k)]);
    offsets.forEach((p, r) => copyRange(t.data, p, slice, out.data, r * slice));
    return [out];
  },
};

const scatterND: OpDef = {
  op: 'ScatterND',
  infer(node, [data]) {
    reductionOf(node);
    return [{ dtype: data?.dtype, shape: data?.shape }];
  },
  run(node, [data, indices, updates]) {
    const t = data!;
    const { offsets, slice } = ndLayout(node, t.shape, indices!, 0);
    if (updates!.size !== offsets.length * slice) shapeMismatch(node, `updates of shape [${updates!.shape.join(',')}] do not match the indices`);
    const out = new Tensor(t.dtype, t.shape, cloneData(t));
    const write = writer(out, updates!, reductionOf(node), node);
    offsets.forEach((p, r) => {
      for (let i = 0; i < slice; i++) write(p + i, r * slice + i);
    });
    return [out];
  },
};

// ---- OneHot ----

function oneHotAxis(node: Node, rank: number): number {
  const axis = node.attrInt('axis', -1);
  const a = axis < 0 ? axis + rank + 1 : axis;
  if (a < 0 || a > rank) badInput(node, `axis ${axis} is out of range for output rank ${rank + 1}`);
  return a;
}

const oneHot: OpDef = {
  op: 'OneHot',
  infer(node, [indices, depth, values], ctx) {
    const s = indices?.shape;
    if (!s) return [{ dtype: values?.dtype }];
    const a = oneHotAxis(node, s.length);
    const d: Dim = depth?.value ? Math.trunc(depth.value.get(0)) : ctx.freshDim('depth');
    return [{ dtype: values?.dtype, shape: [...s.slice(0, a), d, ...s.slice(a)] }];
  },
  run(node, [indices, depthT, values]) {
    const depth = Math.trunc(scalarOf(depthT!, node, 'depth'));
    if (values!.size !== 2) badInput(node, `values must hold [off, on], got ${values!.size} elements`);
    const s = indices!.shape;
    const a = oneHotAxis(node, s.length);
    const outer = sizeOf(s.slice(0, a));
    const inner = sizeOf(s.slice(a));
    const out = Tensor.zeros(values!.dtype, [...s.slice(0, a), depth, ...s.slice(a)]);
    const [off, on] = [values!.data[0], values!.data[1]];
    const dst = out.data as unknown as unknown[];
    dst.fill(off);
    const idx = indices!.toNumbers();
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let v = Math.trunc(idx[o * inner + i]!);
        if (v < 0) v += depth;
        if (v >= 0 && v < depth) dst[(o * depth + v) * inner + i] = on;
      }
    }
    return [out];
  },
};

// ---- ReverseSequence ----

const reverseSequence: OpDef = {
  op: 'ReverseSequence',
  infer(_node, [data]) {
    return [{ dtype: data?.dtype, shape: data?.shape }];
  },
  run(node, [data, lens]) {
    const t = data!;
    const timeAxis = normalizeAxis(node.attrInt('time_axis', 0), t.rank, node);
    const batchAxis = normalizeAxis(node.attrInt('batch_axis', 1), t.rank, node);
    if (timeAxis === batchAxis) badInput(node, 'time_axis and batch_axis must differ');
    const seq = ints(lens!);
    if (seq.length !== t.shape[batchAxis]) badInput(node, `sequence_lens has ${seq.length} entries for a batch of ${t.shape[batchAxis]}`);
    const timeStride = stridesOf(t.shape)[timeAxis]!;
    const out = Tensor.zeros(t.dtype, t.shape);
    const src = t.data as unknown as unknown[];
    const dst = out.data as unknown as unknown[];
    forEachIndex(t.shape, (pos, flat) => {
      const len = seq[pos[batchAxis]!]!;
      const time = pos[timeAxis]!;
      dst[flat] = src[time < len ? flat + (len - 1 - 2 * time) * timeStride : flat];
    });
    return [out];
  },
};

export const indexingDefs: OpDef[] = [gather, gatherElements, scatterElements, gatherND, scatterND, oneHot, reverseSequence].map(folding);
