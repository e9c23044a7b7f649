// Pooling: MaxPool (with indices), AveragePool, LpPool, their global forms, MaxUnpool, and LRN
// (a pool across channels). Windowed pools walk a gather map (conv-geometry.ts): for each
// kernel tap, a pass over all output positions of one channel.

import { error } from '../../diagnostics.js';
import type { Dim, Node } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, stridesOf, Tensor } from '../../tensor.js';
import { nodeLocation } from '../util.js';
import { gatherMap, inferWindowDims, readWindowAttrs, resolveWindow, type Window } from './conv-geometry.js';
import { floatView, tensorFromFloats, workArray, type FloatArray } from './conv-kernels.js';

function inferPool(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  const withIndices = node.outputs.length > 1;
  if (!x?.shape) return withIndices ? [{ dtype: x?.dtype }, { dtype: 'int64' }] : [{ dtype: x?.dtype }];
  if (x.shape.length < 3) throw error('SHAPE_MISMATCH', `pooling needs an input of rank >= 3, got ${x.shape.length}`, nodeLocation(node));
  const attrs = readWindowAttrs(node, x.shape.length - 2);
  const shape = [x.shape[0]!, x.shape[1]!, ...inferWindowDims(attrs, x.shape.slice(2), ctx, node)];
  return withIndices ? [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }] : [{ dtype: x.dtype, shape }];
}

interface PoolSetup {
  win: Window;
  map: Int32Array;
  /** Batch x channels: the number of independent planes. */
  planes: number;
  inSize: number;
  P: number;
  taps: number;
}

function setupPool(node: Node, x: Tensor): PoolSetup {
  if (x.rank < 3) throw error('SHAPE_MISMATCH', `pooling needs an input of rank >= 3, got ${x.rank}`, nodeLocation(node));
  const win = resolveWindow(node, readWindowAttrs(node, x.rank - 2), x.shape.slice(2));
  return {
    win,
    map: gatherMap(win),
    planes: x.shape[0]! * x.shape[1]!,
    inSize: sizeOf(win.inSizes),
    P: sizeOf(win.outSizes),
    taps: sizeOf(win.kernel),
  };
}

function runMaxPool(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { win, map, planes, inSize, P, taps } = setupPool(node, x);
  const xd = floatView(x);
  const out = workArray(x.dtype, planes * P).fill(-Infinity);
  const arg = new Int32Array(planes * P).fill(-1);
  for (let c = 0; c < planes; c++) {
    const base = c * inSize;
    const o = c * P;
    for (let k = 0; k < taps; k++) {
      const kOff = k * P;
      for (let p = 0; p < P; p++) {
        const m = map[kOff + p]!;
        if (m < 0) continue;
        const v = xd[base + m]!;
        if (v > out[o + p]! || arg[o + p]! < 0) {
          out[o + p] = v;
          arg[o + p] = m;
        }
      }
    }
  }
  const shape = [x.shape[0]!, x.shape[1]!, ...win.outSizes];
  const y = tensorFromFloats(x.dtype, shape, out);
  if (node.outputs.length < 2) return [y];
  return [y, maxPoolIndices(node, arg, win.inSizes, P, shape)];
}

/** Flat indices into X of each max, row-major or (storage_order 1) column-major per plane. */
function maxPoolIndices(node: Node, arg: Int32Array, inSizes: readonly number[], P: number, shape: number[]): Tensor {
  const columnMajor = node.attrInt('storage_order', 0) === 1;
  const inSize = sizeOf(inSizes);
  const rowStrides = stridesOf(inSizes);
  const colStrides = stridesOf([...inSizes].reverse()).reverse();
  const data = new BigInt64Array(arg.length);
  for (let i = 0; i < arg.length; i++) {
    let m = arg[i]!;
    if (columnMajor) {
      let cm = 0;
      for (let d = 0; d < inSizes.length; d++) {
        const coord = Math.floor(m / rowStrides[d]!);
        m -= coord * rowStrides[d]!;
        cm += coord * colStrides[d]!;
      }
      m = cm;
    }
    data[i] = BigInt(Math.floor(i / P) * inSize + m);
  }
  return new Tensor('int64', shape, data);
}

function runAveragePool(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const pool = setupPool(node, x);
  const counts = node.attrInt('count_include_pad', 0) ? paddedTapCounts(pool.win) : validTapCounts(pool.map, pool.P);
  const out = windowSums(x, pool);
  for (let i = 0; i < out.length; i++) out[i] /= counts[i % pool.P]!;
  return [tensorFromFloats(x.dtype, [x.shape[0]!, x.shape[1]!, ...pool.win.outSizes], out)];
}

/**
 * For each output position of each plane, the sum over the window's taps inside the input of
 * x, or of |x|^lpOrder when lpOrder is given (LpPool).
 */
function windowSums(x: Tensor, { map, planes, inSize, P, taps }: PoolSetup, lpOrder?: number): FloatArray {
  const xd = floatView(x);
  const out = workArray(x.dtype, planes * P);
  for (let c = 0; c < planes; c++) {
    const base = c * inSize;
    const o = c * P;
    for (let k = 0; k < taps; k++) {
      const kOff = k * P;
      for (let p = 0; p < P; p++) {
        const m = map[kOff + p]!;
        if (m < 0) continue;
        const v = xd[base + m]!;
        out[o + p] += lpOrder === undefined ? v : Math.abs(v) ** lpOrder;
      }
    }
  }
  return out;
}

function validTapCounts(map: Int32Array, P: number): Int32Array {
  const counts = new Int32Array(P);
  for (let i = 0; i < map.length; i++) if (map[i]! >= 0) counts[i % P]++;
  return counts;
}

/** Taps inside the padded input (count_include_pad): windows clipped to the padding's end. */
function paddedTapCounts(win: Window): Int32Array {
  const perDim = win.kernel.map((k, d) => {
    const out = win.outSizes[d]!;
    const counts = new Int32Array(out);
    for (let o = 0; o < out; o++) {
      for (let kk = 0; kk < k; kk++) {
        const c = o * win.strides[d]! - win.padsBegin[d]! + kk * win.dilations[d]!;
        if (c >= -win.padsBegin[d]! && c < win.inSizes[d]! + win.padsEnd[d]!) counts[o]++;
      }
    }
    return counts;
  });
  const P = sizeOf(win.outSizes);
  const counts = new Int32Array(P).fill(1);
  const strides = stridesOf(win.outSizes);
  for (let p = 0; p < P; p++) {
    let rest = p;
    for (let d = 0; d < perDim.length; d++) {
      const o = Math.floor(rest / strides[d]!);
      rest -= o * strides[d]!;
      counts[p] *= perDim[d]![o]!;
    }
  }
  return counts;
}

function runLpPool(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const pNorm = node.attrInt('p', 2);
  const pool = setupPool(node, x);
  const out = windowSums(x, pool, pNorm);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ** (1 / pNorm);
  return [tensorFromFloats(x.dtype, [x.shape[0]!, x.shape[1]!, ...pool.win.outSizes], out)];
}

// ---- global pools ----

function inferGlobalPool(node: Node, inputs: readonly (TypeInfo | undefined)[]): TypeInfo[] {
  const x = inputs[0];
  if (!x?.shape) return [{ dtype: x?.dtype }];
  if (x.shape.length < 3) throw error('SHAPE_MISMATCH', `global pooling needs an input of rank >= 3, got ${x.shape.length}`, nodeLocation(node));
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
}

function globalPool(reduce: (plane: Float32Array | Float64Array) => number) {
  return (_node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] => {
    const x = inputs[0]!;
    const planes = x.shape[0]! * x.shape[1]!;
    const inSize = sizeOf(x.shape.slice(2));
    const xd = floatView(x);
    const out = workArray(x.dtype, planes);
    for (let c = 0; c < planes; c++) out[c] = reduce(xd.subarray(c * inSize, (c + 1) * inSize));
    return [tensorFromFloats(x.dtype, [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)], out)];
  };
}

const mean = (a: Float32Array | Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};
const max = (a: Float32Array | Float64Array): number => {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
};

function runGlobalLpPool(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const p = node.attrInt('p', 2);
  return globalPool((a) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!) ** p;
    return s ** (1 / p);
  })(node, inputs);
}

// ---- MaxUnpool ----

function unpoolSizes(node: Node, inSizes: readonly number[]): number[] {
  const a = readWindowAttrs(node, inSizes.length);
  const n = inSizes.length;
  return inSizes.map((d, i) => (d - 1) * a.strides[i]! + a.kernel[i]! - a.pads[i]! - a.pads[i + n]!);
}

function inferMaxUnpool(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  if (!x?.shape) return [{ dtype: x?.dtype }];
  const given = inputs[2];
  if (given?.value) return [{ dtype: x.dtype, shape: given.value.toNumbers() }];
  const spatial = x.shape.slice(2);
  const static_ = spatial.every((d) => typeof d === 'number');
  const dims: Dim[] = !given && static_ ? unpoolSizes(node, spatial as number[]) : spatial.map(() => ctx.freshDim());
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...dims] }];
}

/**
 * Indices address the pooled input's natural unpooled shape (as MaxPool wrote them); with a
 * larger output_shape each index keeps its coordinates, so it is re-linearized.
 */
function runMaxUnpool(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const indices = inputs[1]!;
  const natural = unpoolSizes(node, x.shape.slice(2));
  const shape = inputs[2] ? inputs[2].toNumbers() : [x.shape[0]!, x.shape[1]!, ...natural];
  if (shape.length !== x.rank) throw error('SHAPE_MISMATCH', `output_shape [${shape.join(',')}] has the wrong rank`, nodeLocation(node));
  const y = Tensor.zeros(x.dtype, shape);
  const naturalSize = sizeOf(natural);
  const planes = x.shape[0]! * x.shape[1]!;
  const outSpatial = shape.slice(2);
  const outSize = sizeOf(outSpatial);
  const fromStrides = stridesOf(natural);
  const toStrides = stridesOf(outSpatial);
  const src = x.data as unknown as ArrayLike<number>;
  const dst = y.data as unknown as { [i: number]: number };
  for (let i = 0; i < x.size; i++) {
    const at = indices.get(i);
    const plane = Math.floor(at / naturalSize);
    let rest = at - plane * naturalSize;
    let to = plane * outSize;
    for (let d = 0; d < natural.length; d++) {
      const coord = Math.floor(rest / fromStrides[d]!);
      rest -= coord * fromStrides[d]!;
      if (coord >= outSpatial[d]!) to = -1;
      if (to >= 0) to += coord * toStrides[d]!;
    }
    if (at < 0 || plane >= planes || to < 0) {
      throw error('BAD_INPUT', `MaxUnpool index ${at} is outside the output [${shape.join(',')}]`, nodeLocation(node));
    }
    dst[to] = src[i]!;
  }
  return [y];
}

// ---- MaxRoiPool ----

function inferMaxRoiPool(node: Node, inputs: readonly (TypeInfo | undefined)[]): TypeInfo[] {
  const x = inputs[0];
  const rois = inputs[1];
  const pooled = node.attrInts('pooled_shape');
  if (!pooled || pooled.length !== 2) throw error('BAD_ATTRIBUTE', 'MaxRoiPool needs pooled_shape [h, w]', nodeLocation(node));
  if (!x?.shape || !rois?.shape) return [{ dtype: x?.dtype }];
  return [{ dtype: x.dtype, shape: [rois.shape[0]!, x.shape[1]!, pooled[0]!, pooled[1]!] }];
}

/** Caffe's RoI pooling: each roi (batch, x1, y1, x2, y2) splits into bins of rounded pixels. */
function runMaxRoiPool(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const rois = floatView(inputs[1]!);
  const [PH, PW] = node.attrInts('pooled_shape') as [number, number];
  const scale = node.attrFloat('spatial_scale', 1);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const R = inputs[1]!.shape[0]!;
  const xd = floatView(x);
  const out = workArray(x.dtype, R * C * PH * PW);
  for (let r = 0; r < R; r++) {
    const b = rois[r * 5]!;
    if (b < 0 || b >= N) throw error('BAD_INPUT', `MaxRoiPool batch index ${b} is out of range`, nodeLocation(node));
    const [x1, y1, x2, y2] = [1, 2, 3, 4].map((k) => Math.round(rois[r * 5 + k]! * scale)) as [number, number, number, number];
    const binH = Math.max(y2 - y1 + 1, 1) / PH;
    const binW = Math.max(x2 - x1 + 1, 1) / PW;
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * H * W;
      for (let ph = 0; ph < PH; ph++) {
        const h0 = Math.min(Math.max(Math.floor(ph * binH) + y1, 0), H);
        const h1 = Math.min(Math.max(Math.ceil((ph + 1) * binH) + y1, 0), H);
        for (let pw = 0; pw < PW; pw++) {
          const w0 = Math.min(Math.max(Math.floor(pw * binW) + x1, 0), W);
          const w1 = Math.min(Math.max(Math.ceil((pw + 1) * binW) + x1, 0), W);
          let m = h1 > h0 && w1 > w0 ? -Infinity : 0;
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) m = Math.max(m, xd[base + h * W + w]!);
          out[((r * C + c) * PH + ph) * PW + pw] = m;
        }
      }
    }
  }
  return [tensorFromFloats(x.dtype, [R, C, PH, PW], out)];
}

// ---- LRN ----

function runLRN(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const size = node.attrInt('size');
  if (size === undefined || size < 1) throw error('BAD_ATTRIBUTE', 'LRN needs a positive size', nodeLocation(node));
  const alpha = node.attrFloat('alpha', 1e-4);
  const beta = node.attrFloat('beta', 0.75);
  const bias = node.attrFloat('bias', 1);
  const [N, C] = x.shape as [number, number];
  const inner = sizeOf(x.shape.slice(2));
  const below = Math.floor((size - 1) / 2);
  const above = Math.ceil((size - 1) / 2);
  const xd = floatView(x);
  const out = workArray(x.dtype, x.size);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * inner;
      const lo = Math.max(0, c - below);
      const hi = Math.min(C - 1, c + above);
      for (let i = 0; i < inner; i++) {
        let sq = 0;
        for (let cc = lo; cc <= hi; cc++) {
          const v = xd[(n * C + cc) * inner + i]!;
          sq += v * v;
        }
        out[o + i] = xd[o + i]! / (bias + (alpha / size) * sq) ** beta;
      }
    }
  }
  return [tensorFromFloats(x.dtype, x.shape, out)];
}

const sameType = (_node: Node, inputs: readonly (TypeInfo | undefined)[]): TypeInfo[] => [
  { dtype: inputs[0]?.dtype, shape: inputs[0]?.shape },
];

export const poolDefs: OpDef[] = [
  { op: Op.MaxPool, infer: inferPool, run: runMaxPool },
  { op: Op.AveragePool, infer: inferPool, run: runAveragePool },
  { op: Op.LpPool, infer: inferPool, run: runLpPool },
  { op: Op.GlobalAveragePool, infer: inferGlobalPool, run: globalPool(mean) },
  { op: Op.GlobalMaxPool, infer: inferGlobalPool, run: globalPool(max) },
  { op: Op.GlobalLpPool, infer: inferGlobalPool, run: runGlobalLpPool },
  { op: Op.MaxUnpool, infer: inferMaxUnpool, run: runMaxUnpool },
  { op: Op.MaxRoiPool, infer: inferMaxRoiPool, run: runMaxRoiPool },
  { op: Op.LRN, infer: sameType, run: runLRN },
];
