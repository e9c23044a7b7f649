// Ops that sample an image at computed, fractional positions: GridSample (N-D, opset 20
// semantics) and the AffineGrid that feeds it, RoiAlign and DeformConv (2-D).

import { error } from '../../diagnostics.js';
import type { Dim, Node } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, stridesOf, type Tensor } from '../../tensor.js';
import { nodeLocation } from '../util.js';
import { readWindowAttrs, resolveWindow } from './conv-geometry.js';
import { floatView, gemmAccumulate, tensorFromFloats, workArray, type FloatArray } from './conv-kernels.js';

// ---- GridSample ----

/** Opset 16 names (bilinear, bicubic) are accepted as their opset-20 equivalents. */
const GRID_MODES: Record<string, 'linear' | 'nearest' | 'cubic'> = {
  linear: 'linear', bilinear: 'linear', nearest: 'nearest', cubic: 'cubic', bicubic: 'cubic',
};
const PADDING_MODES: readonly string[] = ['zeros', 'border', 'reflection'];

function gridAttrs(node: Node): { mode: 'linear' | 'nearest' | 'cubic'; padding: string; alignCorners: boolean } {
  const mode = GRID_MODES[node.attrString('mode', 'linear')];
  const padding = node.attrString('padding_mode', 'zeros');
  if (!mode || !PADDING_MODES.includes(padding)) {
    throw error('BAD_ATTRIBUTE', `unknown GridSample mode '${node.attrString('mode')}' or padding_mode '${padding}'`, nodeLocation(node));
  }
  return { mode, padding, alignCorners: node.attrInt('align_corners', 0) !== 0 };
}

function inferGridSample(node: Node, inputs: readonly (TypeInfo | undefined)[]): TypeInfo[] {
  gridAttrs(node);
  const x = inputs[0];
  const grid = inputs[1];
  if (!x?.shape || !grid?.shape) return [{ dtype: x?.dtype }];
  if (grid.shape.length !== x.shape.length) {
    throw error('SHAPE_MISMATCH', `grid has rank ${grid.shape.length} but X has rank ${x.shape.length}`, nodeLocation(node));
  }
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...grid.shape.slice(1, -1)] }];
}

/** Reflect x into [lo, hi] by bouncing off the nearer border (ONNX's _gs_reflect). */
function reflect(x: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.trunc(dx / range);
    const r = dx - n * range;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.trunc(dx / range);
    const r = dx - n * range;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

function cubicWeights(t: number): number[] {
  const A = -0.75;
  const w = (s: number): number => {
    const x = Math.abs(s);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

function runGridSample(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const { mode, padding, alignCorners } = gridAttrs(node);
  const x = inputs[0]!;
  const grid = inputs[1]!;
  const [N, C] = x.shape as [number, number];
  const dims = x.shape.slice(2);
  const r = dims.length;
  if (grid.rank !== x.rank || grid.shape[0] !== N || grid.shape[grid.rank - 1] !== r) {
    throw error('SHAPE_MISMATCH', `grid [${grid.shape.join(',')}] does not fit X [${x.shape.join(',')}]`, nodeLocation(node));
  }
  const outDims = grid.shape.slice(1, -1);
  const P = sizeOf(outDims);
  const inSize = sizeOf(dims);
  const strides = stridesOf(dims);
  const lo = dims.map(() => (alignCorners ? 0 : -0.5));
  const hi = dims.map((d) => (alignCorners ? d - 1 : d - 0.5));
  const xd = floatView(x);
  const gd = floatView(grid);
  const out = workArray(x.dtype, N * C * P);
  // Per dim: the taps (index into the plane, or -1 for a zero) and their weights.
  const tapIndex: number[][] = dims.map(() => []);
  const tapWeight: number[][] = dims.map(() => []);
  const fetchIndex = (i: number, d: number): number => {
    const size = dims[d]!;
    if (padding === 'zeros') return i >= 0 && i < size ? i : -1;
    if (padding === 'border') return Math.min(Math.max(i, 0), size - 1);
    return Math.trunc(reflect(i, lo[d]!, hi[d]!));
  };
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      for (let d = 0; d < r; d++) {
        // The grid's last axis lists coordinates innermost dim first (x, y, z).
        const g = gd[(n * P + p) * r + (r - 1 - d)]!;
        const size = dims[d]!;
        let c = alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
        if (mode === 'nearest') c = roundHalfEven(c);
        if (c < lo[d]! || c > hi[d]!) {
          // Cubic border padding clamps each tap, not the coordinate (as PyTorch and onnxruntime do).
          if (padding === 'border' && mode !== 'cubic') c = Math.min(Math.max(c, 0), size - 1);
          else if (padding === 'reflection') c = reflect(c, lo[d]!, hi[d]!);
        }
        const idx = tapIndex[d]!;
        const wts = tapWeight[d]!;
        idx.length = 0;
        wts.length = 0;
        if (mode === 'nearest') {
          idx.push(fetchIndex(Math.trunc(c), d));
          wts.push(1);
        } else {
          const c0 = Math.floor(c);
          const t = c - c0;
          const ws = mode === 'linear' ? [1 - t, t] : cubicWeights(t);
          const first = mode === 'linear' ? c0 : c0 - 1;
          ws.forEach((w, k) => {
            idx.push(fetchIndex(first + k, d));
            wts.push(w);
          });
        }
      }
      for (let ch = 0; ch < C; ch++) {
        out[(n * C + ch) * P + p] = sampleTaps(xd, (n * C + ch) * inSize, strides, tapIndex, tapWeight);
      }
    }
  }
  return [tensorFromFloats(x.dtype, [N, C, ...outDims], out)];
}

/** Sum over the product of per-dim taps; a tap index of -1 reads zero. */
function sampleTaps(x: FloatArray, base: number, strides: number[], index: number[][], weight: number[][], d = 0, off = 0): number {
  if (d === strides.length) return x[base + off]!;
  let s = 0;
  const idx = index[d]!;
  const w = weight[d]!;
  for (let k = 0; k < idx.length; k++) {
    if (idx[k]! < 0 || w[k] === 0) continue;
    s += w[k]! * sampleTaps(x, base, strides, index, weight, d + 1, off + idx[k]! * strides[d]!);
  }
  return s;
}

// ---- AffineGrid ----

function inferAffineGrid(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const theta = inputs[0];
  const size = inputs[1];
  const dtype = theta?.dtype;
  const sizes = size?.value?.toNumbers();
  if (sizes) return [{ dtype, shape: [sizes[0]!, ...sizes.slice(2), sizes.length - 2] }];
  const rank = size?.shape?.[0];
  if (typeof rank !== 'number') return [{ dtype }];
  return [{ dtype, shape: [theta?.shape?.[0] ?? ctx.freshDim(), ...Array.from({ length: rank - 2 }, () => ctx.freshDim()), rank - 2] }];
}

/** Sampling grids for GridSample: each output point's normalized coordinates times theta. */
function runAffineGrid(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const theta = inputs[0]!;
  const sizes = inputs[1]!.toNumbers();
  const alignCorners = node.attrInt('align_corners', 0) !== 0;
  const N = sizes[0]!;
  const dims = sizes.slice(2);
  const r = dims.length;
  if ((r !== 2 && r !== 3) || theta.rank !== 3 || theta.shape[0] !== N || theta.shape[1] !== r || theta.shape[2] !== r + 1) {
    throw error('SHAPE_MISMATCH', `theta [${theta.shape.join(',')}] does not fit size [${sizes.join(',')}]`, nodeLocation(node));
  }
  const td = floatView(theta);
  const P = sizeOf(dims);
  const strides = stridesOf(dims);
  const out = workArray(theta.dtype, N * P * r);
  const base = new Array<number>(r);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      // base holds (x, y[, z]): the innermost dim first, as GridSample reads it.
      for (let d = 0; d < r; d++) {
        const size = dims[d]!;
        const i = Math.floor(p / strides[d]!) % size;
        // A single point sits at -1 with align_corners, as in the ONNX reference (onnxruntime
        // puts it at +1, PyTorch at 0).
        base[r - 1 - d] = alignCorners ? (size === 1 ? -1 : -1 + (2 * i) / (size - 1)) : -1 + (2 * i + 1) / size;
      }
      for (let j = 0; j < r; j++) {
        const row = (n * r + j) * (r + 1);
        let v = td[row + r]!;
        for (let k = 0; k < r; k++) v += td[row + k]! * base[k]!;
        out[(n * P + p) * r + j] = v;
      }
    }
  }
  return [tensorFromFloats(theta.dtype, [N, ...dims, r], out)];
}

// ---- RoiAlign ----

function inferRoiAlign(node: Node, inputs: readonly (TypeInfo | undefined)[]): TypeInfo[] {
  const x = inputs[0];
  const rois = inputs[1];
  const c: Dim | undefined = x?.shape?.[1];
  const r: Dim | undefined = rois?.shape?.[0];
  if (c === undefined || r === undefined) return [{ dtype: x?.dtype }];
  return [{ dtype: x!.dtype, shape: [r, c, node.attrInt('output_height', 1), node.attrInt('output_width', 1)] }];
}

/** Bilinear sample of one plane with RoiAlign's edge rules; weights and corners for max mode. */
function roiBilinear(x: FloatArray, base: number, H: number, W: number, y: number, xx: number): [number, number, number, number, number, number, number, number] | undefined {
  if (y < -1 || y > H || xx < -1 || xx > W) return undefined;
  y = Math.max(y, 0);
  xx = Math.max(xx, 0);
  let y0 = Math.floor(y);
  let x0 = Math.floor(xx);
  let y1 = y0 + 1;
  let x1 = x0 + 1;
  if (y0 >= H - 1) y0 = y1 = y = H - 1;
  if (x0 >= W - 1) x0 = x1 = xx = W - 1;
  const ly = y - y0;
  const lx = xx - x0;
  const hy = 1 - ly;
  const hx = 1 - lx;
  return [
    hy * hx, x[base + y0 * W + x0]!, hy * lx, x[base + y0 * W + x1]!,
    ly * hx, x[base + y1 * W + x0]!, ly * lx, x[base + y1 * W + x1]!,
  ];
}

function runRoiAlign(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const rois = floatView(inputs[1]!);
  const batch = inputs[2]!;
  const outH = node.attrInt('output_height', 1);
  const outW = node.attrInt('output_width', 1);
  const ratio = node.attrInt('sampling_ratio', 0);
  const scale = node.attrFloat('spatial_scale', 1);
  const max = node.attrString('mode', 'avg') === 'max';
  const halfPixel = node.attrString('coordinate_transformation_mode', 'half_pixel') === 'half_pixel';
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const R = batch.size;
  const xd = floatView(x);
  const out = workArray(x.dtype, R * C * outH * outW);
  const offset = halfPixel ? 0.5 : 0;
  for (let r = 0; r < R; r++) {
    const b = batch.get(r);
    if (b < 0 || b >= N) throw error('BAD_INPUT', `RoiAlign batch index ${b} is out of range`, nodeLocation(node));
    const x1 = rois[r * 4]! * scale - offset;
    const y1 = rois[r * 4 + 1]! * scale - offset;
    let roiW = rois[r * 4 + 2]! * scale - offset - x1;
    let roiH = rois[r * 4 + 3]! * scale - offset - y1;
    // The legacy (output_half_pixel) mode forces rois to be at least one pixel.
    if (!halfPixel) {
      roiW = Math.max(roiW, 1);
      roiH = Math.max(roiH, 1);
    }
    const binH = roiH / outH;
    const binW = roiW / outW;
    const gridH = ratio > 0 ? ratio : Math.ceil(roiH / outH);
    const gridW = ratio > 0 ? ratio : Math.ceil(roiW / outW);
    const count = Math.max(gridH * gridW, 1);
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * H * W;
      for (let ph = 0; ph < outH; ph++) {
        for (let pw = 0; pw < outW; pw++) {
          let acc = 0;
          let first = true;
          for (let iy = 0; iy < gridH; iy++) {
            const y = y1 + ph * binH + ((iy + 0.5) * binH) / gridH;
            for (let ix = 0; ix < gridW; ix++) {
              const xx = x1 + pw * binW + ((ix + 0.5) * binW) / gridW;
              const s = roiBilinear(xd, base, H, W, y, xx) ?? [0, 0, 0, 0, 0, 0, 0, 0];
              if (max) {
                // As in onnxruntime and the ONNX reference: the largest weighted corner.
                const v = Math.max(s[0] * s[1], s[2] * s[3], s[4] * s[5], s[6] * s[7]);
                acc = first ? v : Math.max(acc, v);
                first = false;
              } else {
                acc += s[0] * s[1] + s[2] * s[3] + s[4] * s[5] + s[6] * s[7];
              }
            }
          }
          out[((r * C + c) * outH + ph) * outW + pw] = max ? acc : acc / count;
        }
      }
    }
  }
  return [tensorFromFloats(x.dtype, [R, C, outH, outW], out)];
}

// ---- DeformConv ----

function inferDeformConv(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const x = inputs[0];
  const w = inputs[1];
  const offset = inputs[2];
  if (!x?.shape) return [{ dtype: x?.dtype }];
  if (x.shape.length !== 4) throw error('UNSUPPORTED_OP', `DeformConv is supported for 2-D inputs only, got rank ${x.shape.length}`, nodeLocation(node));
  const spatial = offset?.shape?.slice(2) ?? x.shape.slice(2).map(() => ctx.freshDim());
  return [{ dtype: x.dtype, shape: [x.shape[0]!, w?.shape?.[0] ?? ctx.freshDim('channels'), ...spatial] }];
}

/** Bilinear sample with zeros outside (torchvision's deform_conv2d rule). */
function deformSample(x: FloatArray, base: number, H: number, W: number, h: number, w: number): number {
  if (h <= -1 || h >= H || w <= -1 || w >= W) return 0;
  const h0 = Math.floor(h);
  const w0 = Math.floor(w);
  const lh = h - h0;
  const lw = w - w0;
  const at = (i: number, j: number): number => (i >= 0 && i < H && j >= 0 && j < W ? x[base + i * W + j]! : 0);
  return (1 - lh) * (1 - lw) * at(h0, w0) + (1 - lh) * lw * at(h0, w0 + 1) + lh * (1 - lw) * at(h0 + 1, w0) + lh * lw * at(h0 + 1, w0 + 1);
}

function runDeformConv(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const [x, w, offsetT, bias, maskT] = inputs as [Tensor, Tensor, Tensor, Tensor | undefined, Tensor | undefined];
  if (x.rank !== 4) throw error('UNSUPPORTED_OP', 'DeformConv is supported for 2-D inputs only', nodeLocation(node));
  const group = node.attrInt('group', 1);
  const offsetGroups = node.attrInt('offset_group', 1);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [M, cg, KH, KW] = w.shape as [number, number, number, number];
  if (C !== cg * group || M % group !== 0 || C % offsetGroups !== 0) {
    throw error('SHAPE_MISMATCH', 'DeformConv channels do not divide into group/offset_group', nodeLocation(node));
  }
  const win = resolveWindow(node, readWindowAttrs(node, 2, [KH, KW]), [H, W]);
  const [OH, OW] = win.outSizes as [number, number];
  const P = OH * OW;
  const K = KH * KW;
  if (offsetT.shape[1] !== offsetGroups * 2 * K || offsetT.shape[2] !== OH || offsetT.shape[3] !== OW) {
    throw error('SHAPE_MISMATCH', `offset [${offsetT.shape.join(',')}] does not match the output ${OH}x${OW}`, nodeLocation(node));
  }
  const xd = floatView(x);
  const wd = floatView(w);
  const off = floatView(offsetT);
  const mask = maskT ? floatView(maskT) : undefined;
  const mg = M / group;
  const out = workArray(x.dtype, N * M * P);
  if (bias) {
    const bd = floatView(bias);
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) out.fill(bd[m]!, (n * M + m) * P, (n * M + m + 1) * P);
  }
  const col = workArray(x.dtype, cg * K * P);
  const channelsPerOffsetGroup = C / offsetGroups;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      for (let ci = 0; ci < cg; ci++) {
        const c = g * cg + ci;
        const og = Math.floor(c / channelsPerOffsetGroup);
        const base = (n * C + c) * H * W;
        for (let k = 0; k < K; k++) {
          const kh = Math.floor(k / KW);
          const kw = k % KW;
          const offH = ((n * offsetGroups + og) * 2 * K + 2 * k) * P;
          const offW = offH + P;
          const maskAt = ((n * offsetGroups + og) * K + k) * P;
          for (let p = 0; p < P; p++) {
            const oh = Math.floor(p / OW);
            const ow = p % OW;
            const h = oh * win.strides[0]! - win.padsBegin[0]! + kh * win.dilations[0]! + off[offH + p]!;
            const ww = ow * win.strides[1]! - win.padsBegin[1]! + kw * win.dilations[1]! + off[offW + p]!;
            const v = deformSample(xd, base, H, W, h, ww);
            col[(ci * K + k) * P + p] = mask ? v * mask[maskAt + p]! : v;
          }
        }
      }
      gemmAccumulate(mg, cg * K, P, wd, g * mg * cg * K, cg * K, 1, col, 0, out, (n * M + g * mg) * P);
    }
  }
  return [tensorFromFloats(x.dtype, [N, M, OH, OW], out)];
}

export const sampleDefs: OpDef[] = [
  { op: Op.AffineGrid, infer: inferAffineGrid, run: runAffineGrid },
  { op: Op.GridSample, infer: inferGridSample, run: runGridSample },
  { op: Op.RoiAlign, infer: inferRoiAlign, run: runRoiAlign },
  { op: Op.DeformConv, infer: inferDeformConv, run: runDeformConv },
];
