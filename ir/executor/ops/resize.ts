// Resize (opset 18/19 semantics): nearest, linear and cubic in any number of dims, every
// coordinate transformation mode, antialiasing, axes, keep_aspect_ratio_policy, scales or sizes.
//
// All modes are separable, so the op is a sequence of 1-D passes, innermost axis first. Each
// pass maps every output index to a few (input index, weight) taps, or to the extrapolation
// value (tf_crop_and_resize outside the input). Running the innermost axis first reproduces
// the ONNX reference exactly, including how extrapolated values blend along outer axes.

import { error } from '../../diagnostics.js';
import { isFloatType } from '../../dtype.js';
import type { Dim, Node } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { nodeLocation } from '../util.js';

type Mode = 'nearest' | 'linear' | 'cubic';

interface ResizeAttrs {
  mode: Mode;
  coordMode: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  keepAspect: string;
}

const MODES: readonly string[] = ['nearest', 'linear', 'cubic'];
const COORD_MODES: readonly string[] = [
  'half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric',
  'tf_crop_and_resize', 'tf_half_pixel_for_nn',
];
const NEAREST_MODES: readonly string[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const ASPECT_POLICIES: readonly string[] = ['stretch', 'not_larger', 'not_smaller'];

function readAttrs(node: Node): ResizeAttrs {
  const a: ResizeAttrs = {
    mode: node.attrString('mode', 'nearest') as Mode,
    coordMode: node.attrString('coordinate_transformation_mode', 'half_pixel'),
    nearestMode: node.attrString('nearest_mode', 'round_prefer_floor'),
    cubicA: node.attrFloat('cubic_coeff_a', -0.75),
    excludeOutside: node.attrInt('exclude_outside', 0) !== 0,
    extrapolation: node.attrFloat('extrapolation_value', 0),
    antialias: node.attrInt('antialias', 0) !== 0,
    keepAspect: node.attrString('keep_aspect_ratio_policy', 'stretch'),
  };
  const check = (value: string, allowed: readonly string[], name: string): void => {
    if (!allowed.includes(value)) {
      throw error('BAD_ATTRIBUTE', `unknown ${name} '${value}' (expected one of ${allowed.join(', ')})`, nodeLocation(node));
    }
  };
  check(a.mode, MODES, 'mode');
  check(a.coordMode, COORD_MODES, 'coordinate_transformation_mode');
  check(a.nearestMode, NEAREST_MODES, 'nearest_mode');
  check(a.keepAspect, ASPECT_POLICIES, 'keep_aspect_ratio_policy');
  return a;
}

function readAxes(node: Node, rank: number): number[] {
  const axes = node.attrInts('axes');
  if (!axes) return Array.from({ length: rank }, (_, i) => i);
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  if (norm.some((a) => a < 0 || a >= rank) || new Set(norm).size !== norm.length) {
    throw error('BAD_ATTRIBUTE', `axes [${axes.join(',')}] are invalid for rank ${rank}`, nodeLocation(node));
  }
  return norm;
}

/** A scales/sizes input counts as given only when it has elements (older exporters pass []). */
const given = (t: Tensor | undefined): t is Tensor => t !== undefined && t.size > 0;

/** Per-axis output sizes and scales (full rank) from either scales or sizes. */
function outputGeometry(
  node: Node, a: ResizeAttrs, inShape: readonly number[], axes: readonly number[],
  scalesT: Tensor | undefined, sizesT: Tensor | undefined,
): { outShape: number[]; scales: number[] } {
  const rank = inShape.length;
  const outShape = [...inShape];
  const scales = new Array<number>(rank).fill(1);
  if (given(scalesT) === given(sizesT)) {
    throw error('BAD_INPUT', 'Resize needs exactly one of scales and sizes', nodeLocation(node));
  }
  const values = (given(scalesT) ? scalesT : sizesT!).toNumbers();
  if (values.length !== axes.length) {
    throw error('SHAPE_MISMATCH', `Resize got ${values.length} scales/sizes for ${axes.length} axes`, nodeLocation(node));
  }
  if (given(scalesT)) {
    axes.forEach((ax, i) => {
      scales[ax] = values[i]!;
      outShape[ax] = Math.floor(inShape[ax]! * values[i]!);
    });
  } else if (a.keepAspect === 'stretch') {
    axes.forEach((ax, i) => {
      outShape[ax] = values[i]!;
      scales[ax] = values[i]! / inShape[ax]!;
    });
  } else {
    const ratios = axes.map((ax, i) => values[i]! / inShape[ax]!);
    const s = a.keepAspect === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
    for (const ax of axes) {
      scales[ax] = s;
      outShape[ax] = Math.floor(s * inShape[ax]! + 0.5);
    }
  }
  if (scales.some((s) => !(s > 0))) throw error('BAD_INPUT', 'Resize scales must be positive', nodeLocation(node));
  return { outShape, scales };
}

function inferResize(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  const a = readAttrs(node);
  if (!x?.shape) return [{ dtype: x?.dtype }];
  const rank = x.shape.length;
  const axes = readAxes(node, rank);
  const scalesT = inputs[2]?.value;
  const sizesT = inputs[3]?.value;
  if (!given(scalesT) && !given(sizesT)) {
    // Scales or sizes are only known at run time: the resized axes get fresh dims.
    const resized = new Set(axes);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (resized.has(i) ? ctx.freshDim() : d)) }];
  }
  const staticIn = x.shape.every((d) => typeof d === 'number');
  if (staticIn) {
    return [{ dtype: x.dtype, shape: outputGeometry(node, a, x.shape as number[], axes, scalesT, sizesT).outShape }];
  }
  const values = (given(scalesT) ? scalesT : sizesT!).toNumbers();
  const inShape = x.shape;
  const shape: Dim[] = [...inShape];
  axes.forEach((ax, i) => {
    const d = inShape[ax]!;
    const v = values[i]!;
    if (given(scalesT)) shape[ax] = typeof d === 'number' ? Math.floor(d * v) : v === 1 ? d : ctx.freshDim();
    else if (a.keepAspect === 'stretch') shape[ax] = v;
    else shape[ax] = ctx.freshDim();
  });
  return [{ dtype: x.dtype, shape }];
}

// ---- 1-D taps ----

/** The taps of one axis: `width` (index, weight) pairs per output index, or extrapolation. */
interface AxisTaps {
  width: number;
  index: Int32Array;
  weight: Float64Array;
  /** 1 where the output takes the extrapolation value. */
  outside: Uint8Array;
}

function cubicKernel(s: number, A: number): number {
  const x = Math.abs(s);
  if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

/** Input coordinate of output index `x` along one axis. */
function sourceCoordinate(
  a: ResizeAttrs, x: number, scale: number, inLen: number, outLen: number, roiStart: number, roiEnd: number,
): number {
  // The ONNX reference uses the unrounded output length where it matters.
  const resizedLen = scale * inLen;
  switch (a.coordMode) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adjustment = outLen / resizedLen;
      const offset = (inLen / 2) * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel':
      return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return resizedLen === 1 ? 0 : (x * (inLen - 1)) / (resizedLen - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    default: // tf_crop_and_resize
      return resizedLen === 1
        ? ((roiEnd - roiStart) * (inLen - 1)) / 2 + roiStart * (inLen - 1)
        : roiStart * (inLen - 1) + (x * (roiEnd - roiStart) * (inLen - 1)) / (resizedLen - 1);
  }
}

function nearestIndex(mode: string, x: number): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    default:
      return Math.ceil(x);
  }
}

function axisTaps(a: ResizeAttrs, scale: number, inLen: number, outLen: number, roiStart: number, roiEnd: number): AxisTaps {
  // Antialiasing stretches the filter by 1/scale when downsampling.
  const s = a.antialias && a.mode !== 'nearest' ? Math.min(scale, 1) : 1;
  const first = a.mode === 'nearest' ? 0 : a.mode === 'linear' ? Math.floor(-1 / s) + 1 : Math.floor(-2 / s) + 1;
  const width = a.mode === 'nearest' ? 1 : 2 - 2 * first;
  const taps: AxisTaps = {
    width,
    index: new Int32Array(outLen * width),
    weight: new Float64Array(outLen * width),
    outside: new Uint8Array(outLen),
  };
  const last = inLen - 1;
  for (let j = 0; j < outLen; j++) {
    const x = sourceCoordinate(a, j, scale, inLen, outLen, roiStart, roiEnd);
    if (a.coordMode === 'tf_crop_and_resize' && (x < 0 || x > last)) {
      taps.outside[j] = 1;
      continue;
    }
    const at = j * width;
    if (a.mode === 'nearest') {
      taps.index[at] = Math.min(Math.max(nearestIndex(a.nearestMode, x), 0), last);
      taps.weight[at] = 1;
      continue;
    }
    const x0 = Math.floor(x);
    const t = x - x0;
    let sum = 0;
    for (let i = 0; i < width; i++) {
      const idx = x0 + first + i;
      const arg = (first + i - t) * s;
      let w = a.mode === 'linear' ? Math.max(0, 1 - Math.abs(arg)) : cubicKernel(arg, a.cubicA);
      if (a.excludeOutside && (idx < 0 || idx > last)) w = 0;
      taps.index[at + i] = Math.min(Math.max(idx, 0), last);
      taps.weight[at + i] = w;
      sum += w;
    }
    // Antialiased and exclude_outside filters are renormalized to sum to one.
    if ((s !== 1 || a.excludeOutside) && sum !== 0) for (let i = 0; i < width; i++) taps.weight[at + i] /= sum;
  }
  return taps;
}

function isIdentity(t: AxisTaps, inLen: number, outLen: number): boolean {
  if (inLen !== outLen) return false;
  for (let j = 0; j < outLen; j++) {
    if (t.outside[j]) return false;
    for (let i = 0; i < t.width; i++) {
      const w = t.weight[j * t.width + i]!;
      const idx = t.index[j * t.width + i]!;
      if (w !== 0 && (w !== 1 || idx !== j)) return false;
    }
  }
  return true;
}

/** One 1-D pass along `axis` of a row-major array of `shape`. */
function resizeAxis(src: Float64Array, shape: readonly number[], axis: number, outLen: number, taps: AxisTaps, fill: number): Float64Array {
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const inLen = shape[axis]!;
  const dst = new Float64Array(outer * outLen * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const d = (o * outLen + j) * inner;
      if (taps.outside[j]) {
        dst.fill(fill, d, d + inner);
        continue;
      }
      for (let i = 0; i < taps.width; i++) {
        const w = taps.weight[j * taps.width + i]!;
        if (w === 0) continue;
        const s = (o * inLen + taps.index[j * taps.width + i]!) * inner;
        for (let k = 0; k < inner; k++) dst[d + k] += w * src[s + k]!;
      }
    }
  }
  return dst;
}

function runResize(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const a = readAttrs(node);
  const rank = x.rank;
  const axes = readAxes(node, rank);
  const { outShape, scales } = outputGeometry(node, a, x.shape, axes, inputs[2], inputs[3]);
  const roiStart = new Array<number>(rank).fill(0);
  const roiEnd = new Array<number>(rank).fill(1);
  if (a.coordMode === 'tf_crop_and_resize') {
    const roi = inputs[1]?.toNumbers() ?? [];
    if (roi.length !== 2 * axes.length) {
      throw error('BAD_INPUT', `tf_crop_and_resize needs roi of length ${2 * axes.length}, got ${roi.length}`, nodeLocation(node));
    }
    axes.forEach((ax, i) => {
      roiStart[ax] = roi[i]!;
      roiEnd[ax] = roi[i + axes.length]!;
    });
  }
  // Float data converts in bulk; integers go through get() so int32/int64 values stay exact.
  let data: Float64Array = isFloatType(x.dtype)
    ? Float64Array.from(x.dtype === 'float64' ? (x.data as Float64Array) : x.toFloat32())
    : Float64Array.from({ length: x.size }, (_, i) => x.get(i));
  const shape = [...x.shape];
  for (let ax = rank - 1; ax >= 0; ax--) {
    const taps = axisTaps(a, scales[ax]!, shape[ax]!, outShape[ax]!, roiStart[ax]!, roiEnd[ax]!);
    if (isIdentity(taps, shape[ax]!, outShape[ax]!)) continue;
    data = resizeAxis(data, shape, ax, outShape[ax]!, taps, a.extrapolation);
    shape[ax] = outShape[ax]!;
  }
  const y = Tensor.zeros(x.dtype, outShape);
  if (y.dtype === 'float64') (y.data as Float64Array).set(data);
  else if (y.dtype === 'float32') (y.data as Float32Array).set(data);
  else for (let i = 0; i < data.length; i++) y.set(i, data[i]!);
  return [y];
}

export const resizeDefs: OpDef[] = [{ op: Op.Resize, infer: inferResize, run: runResize }];
