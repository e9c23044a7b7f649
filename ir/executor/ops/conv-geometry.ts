// Geometry shared by the windowed ops (Conv, ConvTranspose, the pools, Col2Im): attribute
// parsing, output sizes under every auto_pad mode, and gather maps from (kernel tap, output
// position) to input offsets. A gather map turns any N-D windowed op into flat loops over
// typed arrays, so one code path serves 1-D, 2-D and 3-D.

import { error } from '../../diagnostics.js';
import type { Dim, Node } from '../../graph.js';
import type { InferContext } from '../../opdef.js';
import { nodeLocation } from '../util.js';

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

/** The window attributes of one node, validated against its spatial rank. */
export interface WindowAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Explicit pads as ONNX writes them: all begins, then all ends (zeros when absent). */
  pads: number[];
  autoPad: AutoPad;
  ceilMode: boolean;
}

/** A window resolved against concrete input sizes. */
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  /** Input spatial sizes. */
  inSizes: number[];
  /** Output spatial sizes. */
  outSizes: number[];
}

const AUTO_PADS: readonly string[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

function intsOfLength(node: Node, name: string, n: number, def: number): number[] {
  const v = node.attrInts(name);
  if (v === undefined) return new Array<number>(n).fill(def);
  if (v.length !== n) {
    throw error('BAD_ATTRIBUTE', `attribute ${name} has ${v.length} values but the op has ${n} spatial dims`, nodeLocation(node));
  }
  return v;
}

/**
 * Read kernel_shape/strides/dilations/pads/auto_pad/ceil_mode. `kernel` is the kernel shape
 * known from elsewhere (Conv's weights); the attribute wins only when it is present.
 */
export function readWindowAttrs(node: Node, nSpatial: number, kernel?: readonly number[]): WindowAttrs {
  const k = node.attrInts('kernel_shape') ?? kernel;
  if (!k) throw error('BAD_ATTRIBUTE', 'kernel_shape is required', nodeLocation(node));
  if (k.length !== nSpatial) {
    throw error('BAD_ATTRIBUTE', `kernel_shape has ${k.length} values but the input has ${nSpatial} spatial dims`, nodeLocation(node));
  }
  const autoPad = node.attrString('auto_pad', 'NOTSET');
  if (!AUTO_PADS.includes(autoPad)) {
    throw error('BAD_ATTRIBUTE', `unknown auto_pad '${autoPad}'`, nodeLocation(node));
  }
  const strides = intsOfLength(node, 'strides', nSpatial, 1);
  const dilations = intsOfLength(node, 'dilations', nSpatial, 1);
  const pads = intsOfLength(node, 'pads', 2 * nSpatial, 0);
  if ([...strides, ...dilations, ...k].some((v) => v < 1) || pads.some((p) => p < 0)) {
    throw error('BAD_ATTRIBUTE', 'kernel_shape, strides and dilations must be positive and pads non-negative', nodeLocation(node));
  }
  return { kernel: [...k], strides, dilations, pads, autoPad: autoPad as AutoPad, ceilMode: node.attrInt('ceil_mode', 0) !== 0 };
}

/** Extent of a dilated kernel. */
export const dilatedKernel = (k: number, d: number): number => (k - 1) * d + 1;

/** Output size and pads of one spatial dim of a forward window op (Conv, pools). */
export function windowDim(a: WindowAttrs, i: number, inSize: number): { out: number; begin: number; end: number } {
  const s = a.strides[i]!;
  const dk = dilatedKernel(a.kernel[i]!, a.dilations[i]!);
  if (a.autoPad === 'VALID') return { out: Math.floor((inSize - dk) / s) + 1, begin: 0, end: 0 };
  if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') {
    // As the spec says, the padding covers the dilated kernel. onnxruntime's pools pad for the
    // undilated kernel instead, so their SAME output shrinks when dilations > 1.
    const out = Math.ceil(inSize / s);
    const total = Math.max(0, (out - 1) * s + dk - inSize);
    const small = Math.floor(total / 2);
    return a.autoPad === 'SAME_UPPER'
      ? { out, begin: small, end: total - small }
      : { out, begin: total - small, end: small };
  }
  const begin = a.pads[i]!;
  const end = a.pads[i + a.kernel.length]!;
  const span = inSize + begin + end - dk;
  if (!a.ceilMode) return { out: Math.floor(span / s) + 1, begin, end };
  let out = Math.ceil(span / s) + 1;
  // A window that would start inside the end padding is dropped (opset 19 rule, as in PyTorch).
  if ((out - 1) * s >= inSize + begin) out--;
  return { out, begin, end };
}

/** Resolve a forward window against concrete input sizes, failing on empty outputs. */
export function resolveWindow(node: Node, a: WindowAttrs, inSizes: readonly number[]): Window {
  const w: Window = {
    kernel: a.kernel,
    strides: a.strides,
    dilations: a.dilations,
    padsBegin: [],
    padsEnd: [],
    inSizes: [...inSizes],
    outSizes: [],
  };
  inSizes.forEach((n, i) => {
    const d = windowDim(a, i, n);
    if (d.out < 1) {
      throw error('SHAPE_MISMATCH', `spatial dim ${i} of size ${n} is smaller than the kernel window`, nodeLocation(node));
    }
    w.outSizes.push(d.out);
    w.padsBegin.push(d.begin);
    w.padsEnd.push(d.end);
  });
  return w;
}

/**
 * Output spatial dims for inference. Static sizes are computed; a symbolic size keeps its
 * symbol when the window provably preserves it (stride 1 and "same" padding), and otherwise
 * becomes a fresh symbol.
 */
export function inferWindowDims(a: WindowAttrs, inDims: readonly Dim[], ctx: InferContext, node: Node): Dim[] {
  return inDims.map((d, i) => {
    if (typeof d === 'number') {
      const out = windowDim(a, i, d).out;
      if (out < 1) {
        throw error('SHAPE_MISMATCH', `spatial dim ${i} of size ${d} is smaller than the kernel window`, nodeLocation(node));
      }
      return out;
    }
    if (a.strides[i] === 1) {
      if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') return d;
      const dk = dilatedKernel(a.kernel[i]!, a.dilations[i]!);
      if (a.autoPad === 'NOTSET' && a.pads[i]! + a.pads[i + a.kernel.length]! === dk - 1) return d;
    }
    return ctx.freshDim(typeof d === 'string' ? `${d}_out` : undefined);
  });
}

/**
 * For each kernel tap k (row-major over the kernel) and each output position p (row-major over
 * `outSizes`): the flat offset within one input channel that the tap reads, or -1 where it
 * falls in padding. Laid out as map[k * P + p] with P = prod(outSizes).
 */
export function gatherMap(w: Window): Int32Array {
  const nd = w.kernel.length;
  const P = w.outSizes.reduce((a, b) => a * b, 1);
  const K = w.kernel.reduce((a, b) => a * b, 1);
  const map = new Int32Array(K * P);
  // Per dim: the input coordinate of (tap, output index) times the dim's stride, or -1.
  const inStrides = new Array<number>(nd);
  for (let d = nd - 1, acc = 1; d >= 0; d--) {
    inStrides[d] = acc;
    acc *= w.inSizes[d]!;
  }
  const tables = w.kernel.map((k, d) => {
    const out = w.outSizes[d]!;
    const t = new Int32Array(k * out);
    for (let kk = 0; kk < k; kk++) {
      for (let o = 0; o < out; o++) {
        const c = o * w.strides[d]! - w.padsBegin[d]! + kk * w.dilations[d]!;
        t[kk * out + o] = c >= 0 && c < w.inSizes[d]! ? c * inStrides[d]! : -1;
      }
    }
    return t;
  });
  const tap = new Array<number>(nd).fill(0);
  let pos = 0;
  const fill = (d: number, base: number): void => {
    const out = w.outSizes[d]!;
    const t = tables[d]!;
    const row = tap[d]! * out;
    for (let o = 0; o < out; o++) {
      const v = base < 0 ? -1 : t[row + o]!;
      const off = v < 0 ? -1 : base + v;
      if (d === nd - 1) map[pos++] = off;
      else fill(d + 1, off);
    }
  };
  for (let k = 0; k < K; k++) {
    if (nd === 0) map[pos++] = 0;
    else fill(0, 0);
    for (let d = nd - 1; d >= 0; d--) {
      if (++tap[d]! < w.kernel[d]!) break;
      tap[d] = 0;
    }
  }
  return map;
}
