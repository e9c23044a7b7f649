// Ops that cut, join, pad and rearrange blocks of a tensor: Concat, Split, Slice, Pad,
// CenterCropPad, DepthToSpace, SpaceToDepth.

import type { Dim, Node, Shape } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Tensor, sizeOf, stridesOf } from '../../tensor.js';
import { constInts, normalizeAxis, shapeMismatch } from '../util.js';
import {
  badInput,
  copyRange,
  folding,
  freshShape,
  ints,
  mergeDim,
  permuteView,
  sameRankFreshDims,
  stridedCopy,
  uniqueAxes,
  unsupported,
} from './layout.js';

// ---- Concat ----

const concat: OpDef = {
  op: 'Concat',
  infer(node, inputs, ctx) {
    const infos = inputs.filter((t): t is TypeInfo => t !== undefined);
    const dtype = infos.find((t) => t.dtype)?.dtype;
    const shapes = infos.map((t) => t.shape);
    if (shapes.length === 0 || shapes.some((s) => !s)) {
      const known = shapes.find((s) => s);
      return [{ dtype, shape: known ? freshShape(known.length, ctx, 'concat') : undefined }];
    }
    const rank = shapes[0]!.length;
    if (shapes.some((s) => s!.length !== rank)) {
      shapeMismatch(node, `inputs have different ranks: ${shapes.map((s) => `[${s!.join(',')}]`).join(', ')}`);
    }
    const axis = normalizeAxis(node.attrInt('axis', 0), rank, node);
    const out: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const dims = shapes.map((s) => s![i]!);
      if (i === axis) {
        out.push(dims.reduce<number | undefined>((acc, d) => (acc !== undefined && typeof d === 'number' ? acc + d : undefined), 0) ?? ctx.freshDim('concat'));
        continue;
      }
      const nums = new Set(dims.filter((d) => typeof d === 'number'));
      if (nums.size > 1) shapeMismatch(node, `inputs differ in dim ${i}: ${dims.join(' vs ')}`);
      out.push(dims.reduce<Dim | undefined>((a, d) => mergeDim(a, d), undefined)!);
    }
    return [{ dtype, shape: out }];
  },
  run(node, inputs) {
    const ts = inputs.filter((t): t is Tensor => t !== undefined);
    return [concatAlong(node, ts, normalizeAxis(node.attrInt('axis', 0), ts[0]!.rank, node))];
  },
};

/** Concatenate tensors along a resolved axis (also used by ConcatFromSequence). */
export function concatAlong(node: Node, ts: readonly Tensor[], axis: number): Tensor {
  const first = ts[0]!;
  const outShape = [...first.shape];
  outShape[axis] = 0;
  for (const t of ts) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      shapeMismatch(node, `cannot concatenate [${t.shape.join(',')}] with [${first.shape.join(',')}] on axis ${axis}`);
    }
    outShape[axis] += t.shape[axis]!;
  }
  const out = Tensor.zeros(first.dtype, outShape);
  const outer = sizeOf(first.shape.slice(0, axis));
  const inner = sizeOf(first.shape.slice(axis + 1));
  const outBlock = outShape[axis]! * inner;
  let offset = 0;
  for (const t of ts) {
    const block = t.shape[axis]! * inner;
    for (let o = 0; o < outer; o++) copyRange(t.data, o * block, block, out.data, o * outBlock + offset);
    offset += block;
  }
  return out;
}

// ---- Split ----

/** Sizes of the parts along the axis: from the split input, num_outputs, or equal parts. */
function splitSizes(node: Node, dim: number, split: readonly number[] | undefined): number[] {
  const n = node.outputs.length;
  if (split) {
    if (split.length !== n || split.reduce((a, b) => a + b, 0) !== dim || split.some((s) => s < 0)) {
      badInput(node, `split [${split.join(',')}] does not cut a dim of ${dim} into ${n} parts`);
    }
    return [...split];
  }
  if (node.attrInt('num_outputs') !== undefined) {
    // Opset 18+: the last part is smaller when the dim does not divide evenly.
    const chunk = Math.ceil(dim / n);
    return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (dim % n !== 0) badInput(node, `a dim of ${dim} cannot be split into ${n} equal parts`);
  return new Array<number>(n).fill(dim / n);
}

const split: OpDef = {
  op: 'Split',
  infer(node, [data, splitInfo], ctx) {
    const s = data?.shape;
    if (!s) return node.outputs.map(() => ({ dtype: data?.dtype }));
    const axis = normalizeAxis(node.attrInt('axis', 0), s.length, node);
    const dim = s[axis]!;
    const given = constInts(splitInfo);
    let sizes: (Dim | undefined)[];
    if (typeof dim === 'number' && (given || !node.inputs[1])) sizes = splitSizes(node, dim, given);
    else if (given) sizes = given;
    else sizes = node.outputs.map(() => (node.outputs.length === 1 ? dim : undefined));
    return sizes.map((d) => {
      const shape = [...s];
      shape[axis] = d ?? ctx.freshDim('split');
      return { dtype: data?.dtype, shape };
    });
  },
  run(node, [data, splitT]) {
    const t = data!;
    const axis = normalizeAxis(node.attrInt('axis', 0), t.rank, node);
    return splitAlong(t, axis, splitSizes(node, t.shape[axis]!, splitT ? ints(splitT) : undefined));
  },
};

/** Cut a tensor into consecutive parts of the given sizes along a resolved axis. */
export function splitAlong(t: Tensor, axis: number, sizes: readonly number[]): Tensor[] {
  const strides = stridesOf(t.shape);
  let start = 0;
  return sizes.map((n) => {
    const shape = [...t.shape];
    shape[axis] = n;
    const out = Tensor.zeros(t.dtype, shape);
    stridedCopy(t.data, start * strides[axis]!, strides, shape, out.data);
    start += n;
    return out;
  });
}

// ---- Slice ----

interface SliceAxis {
  axis: number;
  start: number;
  step: number;
  count: number;
}

/** Clamp start/end into a dim the way ONNX does (ends may be ±INT64_MAX), and count the elements. */
function sliceRange(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  const fix = (x: number, lo: number, hi: number) => Math.min(Math.max(x < 0 ? x + dim : x, lo), hi);
  const s = step > 0 ? fix(start, 0, dim) : fix(start, 0, dim - 1);
  const e = step > 0 ? fix(end, 0, dim) : fix(end, -1, dim - 1);
  return { start: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

/** Whether a slice keeps every element of any dim ([0:INT_MAX:1] or [-1:INT_MIN:-1]), so a symbol survives. */
function takesWholeDim(start: number, end: number, step: number): boolean {
  const huge = 2 ** 31 - 1;
  return (step === 1 && start === 0 && end >= huge) || (step === -1 && start === -1 && end <= -huge);
}

interface SliceSpec {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

function sliceSpec(node: Node, rank: number, starts: number[], ends: number[], axesIn?: number[], stepsIn?: number[]): SliceSpec {
  const axes = uniqueAxes(axesIn ?? starts.map((_, i) => i), rank, node);
  const steps = stepsIn ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    badInput(node, 'starts, ends, axes and steps must have the same length');
  }
  if (steps.some((s) => s === 0)) badInput(node, 'steps must not be 0');
  return { starts, ends, axes, steps };
}

const slice: OpDef = {
  op: 'Slice',
  infer(node, [data, startsI, endsI, axesI, stepsI], ctx) {
    const s = data?.shape;
    if (!s) return [{ dtype: data?.dtype }];
    const starts = constInts(startsI);
    const ends = constInts(endsI);
    const axes = node.inputs[3] ? constInts(axesI) : undefined;
    const steps = node.inputs[4] ? constInts(stepsI) : undefined;
    if (!starts || !ends || (node.inputs[3] && !axes) || (node.inputs[4] && !steps)) {
      return sameRankFreshDims(data, ctx, 'slice');
    }
    const spec = sliceSpec(node, s.length, starts, ends, axes, steps);
    const out = [...s];
    spec.axes.forEach((a, i) => {
      const dim = s[a]!;
      const [st, en, sp] = [spec.starts[i]!, spec.ends[i]!, spec.steps[i]!];
      if (typeof dim === 'number') out[a] = sliceRange(dim, st, en, sp).count;
      else if (!takesWholeDim(st, en, sp)) out[a] = ctx.freshDim('slice');
    });
    return [{ dtype: data?.dtype, shape: out }];
  },
  run(node, [data, startsT, endsT, axesT, stepsT]) {
    const t = data!;
    const spec = sliceSpec(node, t.rank, ints(startsT!), ints(endsT!), axesT && ints(axesT), stepsT && ints(stepsT));
    const inStrides = stridesOf(t.shape);
    const shape = [...t.shape];
    const strides = [...inStrides];
    let offset = 0;
    const parts: SliceAxis[] = spec.axes.map((axis, i) => ({
      axis,
      step: spec.steps[i]!,
      ...sliceRange(t.shape[axis]!, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!),
    }));
    for (const p of parts) {
      shape[p.axis] = p.count;
      strides[p.axis] = inStrides[p.axis]! * p.step;
      offset += p.start * inStrides[p.axis]!;
    }
    const out = Tensor.zeros(t.dtype, shape);
    stridedCopy(t.data, offset, strides, shape, out.data);
    return [out];
  },
};

// ---- Pad ----

type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

function padMode(node: Node): PadMode {
  const mode = node.attrString('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap') {
    unsupported(node, `Pad mode '${mode}' is not supported`);
  }
  return mode;
}

/** Per-axis [begin, end] pads for every axis of a rank-r input (axes not named get 0). */
function padsPerAxis(node: Node, rank: number, pads: readonly number[], axesIn?: readonly number[]): [number, number][] {
  const axes = axesIn ? uniqueAxes(axesIn, rank, node) : Array.from({ length: rank }, (_, i) => i);
  if (pads.length !== 2 * axes.length) badInput(node, `pads has ${pads.length} entries for ${axes.length} axes`);
  const out: [number, number][] = Array.from({ length: rank }, () => [0, 0]);
  axes.forEach((a, i) => (out[a] = [pads[i]!, pads[i + axes.length]!]));
  return out;
}

/** Source index along one axis for output position o (-1: the constant). */
function padSource(mode: PadMode, o: number, begin: number, dim: number): number {
  const i = o - begin;
  if (i >= 0 && i < dim) return i;
  if (mode === 'constant' || dim === 0) return -1;
  if (mode === 'edge') return i < 0 ? 0 : dim - 1;
  if (mode === 'wrap') return ((i % dim) + dim) % dim;
  if (dim === 1) return 0;
  const period = 2 * (dim - 1);
  const r = ((i % period) + period) % period;
  return r < dim ? r : period - r;
}

function padTensor(node: Node, t: Tensor, pads: [number, number][], mode: PadMode, fill: unknown): Tensor {
  const shape = t.shape.map((d, a) => d + pads[a]![0] + pads[a]![1]);
  if (shape.some((d) => d < 0)) badInput(node, `pads cut more than the input of shape [${t.shape.join(',')}]`);
  if (mode !== 'constant' && t.shape.some((d, a) => d === 0 && shape[a]! > 0)) {
    badInput(node, `mode '${mode}' cannot pad an empty axis`);
  }
  const out = Tensor.zeros(t.dtype, shape);
  const strides = stridesOf(t.shape);
  // Per axis, the source offset (in elements) of each output position, or -1.
  const maps = shape.map((n, a) =>
    Int32Array.from({ length: n }, (_, o) => {
      const src = padSource(mode, o, pads[a]![0], t.shape[a]!);
      return src < 0 ? -1 : src * strides[a]!;
    }),
  );
  const src = t.data as unknown as unknown[];
  const dst = out.data as unknown as unknown[];
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.size; i++) {
    let p = 0;
    for (let a = 0; a < shape.length && p >= 0; a++) {
      const m = maps[a]![idx[a]!]!;
      p = m < 0 ? -1 : p + m;
    }
    dst[i] = p < 0 ? fill : src[p];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

function padFill(t: Tensor, value: Tensor | undefined): unknown {
  if (value && value.size > 0) return value.data[0];
  return Tensor.zeros(t.dtype, []).data[0];
}

function padShape(s: Shape, pads: [number, number][], ctx: InferContext): Dim[] {
  return s.map((d, a) => {
    const [b, e] = pads[a]!;
    if (typeof d === 'number') return d + b + e;
    return b === 0 && e === 0 ? d : ctx.freshDim('pad');
  });
}

const pad: OpDef = {
  op: 'Pad',
  infer(node, [data, padsI, , axesI], ctx) {
    padMode(node);
    const s = data?.shape;
    if (!s) return [{ dtype: data?.dtype }];
    const pads = constInts(padsI);
    const axes = node.inputs[3] ? constInts(axesI) : undefined;
    if (!pads || (node.inputs[3] && !axes)) return sameRankFreshDims(data, ctx, 'pad');
    return [{ dtype: data?.dtype, shape: padShape(s, padsPerAxis(node, s.length, pads, axes), ctx) }];
  },
  run(node, [data, padsT, value, axesT]) {
    const t = data!;
    const pads = padsPerAxis(node, t.rank, ints(padsT!), axesT && ints(axesT));
    return [padTensor(node, t, pads, padMode(node), padFill(t, value))];
  },
};

// ---- CenterCropPad ----

function cropPads(node: Node, inShape: readonly number[], target: readonly number[]): [number, number][] {
  const axes = node.attrInts('axes') ?? inShape.map((_, i) => i);
  if (target.length !== axes.length) badInput(node, `shape has ${target.length} entries for ${axes.length} axes`);
  const pads: [number, number][] = inShape.map(() => [0, 0]);
  uniqueAxes(axes, inShape.length, node).forEach((a, i) => {
    const diff = target[i]! - inShape[a]!;
    // Cropping removes floor(diff/2) at the start; padding adds floor(diff/2) at the start.
    const begin = diff >= 0 ? Math.floor(diff / 2) : -Math.floor(-diff / 2);
    pads[a] = [begin, diff - begin];
  });
  return pads;
}

const centerCropPad: OpDef = {
  op: 'CenterCropPad',
  infer(node, [data, shapeI], ctx) {
    const s = data?.shape;
    const target = constInts(shapeI);
    if (!s || !target) return sameRankFreshDims(data, ctx, 'crop');
    const out: Dim[] = [...s];
    uniqueAxes(node.attrInts('axes') ?? s.map((_, i) => i), s.length, node).forEach((a, i) => (out[a] = target[i]!));
    return [{ dtype: data?.dtype, shape: out }];
  },
  run(node, [data, shapeT]) {
    const t = data!;
    return [padTensor(node, t, cropPads(node, t.shape, ints(shapeT!)), 'constant', padFill(t, undefined))];
  },
};

// ---- DepthToSpace / SpaceToDepth ----

/** The NCHW dims of a block move's input (which must be 4-D) and its blocksize. */
function blockMove<D extends Dim>(node: Node, s: readonly D[]): { dims: [D, D, D, D]; b: number } {
  if (s.length !== 4) badInput(node, `input must be 4-D (NCHW), got rank ${s.length}`);
  const b = node.attrInt('blocksize');
  if (b === undefined || b < 1) badInput(node, 'blocksize must be a positive integer');
  return { dims: s as unknown as [D, D, D, D], b };
}

function depthMode(node: Node): 'DCR' | 'CRD' {
  const mode = node.attrString('mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') badInput(node, `mode must be DCR or CRD, got '${mode}'`);
  return mode;
}

const scaled = (d: Dim, f: number, ctx: InferContext): Dim => (typeof d === 'number' ? d * f : ctx.freshDim('block'));
const divided = (d: Dim, f: number, ctx: InferContext): Dim =>
  typeof d === 'number' && d % f === 0 ? d / f : ctx.freshDim('block');

const depthToSpace: OpDef = {
  op: 'DepthToSpace',
  infer(node, [data], ctx) {
    const s = data?.shape;
    if (!s) return [{ dtype: data?.dtype }];
    const { dims: [n, c, h, w], b } = blockMove(node, s);
    if (typeof c === 'number' && c % (b * b) !== 0) shapeMismatch(node, `channels ${c} are not divisible by blocksize² ${b * b}`);
    return [{ dtype: data?.dtype, shape: [n, divided(c, b * b, ctx), scaled(h, b, ctx), scaled(w, b, ctx)] }];
  },
  run(node, [data]) {
    const t = data!;
    const { dims: [n, c, h, w], b } = blockMove(node, t.shape);
    if (c % (b * b) !== 0) shapeMismatch(node, `channels ${c} are not divisible by blocksize² ${b * b}`);
    const out = Tensor.zeros(t.dtype, [n, c / (b * b), h * b, w * b]);
    if (depthMode(node) === 'DCR') permuteView(t, [n, b, b, c / (b * b), h, w], [0, 3, 4, 1, 5, 2], out);
    else permuteView(t, [n, c / (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3], out);
    return [out];
  },
};

const spaceToDepth: OpDef = {
  op: 'SpaceToDepth',
  infer(node, [data], ctx) {
    const s = data?.shape;
    if (!s) return [{ dtype: data?.dtype }];
    const { dims: [n, c, h, w], b } = blockMove(node, s);
    return [{ dtype: data?.dtype, shape: [n, scaled(c, b * b, ctx), divided(h, b, ctx), divided(w, b, ctx)] }];
  },
  run(node, [data]) {
    const t = data!;
    const { dims: [n, c, h, w], b } = blockMove(node, t.shape);
    if (h % b !== 0 || w % b !== 0) shapeMismatch(node, `spatial dims ${h}x${w} are not divisible by blocksize ${b}`);
    const out = Tensor.zeros(t.dtype, [n, c * b * b, h / b, w / b]);
    permuteView(t, [n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4], out);
    return [out];
  },
};

export const slicingDefs: OpDef[] = [concat, split, slice, pad, centerCropPad, depthToSpace, spaceToDepth].map(folding);
