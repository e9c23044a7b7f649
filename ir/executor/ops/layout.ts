// Private helpers for the data-movement, indexing and control-flow op families: element copies
// that work on every storage kind (typed arrays, BigInt arrays, string arrays), dim arithmetic
// for shape inference, and the constant folding of small shape tensors during inference.

import { error } from '../../diagnostics.js';
import type { TensorData } from '../../dtype.js';
import type { Dim, Node, Shape } from '../../graph.js';
import type { InferContext, OpDef, RunContext, TypeInfo } from '../../opdef.js';
import { sizeOf, stridesOf, type Tensor } from '../../tensor.js';
import { nodeLocation } from '../util.js';

/** Element-wise view of any storage; moving data never needs to know the element type. */
type Slots = { [i: number]: unknown; length: number };

/**
 * dst[dstOffset + i] = src[offset + Σ idx_k * strides_k] over the row-major multi-index idx
 * of `shape`. Strides may be 0 (broadcast) or negative (reversed slices).
 */
export function stridedCopy(
  src: TensorData,
  offset: number,
  strides: readonly number[],
  shape: readonly number[],
  dst: TensorData,
  dstOffset = 0,
): void {
  const s = src as unknown as Slots;
  const d = dst as unknown as Slots;
  const total = sizeOf(shape);
  if (total === 0) return;
  const rank = shape.length;
  if (rank === 0) {
    d[dstOffset] = s[offset];
    return;
  }
  const inner = shape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  let o = dstOffset;
  for (let n = total / inner; n > 0; n--) {
    let p = base;
    for (let i = 0; i < inner; i++, p += innerStride) d[o++] = s[p];
    for (let k = rank - 2; k >= 0; k--) {
      base += strides[k]!;
      if (++idx[k]! < shape[k]!) break;
      base -= strides[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}

/** Call fn for every row-major multi-index of `shape` (the array is reused between calls). */
export function forEachIndex(shape: readonly number[], fn: (index: readonly number[], flat: number) => void): void {
  const total = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    fn(idx, flat);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
}

/** Copy `count` consecutive elements. */
export function copyRange(src: TensorData, from: number, count: number, dst: TensorData, to: number): void {
  // Short runs (Gather on the last axis, small concat blocks) are cheaper without subarray views.
  if (Array.isArray(src) || count < 16) {
    const d = dst as unknown as Slots;
    const v = src as unknown as Slots;
    for (let i = 0; i < count; i++) d[to + i] = v[from + i];
    return;
  }
  // Source and destination always share a storage kind; the casts only name one of them.
  (dst as Uint8Array).set((src as Uint8Array).subarray(from, from + count), to);
}

/** A fresh copy of a tensor's data with a new shape (or the same). */
export function cloneData(t: Tensor): TensorData {
  return Array.isArray(t.data) ? [...t.data] : (t.data as Uint8Array).slice();
}

/** Permute a (reshaped) view: out[i...] = view[perm applied]. The view must have t's size. */
export function permuteView(t: Tensor, viewShape: readonly number[], perm: readonly number[], out: Tensor): void {
  const strides = stridesOf(viewShape);
  stridedCopy(t.data, 0, perm.map((p) => strides[p]!), perm.map((p) => viewShape[p]!), out.data);
}

// ---- reading small int tensors (shapes, axes, indices) ----

/** A 1-D or scalar integer tensor as numbers (int64 narrowed; INT64 limits become ±9.2e18). */
export function ints(t: Tensor): number[] {
  return t.toNumbers();
}

export function scalarOf(t: Tensor, node: Node, what: string): number {
  if (t.size !== 1) throw error('BAD_INPUT', `${what} must have one element, got ${t.size}`, nodeLocation(node));
  return t.get(0);
}

export function badInput(node: Node, text: string): never {
  throw error('BAD_INPUT', text, nodeLocation(node));
}

export function unsupported(node: Node, text: string): never {
  throw error('UNSUPPORTED_OP', text, nodeLocation(node));
}

/** Resolve an axis in [-rank, rank) throwing BAD_INPUT (for axes that arrive as inputs). */
export function axisIn(axis: number, rank: number, node: Node): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || !Number.isInteger(a)) badInput(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** A list of axes, each resolved, with duplicates rejected. */
export function uniqueAxes(axes: readonly number[], rank: number, node: Node): number[] {
  const out = axes.map((a) => axisIn(a, rank, node));
  if (new Set(out).size !== out.length) badInput(node, `axes [${axes.join(',')}] repeat an axis`);
  return out;
}

// ---- dtype attributes (DType name strings; see ../util.ts) ----

export { dtypeAttr } from '../util.js';

// ---- dims for shape inference ----

export function isStatic(shape: Shape | undefined): shape is readonly number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

/** Product of dims when all are numbers. */
export function numericProduct(dims: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/**
 * A product of dims as a number times a multiset of symbols, so that `-1` in Reshape can be
 * solved when symbols cancel (['batch', 4, 8] -> [0, -1] gives ['batch', 32]).
 */
export class SymbolicProduct {
  coef = 1;
  readonly symbols = new Map<string, number>();

  constructor(dims: readonly Dim[] = []) {
    for (const d of dims) this.mul(d);
  }

  mul(d: Dim): void {
    if (typeof d === 'number') this.coef *= d;
    else this.symbols.set(d, (this.symbols.get(d) ?? 0) + 1);
  }

  /** this / other as a single dim, when it is one (a number or one symbol); else undefined. */
  divide(other: SymbolicProduct): Dim | undefined {
    const left = new Map(this.symbols);
    for (const [s, k] of other.symbols) {
      const have = left.get(s) ?? 0;
      if (have < k) return undefined;
      if (have === k) left.delete(s);
      else left.set(s, have - k);
    }
    if (other.coef === 0 || this.coef % other.coef !== 0) return undefined;
    const coef = this.coef / other.coef;
    if (left.size === 0) return coef;
    if (left.size === 1 && coef === 1) {
      const [[s, k]] = [...left];
      if (k === 1) return s;
    }
    return undefined;
  }
}

/** The dim two inputs agree on: a number beats a symbol (the only valid binding). */
export function mergeDim(a: Dim | undefined, b: Dim | undefined): Dim | undefined {
  if (a === undefined) return b;
  if (typeof a === 'number') return a;
  return typeof b === 'number' ? b : a;
}

// ---- type info helpers ----

/** Length of a 1-D input (e.g. a shape tensor), when known. */
export function lengthOf1D(t: TypeInfo | undefined): number | undefined {
  if (t?.value) return t.value.size;
  const s = t?.shape;
  if (s && s.length === 1 && typeof s[0] === 'number') return s[0];
  return undefined;
}

export function freshShape(rank: number, ctx: InferContext, hint: string): Dim[] {
  return Array.from({ length: rank }, () => ctx.freshDim(hint));
}

/**
 * Inference of an op that keeps its input's rank when the constant input fixing the dims is not
 * known: fresh dims named after `hint`, or no shape when the input's rank is unknown too.
 */
export function sameRankFreshDims(data: TypeInfo | undefined, ctx: InferContext, hint: string): TypeInfo[] {
  const s = data?.shape;
  return [s ? { dtype: data?.dtype, shape: freshShape(s.length, ctx, hint) } : { dtype: data?.dtype }];
}

/** Limit on elements for constant propagation during inference (shape tensors are tiny). */
export const FOLD_LIMIT = 64;

const noSubgraphs: RunContext = {
  runSubgraph() {
    throw new Error('constant folding during inference cannot run subgraphs');
  },
};

/**
 * Wrap an op's inference so that, when every present input is a known constant of at most
 * FOLD_LIMIT elements and the outputs are as small, outputs carry their value too. This is
 * what lets static specialization fold PyTorch's Shape->Gather->Concat->Reshape chains.
 */
export function folding(def: OpDef): OpDef {
  const { run } = def;
  if (!run) return def;
  return {
    ...def,
    infer(node, inputs, ctx) {
      const outs = def.infer(node, inputs, ctx);
      const tensors: (Tensor | undefined)[] = [];
      for (let i = 0; i < node.inputs.length; i++) {
        if (!node.inputs[i]) {
          tensors.push(undefined);
          continue;
        }
        const v = inputs[i]?.value;
        if (!v || v.size > FOLD_LIMIT) return outs;
        tensors.push(v);
      }
      if (outs.some((o) => o.value === undefined && !(isStatic(o.shape) && sizeOf(o.shape) <= FOLD_LIMIT))) return outs;
      if (outs.every((o) => o.value !== undefined)) return outs;
      let values: Tensor[];
      try {
        values = run(node, tensors, noSubgraphs);
      } catch {
        // Folding only helps later nodes; the executor reports bad constants when it runs them.
        return outs;
      }
      return outs.map((o, i) => ({ ...o, value: o.value ?? values[i], shape: o.shape ?? values[i]?.shape }));
    },
  };
}
