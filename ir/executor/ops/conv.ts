// Convolutions: Conv and ConvTranspose (N-D, groups, dilations, auto_pad), and Col2Im.
// Conv lowers to im2col + a blocked matrix product per (batch, group), with a direct path for
// depthwise convolutions and no im2col at all for pointwise ones. ConvTranspose is the
// adjoint: a transposed product into columns, then col2im.

import { error } from '../../diagnostics.js';
import type { Dim, Node } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { nodeLocation } from '../util.js';
import {
  dilatedKernel,
  gatherMap,
  inferWindowDims,
  readWindowAttrs,
  resolveWindow,
  type Window,
  type WindowAttrs,
} from './conv-geometry.js';
import { col2im, floatView, gemmAccumulate, im2col, tensorFromFloats, workArray, type FloatArray } from './conv-kernels.js';

const numbers = (dims: readonly Dim[] | undefined): number[] | undefined =>
  dims && dims.every((d) => typeof d === 'number') ? (dims as number[]) : undefined;

function checkChannels(node: Node, channels: Dim | undefined, perGroup: Dim | undefined, group: number): void {
  if (typeof channels === 'number' && typeof perGroup === 'number' && channels !== perGroup * group) {
    throw error(
      'SHAPE_MISMATCH',
      `input has ${channels} channels but the weights expect ${perGroup} per group x ${group} groups`,
      nodeLocation(node),
    );
  }
}

// ---- Conv ----

export function inferConv(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  const w = inputs[1];
  const dtype = x?.dtype ?? w?.dtype;
  if (!x?.shape) return [{ dtype }];
  const group = node.attrInt('group', 1);
  checkChannels(node, x.shape[1], w?.shape?.[1], group);
  const nsp = x.shape.length - 2;
  const kernel = numbers(w?.shape?.slice(2));
  const outChannels: Dim = w?.shape?.[0] ?? ctx.freshDim('channels');
  if (!node.attrInts('kernel_shape') && !kernel) {
    return [{ dtype, shape: [x.shape[0]!, outChannels, ...x.shape.slice(2).map(() => ctx.freshDim())] }];
  }
  const attrs = readWindowAttrs(node, nsp, kernel);
  return [{ dtype, shape: [x.shape[0]!, outChannels, ...inferWindowDims(attrs, x.shape.slice(2), ctx, node)] }];
}

function runConv(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const w = inputs[1]!;
  const bias = inputs[2];
  const y = convolve(node, floatView(x), x.shape, floatView(w), w.shape, bias && floatView(bias), (n) => workArray(x.dtype, n));
  return [tensorFromFloats(x.dtype, y.shape, y.data)];
}

/**
 * The Conv computation over float arrays (shared with ConvInteger and QLinearConv, which
 * compute on zero-point-shifted integers held exactly in float64). `alloc` makes the output.
 */
export function convolve(
  node: Node, xd: FloatArray, xShape: readonly number[], wd: FloatArray, wShape: readonly number[],
  bd: FloatArray | undefined, alloc: (n: number) => FloatArray,
): { data: FloatArray; shape: number[] } {
  const group = node.attrInt('group', 1);
  const [N, C] = xShape as [number, number];
  const [M, cg] = wShape as [number, number];
  checkChannels(node, C, cg, group);
  if (M % group !== 0) throw error('SHAPE_MISMATCH', `${M} output channels do not split into ${group} groups`, nodeLocation(node));
  const win = resolveWindow(node, readWindowAttrs(node, xShape.length - 2, wShape.slice(2)), xShape.slice(2));
  const mg = M / group;
  const inSize = sizeOf(win.inSizes);
  const P = sizeOf(win.outSizes);
  const taps = sizeOf(win.kernel);
  const K = cg * taps;
  const out = alloc(N * M * P);
  if (bd) {
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) out.fill(bd[m]!, (n * M + m) * P, (n * M + m + 1) * P);
  }
  const pointwise = taps === 1 && win.strides.every((s) => s === 1) && [...win.padsBegin, ...win.padsEnd].every((p) => p === 0);
  const direct2d = !pointwise && cg === 1 && win.kernel.length === 2;
  const map = pointwise || direct2d ? undefined : gatherMap(win);
  const col = map && cg > 1 ? alloc(K * P) : undefined;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const xOff = (n * C + g * cg) * inSize;
      const outOff = (n * M + g * mg) * P;
      if (direct2d) for (let m = 0; m < mg; m++) depthwise2d(xd, xOff, wd, (g * mg + m) * taps, win, out, outOff + m * P);
      else if (!map) gemmAccumulate(mg, K, P, wd, g * mg * K, K, 1, xd, xOff, out, outOff);
      else if (!col) depthwise(xd, xOff, wd, g * mg * taps, mg, taps, P, map, out, outOff);
      else {
        im2col(xd, xOff, cg, inSize, map, col);
        gemmAccumulate(mg, K, P, wd, g * mg * K, K, 1, col, 0, out, outOff);
      }
    }
  }
  return { data: out, shape: [N, M, ...win.outSizes] };
}

/**
 * One 2-D input channel into one output channel: for each tap, the output rows and columns
 * whose input lies inside the image are computed once, so the inner loop has no checks.
 */
function depthwise2d(x: FloatArray, xOff: number, w: FloatArray, wOff: number, win: Window, out: FloatArray, outOff: number): void {
  const [H, W] = win.inSizes as [number, number];
  const [OH, OW] = win.outSizes as [number, number];
  const [KH, KW] = win.kernel as [number, number];
  const [sh, sw] = win.strides as [number, number];
  const [dh, dw] = win.dilations as [number, number];
  const [ph, pw] = win.padsBegin as [number, number];
  // First output index o with o * s - p + k * d >= 0, and the end with it < size.
  const lo = (p: number, kd: number, s: number) => Math.max(0, Math.ceil((p - kd) / s));
  const hi = (p: number, kd: number, s: number, size: number, outSize: number) => Math.min(outSize, Math.floor((size - 1 + p - kd) / s) + 1);
  for (let kh = 0; kh < KH; kh++) {
    const oh0 = lo(ph, kh * dh, sh);
    const oh1 = hi(ph, kh * dh, sh, H, OH);
    for (let kw = 0; kw < KW; kw++) {
      const wk = w[wOff + kh * KW + kw]!;
      const ow0 = lo(pw, kw * dw, sw);
      const ow1 = hi(pw, kw * dw, sw, W, OW);
      for (let oh = oh0; oh < oh1; oh++) {
        const inRow = xOff + (oh * sh - ph + kh * dh) * W - pw + kw * dw;
        const outRow = outOff + oh * OW;
        for (let ow = ow0; ow < ow1; ow++) out[outRow + ow] += wk * x[inRow + ow * sw]!;
      }
    }
  }
}

/** One input channel per group: accumulate each tap straight from the input. */
function depthwise(
  x: FloatArray, xOff: number, w: FloatArray, wOff: number, mg: number, taps: number, P: number,
  map: Int32Array, out: FloatArray, outOff: number,
): void {
  for (let m = 0; m < mg; m++) {
    const o = outOff + m * P;
    for (let k = 0; k < taps; k++) {
      const wk = w[wOff + m * taps + k]!;
      const kOff = k * P;
      for (let p = 0; p < P; p++) {
        const idx = map[kOff + p]!;
        if (idx >= 0) out[o + p] += wk * x[xOff + idx]!;
      }
    }
  }
}

// ---- ConvTranspose ----

/** Output sizes and begin pads of a ConvTranspose, following the opset-21 equations. */
function transposeGeometry(node: Node, a: WindowAttrs, inSizes: readonly number[]): { outSizes: number[]; padsBegin: number[] } {
  const nsp = inSizes.length;
  const outputPadding = node.attrInts('output_padding') ?? new Array<number>(nsp).fill(0);
  let outputShape = node.attrInts('output_shape');
  // Some exporters write the full output shape (with batch and channels).
  if (outputShape && outputShape.length === nsp + 2) outputShape = outputShape.slice(2);
  if (outputPadding.length !== nsp || (outputShape && outputShape.length !== nsp)) {
    throw error('BAD_ATTRIBUTE', 'output_padding/output_shape do not match the spatial rank', nodeLocation(node));
  }
  const outSizes: number[] = [];
  const padsBegin: number[] = [];
  inSizes.forEach((n, i) => {
    const s = a.strides[i]!;
    const natural = s * (n - 1) + outputPadding[i]! + dilatedKernel(a.kernel[i]!, a.dilations[i]!);
    const same = a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER';
    if (outputShape || same) {
      // A negative total (stride wider than the kernel) extends the output, as the ONNX
      // reference does; onnxruntime instead clamps it to 0 and returns the natural size.
      const out = outputShape ? outputShape[i]! : n * s;
      const total = natural - out;
      const half = Math.floor(total / 2);
      outSizes.push(out);
      padsBegin.push(a.autoPad === 'SAME_UPPER' ? half : total - half);
    } else if (a.autoPad === 'VALID') {
      outSizes.push(natural);
      padsBegin.push(0);
    } else {
      outSizes.push(natural - a.pads[i]! - a.pads[i + nsp]!);
      padsBegin.push(a.pads[i]!);
    }
  });
  return { outSizes, padsBegin };
}

function inferConvTranspose(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  const w = inputs[1];
  const dtype = x?.dtype ?? w?.dtype;
  if (!x?.shape) return [{ dtype }];
  const group = node.attrInt('group', 1);
  checkChannels(node, x.shape[1], w?.shape?.[0], 1);
  const perGroup = w?.shape?.[1];
  const outChannels: Dim = typeof perGroup === 'number' ? perGroup * group : ctx.freshDim('channels');
  const spatial = x.shape.slice(2);
  const kernel = numbers(w?.shape?.slice(2)) ?? node.attrInts('kernel_shape');
  const inSizes = numbers(spatial);
  if (!kernel || !inSizes) {
    const outputShape = node.attrInts('output_shape')?.slice(-spatial.length);
    return [{ dtype, shape: [x.shape[0]!, outChannels, ...spatial.map((_, i) => outputShape?.[i] ?? ctx.freshDim())] }];
  }
  const { outSizes } = transposeGeometry(node, readWindowAttrs(node, spatial.length, kernel), inSizes);
  return [{ dtype, shape: [x.shape[0]!, outChannels, ...outSizes] }];
}

function runConvTranspose(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const w = inputs[1]!;
  const bias = inputs[2];
  const group = node.attrInt('group', 1);
  const [N, C] = x.shape as [number, number];
  checkChannels(node, C, w.shape[0], 1);
  if (C % group !== 0) throw error('SHAPE_MISMATCH', `${C} input channels do not split into ${group} groups`, nodeLocation(node));
  const cg = C / group;
  const mg = w.shape[1]!;
  const M = mg * group;
  const inSizes = x.shape.slice(2);
  const attrs = readWindowAttrs(node, inSizes.length, w.shape.slice(2));
  const { outSizes, padsBegin } = transposeGeometry(node, attrs, inSizes);
  // The output plays the role of a forward convolution's input.
  const win: Window = { ...attrs, padsBegin, padsEnd: padsBegin, inSizes: outSizes, outSizes: [...inSizes] };
  const map = gatherMap(win);
  const Pin = sizeOf(inSizes);
  const outSize = sizeOf(outSizes);
  const R = mg * sizeOf(attrs.kernel);
  const xd = floatView(x);
  const wd = floatView(w);
  const y = workArray(x.dtype, N * M * outSize);
  const col = workArray(x.dtype, R * Pin);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      col.fill(0);
      // col[r, p] = sum_c W[g*cg + c, r] * X[n, g*cg + c, p]
      gemmAccumulate(R, cg, Pin, wd, g * cg * R, 1, R, xd, (n * C + g * cg) * Pin, col, 0);
      col2im(col, mg, map, y, (n * M + g * mg) * outSize, outSize);
    }
  }
  if (bias) {
    const bd = floatView(bias);
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const o = (n * M + m) * outSize;
        for (let i = 0; i < outSize; i++) y[o + i] += bd[m]!;
      }
    }
  }
  return [tensorFromFloats(x.dtype, [N, M, ...outSizes], y)];
}

// ---- Col2Im ----

function col2imWindow(node: Node, image: number[], block: number[]): { attrs: WindowAttrs; win: Window } {
  if (image.length !== block.length) {
    throw error('SHAPE_MISMATCH', 'image_shape and block_shape must have the same length', nodeLocation(node));
  }
  const attrs = readWindowAttrs(node, block.length, block);
  return { attrs, win: resolveWindow(node, attrs, image) };
}

function inferCol2Im(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  const image = inputs[1]?.value?.toNumbers();
  const block = inputs[2]?.value?.toNumbers();
  const nsp = image?.length ?? block?.length ?? inputs[1]?.shape?.[0];
  if (!x?.shape || typeof nsp !== 'number') return [{ dtype: x?.dtype }];
  const cTimesK = x.shape[1];
  const channels = block && typeof cTimesK === 'number' ? cTimesK / sizeOf(block) : ctx.freshDim('channels');
  if (image && block) col2imWindow(node, image, block);
  const spatial: Dim[] = image ?? Array.from({ length: nsp }, () => ctx.freshDim());
  return [{ dtype: x.dtype, shape: [x.shape[0]!, channels, ...spatial] }];
}

function runCol2Im(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const image = inputs[1]!.toNumbers();
  const block = inputs[2]!.toNumbers();
  const { win } = col2imWindow(node, image, block);
  const [N, CK, L] = x.shape as [number, number, number];
  const taps = sizeOf(block);
  const P = sizeOf(win.outSizes);
  if (CK % taps !== 0 || L !== P) {
    throw error('SHAPE_MISMATCH', `input [${x.shape.join(',')}] does not match ${taps} taps x ${P} blocks`, nodeLocation(node));
  }
  const C = CK / taps;
  const imageSize = sizeOf(image);
  const xd = floatView(x);
  const y = workArray(x.dtype, N * C * imageSize);
  const map = gatherMap(win);
  for (let n = 0; n < N; n++) {
    col2im(xd.subarray(n * CK * L, (n + 1) * CK * L), C, map, y, n * C * imageSize, imageSize);
  }
  return [tensorFromFloats(x.dtype, [N, C, ...image], y)];
}

export const convDefs: OpDef[] = [
  { op: Op.Conv, infer: inferConv, run: runConv },
  { op: Op.ConvTranspose, infer: inferConvTranspose, run: runConvTranspose },
  { op: Op.Col2Im, infer: inferCol2Im, run: runCol2Im },
];
