// Ops that change how data is laid out or only read shapes: Reshape, Transpose, Flatten,
// Squeeze, Unsqueeze, Expand, Tile, Shape, Size, ConstantOfShape, Range, Identity, Dropout,
// EyeLike, Trilu. Concat/Split/Slice/Pad and the block moves live in slicing.ts.

import type { Dim, Node, Shape } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Tensor, sizeOf, stridesOf } from '../../tensor.js';
import { broadcastShapes, constInts, shapeMismatch } from '../util.js';
import {
  SymbolicProduct,
  badInput,
  dtypeAttr,
  folding,
  freshShape,
  ints,
  isStatic,
  lengthOf1D,
  numericProduct,
  permuteView,
  sameRankFreshDims,
  scalarOf,
  stridedCopy,
  uniqueAxes,
  unsupported,
} from './layout.js';

// ---- Reshape ----

/** Output dims of Reshape from the requested shape (0 copies, -1 is solved); undefined where unknown. */
function reshapeDims(inShape: Shape | undefined, spec: readonly number[], allowzero: boolean, node: Node): (Dim | undefined)[] {
  if (spec.filter((d) => d === -1).length > 1) badInput(node, `shape [${spec.join(',')}] has more than one -1`);
  if (allowzero && spec.includes(0) && spec.includes(-1)) badInput(node, 'shape has both 0 and -1 with allowzero=1');
  const out: (Dim | undefined)[] = spec.map((d, i) => {
    if (d === 0 && !allowzero) {
      if (inShape && i >= inShape.length) badInput(node, `shape copies dim ${i} of a rank-${inShape.length} input`);
      return inShape?.[i];
    }
    if (d < -1) badInput(node, `shape [${spec.join(',')}] has a negative dim`);
    return d === -1 ? undefined : d;
  });
  const hole = spec.indexOf(-1);
  if (hole >= 0 && inShape) {
    const known = new SymbolicProduct();
    for (let i = 0; i < out.length; i++) {
      if (i === hole) continue;
      const d = out[i];
      if (d === undefined) return out;
      known.mul(d);
    }
    out[hole] = new SymbolicProduct(inShape).divide(known);
  }
  return out;
}

const reshape: OpDef = {
  op: 'Reshape',
  infer(node, [data, shape], ctx) {
    const spec = constInts(shape);
    const allowzero = node.attrInt('allowzero', 0) === 1;
    if (!spec) {
      const rank = lengthOf1D(shape);
      return [{ dtype: data?.dtype, shape: rank === undefined ? undefined : freshShape(rank, ctx, 'reshape') }];
    }
    const dims = reshapeDims(data?.shape, spec, allowzero, node);
    const outShape = dims.map((d) => d ?? ctx.freshDim('reshape'));
    const inSize = isStatic(data?.shape) ? sizeOf(data.shape) : undefined;
    const outSize = numericProduct(outShape);
    if (inSize !== undefined && outSize !== undefined && inSize !== outSize) {
      shapeMismatch(node, `cannot reshape [${data!.shape!.join(',')}] to [${outShape.join(',')}]`);
    }
    return [{ dtype: data?.dtype, shape: outShape }];
  },
  run(node, [data, shape]) {
    const dims = reshapeDims(data!.shape, ints(shape!), node.attrInt('allowzero', 0) === 1, node);
    if (dims.some((d) => typeof d !== 'number')) {
      shapeMismatch(node, `cannot reshape [${data!.shape.join(',')}] to [${ints(shape!).join(',')}]`);
    }
    const out = dims as number[];
    if (sizeOf(out) !== data!.size) shapeMismatch(node, `cannot reshape [${data!.shape.join(',')}] to [${out.join(',')}]`);
    return [data!.reshape(out)];
  },
};

// ---- Transpose ----

function permOf(node: Node, rank: number): number[] {
  const perm = node.attrInts('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    badInput(node, `perm [${perm.join(',')}] is not a permutation of rank ${rank}`);
  }
  return perm;
}

const transpose: OpDef = {
  op: 'Transpose',
  infer(node, [data]) {
    const s = data?.shape;
    return [{ dtype: data?.dtype, shape: s && permOf(node, s.length).map((p) => s[p]!) }];
  },
  run(node, [data]) {
    const t = data!;
    const perm = permOf(node, t.rank);
    const out = Tensor.zeros(t.dtype, perm.map((p) => t.shape[p]!));
    permuteView(t, t.shape, perm, out);
    return [out];
  },
};

// ---- Flatten ----

function flattenAxis(node: Node, rank: number): number {
  const axis = node.attrInt('axis', 1);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > rank) badInput(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

const flatten: OpDef = {
  op: 'Flatten',
  infer(node, [data], ctx) {
    const s = data?.shape;
    if (!s) return [{ dtype: data?.dtype, shape: [ctx.freshDim('flatten'), ctx.freshDim('flatten')] }];
    const a = flattenAxis(node, s.length);
    const part = (dims: Shape): Dim => (dims.length === 1 ? dims[0]! : numericProduct(dims) ?? ctx.freshDim('flatten'));
    return [{ dtype: data?.dtype, shape: [part(s.slice(0, a)), part(s.slice(a))] }];
  },
  run(node, [data]) {
    const a = flattenAxis(node, data!.rank);
    return [data!.reshape([sizeOf(data!.shape.slice(0, a)), sizeOf(data!.shape.slice(a))])];
  },
};

// ---- Squeeze / Unsqueeze ----

const squeeze: OpDef = {
  op: 'Squeeze',
  infer(node, [data, axesInfo]) {
    const s = data?.shape;
    if (!s) return [{ dtype: data?.dtype }];
    if (!node.inputs[1]) {
      return [{ dtype: data?.dtype, shape: isStatic(s) ? s.filter((d) => d !== 1) : undefined }];
    }
    const axes = constInts(axesInfo);
    if (!axes) return [{ dtype: data?.dtype }];
    const drop = uniqueAxes(axes, s.length, node);
    for (const a of drop) {
      if (typeof s[a] === 'number' && s[a] !== 1) shapeMismatch(node, `cannot squeeze axis ${a} of size ${s[a]}`);
    }
    return [{ dtype: data?.dtype, shape: s.filter((_, i) => !drop.includes(i)) }];
  },
  run(node, [data, axes]) {
    const s = data!.shape;
    if (!axes) return [data!.reshape(s.filter((d) => d !== 1))];
    const drop = uniqueAxes(ints(axes), s.length, node);
    for (const a of drop) if (s[a] !== 1) shapeMismatch(node, `cannot squeeze axis ${a} of size ${s[a]}`);
    return [data!.reshape(s.filter((_, i) => !drop.includes(i)))];
  },
};

function unsqueezeShape<D extends Dim>(s: readonly D[], axes: readonly number[], node: Node): D[] {
  const rank = s.length + axes.length;
  const at = new Set(uniqueAxes(axes, rank, node));
  const out: D[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? (1 as D) : s[k++]!);
  return out;
}

const unsqueeze: OpDef = {
  op: 'Unsqueeze',
  infer(node, [data, axesInfo]) {
    const axes = constInts(axesInfo);
    const s = data?.shape;
    return [{ dtype: data?.dtype, shape: s && axes ? unsqueezeShape(s, axes, node) : undefined }];
  },
  run(node, [data, axes]) {
    return [data!.reshape(unsqueezeShape(data!.shape, ints(axes!), node))];
  },
};

// ---- Expand / Tile ----

const expand: OpDef = {
  op: 'Expand',
  infer(node, [data, shape], ctx) {
    const spec = constInts(shape);
    if (spec && data?.shape) return [{ dtype: data.dtype, shape: broadcastShapes([data.shape, spec], node) }];
    const n = spec?.length ?? lengthOf1D(shape);
    const r = data?.shape?.length;
    return [{ dtype: data?.dtype, shape: n !== undefined && r !== undefined ? freshShape(Math.max(n, r), ctx, 'expand') : undefined }];
  },
  run(node, [data, shape]) {
    const t = data!;
    const outShape = broadcastShapes([t.shape, ints(shape!)], node) as number[];
    const inStrides = stridesOf(t.shape);
    const off = outShape.length - t.rank;
    const strides = outShape.map((_, i) => (i < off || t.shape[i - off] === 1 ? 0 : inStrides[i - off]!));
    const out = Tensor.zeros(t.dtype, outShape);
    stridedCopy(t.data, 0, strides, outShape, out.data);
    return [out];
  },
};

function checkRepeats(node: Node, repeats: readonly number[], rank: number): void {
  if (repeats.length !== rank) badInput(node, `repeats has ${repeats.length} entries for a rank-${rank} input`);
  if (repeats.some((r) => r < 0)) badInput(node, `repeats [${repeats.join(',')}] has a negative entry`);
}

const tile: OpDef = {
  op: 'Tile',
  infer(node, [data, repeatsInfo], ctx) {
    const s = data?.shape;
    const repeats = constInts(repeatsInfo);
    if (!s || !repeats) return sameRankFreshDims(data, ctx, 'tile');
    checkRepeats(node, repeats, s.length);
    const shape = s.map((d, i) => (typeof d === 'number' ? d * repeats[i]! : repeats[i] === 1 ? d : ctx.freshDim('tile')));
    return [{ dtype: data?.dtype, shape }];
  },
  run(node, [data, repeatsT]) {
    const t = data!;
    const repeats = ints(repeatsT!);
    checkRepeats(node, repeats, t.rank);
    // Tile is a broadcast of the view [r0, d0, r1, d1, ...] with stride 0 on each r_i.
    const inStrides = stridesOf(t.shape);
    const view = t.shape.flatMap((d, i) => [repeats[i]!, d]);
    const strides = t.shape.flatMap((_, i) => [0, inStrides[i]!]);
    const out = Tensor.zeros(t.dtype, t.shape.map((d, i) => d * repeats[i]!));
    stridedCopy(t.data, 0, strides, view, out.data);
    return [out];
  },
};

// ---- Shape / Size ----

function shapeRange(node: Node, rank: number): [number, number] {
  const clamp = (x: number) => Math.min(Math.max(x < 0 ? x + rank : x, 0), rank);
  return [clamp(node.attrInt('start', 0)), clamp(node.attrInt('end', rank))];
}

const shapeOp: OpDef = {
  op: 'Shape',
  infer(node, [data]) {
    const s = data?.shape;
    if (!s) return [{ dtype: 'int64' }];
    const [start, end] = shapeRange(node, s.length);
    const dims = s.slice(start, Math.max(start, end));
    return [{ dtype: 'int64', shape: [dims.length], value: isStatic(dims) ? Tensor.int64(dims) : undefined }];
  },
  run(node, [data]) {
    const [start, end] = shapeRange(node, data!.rank);
    return [Tensor.int64(data!.shape.slice(start, Math.max(start, end)))];
  },
};

const size: OpDef = {
  op: 'Size',
  infer(_node, [data]) {
    const s = data?.shape;
    return [{ dtype: 'int64', shape: [], value: isStatic(s) ? Tensor.int64([sizeOf(s)], []) : undefined }];
  },
  run(_node, [data]) {
    return [Tensor.int64([data!.size], [])];
  },
};

// ---- ConstantOfShape / Range / EyeLike ----

function fillValue(node: Node): Tensor {
  const v = node.attrTensor('value') ?? Tensor.float32([0], [1]);
  if (v.size !== 1) badInput(node, `value must have one element, got ${v.size}`);
  return v;
}

const constantOfShape: OpDef = {
  op: 'ConstantOfShape',
  infer(node, [shape], ctx) {
    const dtype = fillValue(node).dtype;
    const spec = constInts(shape);
    if (spec) return [{ dtype, shape: spec }];
    const n = lengthOf1D(shape);
    return [{ dtype, shape: n === undefined ? undefined : freshShape(n, ctx, 'filled') }];
  },
  run(node, [shape]) {
    const v = fillValue(node);
    const dims = ints(shape!);
    if (dims.some((d) => d < 0)) badInput(node, `shape [${dims.join(',')}] has a negative dim`);
    const out = Tensor.zeros(v.dtype, dims);
    (out.data as unknown as { fill(x: unknown): void }).fill(v.data[0]);
    return [out];
  },
};

function rangeCount(start: number, limit: number, delta: number): number {
  return Math.max(Math.ceil((limit - start) / delta), 0);
}

const range: OpDef = {
  op: 'Range',
  infer(_node, [start, limit, delta], ctx) {
    const dtype = start?.dtype ?? limit?.dtype;
    if (start?.value && limit?.value && delta?.value) {
      return [{ dtype, shape: [rangeCount(start.value.get(0), limit.value.get(0), delta.value.get(0))] }];
    }
    return [{ dtype, shape: [ctx.freshDim('range')] }];
  },
  run(node, [startT, limitT, deltaT]) {
    const [s, l, d] = [startT!, limitT!, deltaT!].map((t, i) => scalarOf(t, node, ['start', 'limit', 'delta'][i]!));
    if (d === 0) badInput(node, 'delta must not be 0');
    const dtype = startT!.dtype;
    if (dtype === 'int64') {
      // Exact BigInt arithmetic: int64 ranges may exceed 2^53.
      const [bs, bl, bd] = [startT!, limitT!, deltaT!].map((t) => t.data[0] as bigint);
      const span = bl! - bs!;
      let n = span / bd! + (span % bd! !== 0n && span > 0n === bd! > 0n ? 1n : 0n);
      if (n < 0n) n = 0n;
      const out = Tensor.zeros(dtype, [Number(n)]);
      for (let i = 0; i < out.size; i++) out.data[i] = bs! + BigInt(i) * bd!;
      return [out];
    }
    const out = Tensor.zeros(dtype, [rangeCount(s!, l!, d!)]);
    for (let i = 0; i < out.size; i++) out.set(i, s! + i * d!);
    return [out];
  },
};

const eyeLike: OpDef = {
  op: 'EyeLike',
  infer(node, [data]) {
    const s = data?.shape;
    if (s && s.length !== 2) badInput(node, `input must be 2-D, got rank ${s.length}`);
    return [{ dtype: dtypeAttr(node, 'dtype') ?? data?.dtype, shape: s }];
  },
  run(node, [data]) {
    const [rows, cols] = data!.shape as [number, number];
    if (data!.rank !== 2) badInput(node, `input must be 2-D, got rank ${data!.rank}`);
    const out = Tensor.zeros(dtypeAttr(node, 'dtype') ?? data!.dtype, [rows, cols]);
    const k = node.attrInt('k', 0);
    for (let i = 0; i < rows; i++) if (i + k >= 0 && i + k < cols) out.set(i * cols + i + k, 1);
    return [out];
  },
};

// ---- Trilu ----

const trilu: OpDef = {
  op: 'Trilu',
  infer(node, [data]) {
    if (data?.shape && data.shape.length < 2) badInput(node, `input must have rank >= 2, got ${data.shape.length}`);
    return [{ dtype: data?.dtype, shape: data?.shape }];
  },
  run(node, [data, kT]) {
    const t = data!;
    if (t.rank < 2) badInput(node, `input must have rank >= 2, got ${t.rank}`);
    const k = kT ? scalarOf(kT, node, 'k') : 0;
    const upper = node.attrInt('upper', 1) === 1;
    const [rows, cols] = t.shape.slice(-2) as [number, number];
    const out = Tensor.zeros(t.dtype, t.shape);
    const src = t.data as unknown as unknown[];
    const dst = out.data as unknown as unknown[];
    for (let base = 0; base < t.size; base += rows * cols) {
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          if (upper ? j - i >= k : j - i <= k) dst[base + i * cols + j] = src[base + i * cols + j];
        }
      }
    }
    return [out];
  },
};

// ---- Identity / Dropout ----

const identity: OpDef = {
  op: 'Identity',
  infer(_node, [data]) {
    return [{ ...data }];
  },
  run(_node, [data]) {
    return [data!];
  },
  runValues(_node, [data]) {
    return [data ?? null];
  },
};

/** Dropout is only defined here for inference (or ratio 0): randomness is never reproducible. */
function checkDropoutInference(node: Node, ratio: number | undefined, training: boolean | undefined): void {
  if (training && ratio !== 0) {
    unsupported(node, 'Dropout in training mode (training_mode=true with a nonzero ratio) is random and not supported');
  }
}

const dropout: OpDef = {
  op: 'Dropout',
  infer(node, [data, ratio, training]: readonly (TypeInfo | undefined)[], _ctx: InferContext) {
    const r = ratio?.value ? ratio.value.get(0) : node.inputs[1] ? undefined : 0.5;
    const t = training?.value ? training.value.get(0) !== 0 : node.inputs[2] ? undefined : false;
    checkDropoutInference(node, r, t);
    return [{ dtype: data?.dtype, shape: data?.shape }, { dtype: 'bool', shape: data?.shape }];
  },
  run(node, [data, ratio, training]) {
    checkDropoutInference(node, ratio ? ratio.get(0) : 0.5, training ? training.get(0) !== 0 : false);
    const mask = Tensor.zeros('bool', data!.shape);
    (mask.data as Uint8Array).fill(1);
    return [data!, mask];
  },
};

export const shapeDefs: OpDef[] = [
  reshape, transpose, flatten, squeeze, unsqueeze, expand, tile, shapeOp, size, constantOfShape, range, eyeLike,
  trilu, identity, dropout,
].map(folding);
