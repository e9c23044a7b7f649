// QuantizeLinear and DequantizeLinear (opset 21): per-tensor, per-axis and blocked scales.
//   quantize:   y = saturate(round_half_even(x / scale) + zero_point)
//   dequantize: y = (x - zero_point) * scale
// float8 targets are not defined yet (UNSUPPORTED_DTYPE).

import type { DType } from '../../dtype.js';
import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { roundHalfEven } from '../mathfn.js';
import { computeData, floatAlloc, floatData, fromFloats, unsupportedDtype } from '../numeric.js';
import { dtypeAttr, normalizeAxis, shapeMismatch } from '../util.js';
import { matmul, matmulShape } from './matmul.js';

const RANGES: Partial<Record<DType, readonly [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint4: [0, 15],
  int4: [-8, 7],
};

/**
 * For element i of `x`, the index of its scale (and zero point): one scale for the tensor, one
 * per slice along `axis` (1-D scale), or one per block of `block_size` along `axis`.
 */
function scaleIndexer(node: Node, x: Tensor, scale: Tensor): (i: number) => number {
  if (scale.size === 1) return () => 0;
  const axis = normalizeAxis(node.attrInt('axis', 1), x.rank, node);
  const d = x.shape[axis]!;
  const inner = sizeOf(x.shape.slice(axis + 1));
  const block = node.attrInt('block_size', 0);
  if (block <= 0) {
    if (scale.rank !== 1 || scale.size !== d) shapeMismatch(node, `per-axis scale must have shape [${d}], got [${scale.shape.join(',')}]`);
    return (i) => Math.floor(i / inner) % d;
  }
  const blocks = Math.ceil(d / block);
  const expected = x.shape.map((s, k) => (k === axis ? blocks : s));
  if (scale.rank !== x.rank || scale.shape.some((s, k) => s !== expected[k])) {
    shapeMismatch(node, `blocked scale must have shape [${expected.join(',')}], got [${scale.shape.join(',')}]`);
  }
  return (i) => {
    const o = Math.floor(i / (d * inner));
    const c = Math.floor(i / inner) % d;
    return (o * blocks + Math.floor(c / block)) * inner + (i % inner);
  };
}

/** The zero point's dtype when there is one, else output_dtype, else uint8. */
function quantizedDtype(node: Node, zpDtype: DType | undefined): DType {
  return zpDtype ?? dtypeAttr(node, 'output_dtype') ?? 'uint8';
}

const quantizeDef: OpDef = {
  op: Op.QuantizeLinear,
  infer: (node, [x, , zp]) => [{ dtype: quantizedDtype(node, zp?.dtype), shape: x?.shape }],
  run: (node, [x, scale, zp]) => [quantize(node, x!, scale!, zp)],
};

function quantize(node: Node, x: Tensor, scale: Tensor, zp: Tensor | undefined): Tensor {
  const dtype = quantizedDtype(node, zp?.dtype);
  const range = RANGES[dtype];
  if (!range || dtype === 'int32') unsupportedDtype(node, dtype, 'output');
  const [lo, hi] = range;
  const xd = floatData(x);
  const sd = floatData(scale);
  const zd = zp ? computeData(zp) : undefined;
  const index = scaleIndexer(node, x, scale);
  const out = Tensor.zeros(dtype, x.shape);
  const od = out.data as Int32Array;
  // The quotient is rounded to float32 before rounding to an integer, as float32 hardware
  // (and numpy on float32 arrays) does; a float64 quotient can fall on the other side of .5.
  const narrow = x.dtype === 'float64' ? (v: number) => v : Math.fround;
  for (let i = 0; i < xd.length; i++) {
    const k = index(i);
    const q = roundHalfEven(narrow(xd[i]! / sd[k]!)) + (zd ? Number(zd[k]!) : 0);
    od[i] = Number.isNaN(q) ? 0 : Math.min(hi, Math.max(lo, q));
  }
  return out;
}

const dequantizeDef: OpDef = {
  op: Op.DequantizeLinear,
  infer: (_node, [x, scale]) => [{ dtype: scale?.dtype, shape: x?.shape }],
  run(node, [x, scale, zp]) {
    if (!RANGES[x!.dtype]) unsupportedDtype(node, x!.dtype);
    const xd = computeData(x!);
    const sd = floatData(scale!);
    const zd = zp ? computeData(zp) : undefined;
    const index = scaleIndexer(node, x!, scale!);
    const y = floatAlloc(scale!.dtype, xd.length);
    for (let i = 0; i < xd.length; i++) {
      const k = index(i);
      y[i] = (Number(xd[i]!) - (zd ? Number(zd[k]!) : 0)) * sd[k]!;
    }
    return [fromFloats(scale!.dtype, x!.shape, y)];
  },
};

/**
 * DynamicQuantizeLinear: uint8 quantization with scale and zero point from the data's range
 * (widened to include 0), as the ONNX function body computes them in float32.
 */
const dynamicQuantizeDef: OpDef = {
  op: Op.DynamicQuantizeLinear,
  infer: (_node, [x]) => [
    { dtype: 'uint8', shape: x?.shape },
    { dtype: 'float32', shape: [] },
    { dtype: 'uint8', shape: [] },
  ],
  run(node, [x]) {
    if (x!.dtype !== 'float32') unsupportedDtype(node, x!.dtype);
    const xd = floatData(x!);
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < xd.length; i++) {
      lo = Math.min(lo, xd[i]!);
      hi = Math.max(hi, xd[i]!);
    }
    const f = Math.fround;
    const scale = f(f(hi - lo) / 255);
    const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(f(0 - f(lo / scale)))));
    const y = new Uint8Array(xd.length);
    for (let i = 0; i < xd.length; i++) {
      const q = roundHalfEven(f(xd[i]! / scale)) + zeroPoint;
      y[i] = Number.isNaN(q) ? 0 : Math.min(255, Math.max(0, q));
    }
    return [new Tensor('uint8', x!.shape, y), Tensor.scalar('float32', scale), Tensor.scalar('uint8', zeroPoint)];
  },
};

/** QLinearMatMul: dequantize both operands, multiply, quantize with the output's scale. */
const qlinearMatmulDef: OpDef = {
  op: Op.QLinearMatMul,
  infer: (node, [a, , , b, , , , yZero]) => [{ dtype: yZero?.dtype, shape: a?.shape && b?.shape ? matmulShape(node, a.shape, b.shape) : undefined }],
  run(node, [a, aScale, aZero, b, bScale, bZero, yScale, yZero]) {
    const deq = (t: Tensor, scale: Tensor, zero: Tensor, axis: 'row' | 'col') => {
      const [rows, cols] = t.shape.slice(-2) as [number, number];
      const td = computeData(t);
      const sd = floatData(scale);
      const zd = computeData(zero);
      // Per-row scales of A ([M]) or per-column scales of B ([N]); a single one otherwise.
      const k = (i: number) => (sd.length === 1 ? 0 : axis === 'row' ? Math.floor(i / cols) % rows : i % cols);
      return new Tensor('float64', t.shape, Float64Array.from(td as ArrayLike<number>, (v, i) => (Number(v) - Number(zd[k(i)]!)) * sd[k(i)]!));
    };
    const product = matmul(node, deq(a!, aScale!, aZero!, 'row'), deq(b!, bScale!, bZero!, 'col'));
    const asFloat32 = new Tensor('float32', product.shape, Float32Array.from(product.data as Float64Array));
    return [quantize(node, asFloat32, yScale!, yZero)];
  },
};

export const quantDefs: OpDef[] = [quantizeDef, dequantizeDef, dynamicQuantizeDef, qlinearMatmulDef];
