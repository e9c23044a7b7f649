// Matrix products: MatMul (numpy batching and 1-D promotion), Gemm, sparsec's Linear,
// MatMulInteger and Det. Floats go through the blocked kernel in gemm-kernel.ts; ints compute
// in float64 (exact below 2^53) and are stored back to their dtype.

import type { DType } from '../../dtype.js';
import type { Dim, Node, Shape } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { accessFor, at, broadcastConcrete } from '../broadcast.js';
import { gemmAccumulate, transpose2d } from '../gemm-kernel.js';
import { computeData, familyOf, floatAlloc, fromFloats, unsupportedDtype } from '../numeric.js';
import { attrNumber, broadcastShapes, commonDtype, shapeMismatch } from '../util.js';

/** Float view of a tensor for the kernel: float32 as is, float64 as is, others as float64. */
function kernelData(t: Tensor, wide: boolean): Float32Array | Float64Array {
  const d = computeData(t);
  if (wide) return d instanceof Float64Array ? d : Float64Array.from(d as ArrayLike<number>, Number);
  return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>, Number);
}

/** float32 and the 16-bit floats use float32 storage; float64 and ints use float64. */
const needsWide = (dtype: DType) => dtype === 'float64' || familyOf(dtype) !== 'float';

function checkNumeric(node: Node, t: Tensor): void {
  const f = familyOf(t.dtype);
  if (f !== 'float' && f !== 'int' && f !== 'bigint') unsupportedDtype(node, t.dtype);
}

// ---- MatMul ----

export function matmulShape(node: Node, a: Shape, b: Shape): Dim[] | undefined {
  if (a.length === 0 || b.length === 0) shapeMismatch(node, 'MatMul inputs must have rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const ka = a2[a2.length - 1]!;
  const kb = b2[b2.length - 2]!;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    shapeMismatch(node, `MatMul inner dims differ: [${a.join(',')}] x [${b.join(',')}]`);
  }
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)], node);
  const out: Dim[] = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return out;
}

export function matmul(node: Node, a: Tensor, b: Tensor): Tensor {
  checkNumeric(node, a);
  checkNumeric(node, b);
  const aShape = a.rank === 1 ? [1, a.shape[0]!] : [...a.shape];
  const bShape = b.rank === 1 ? [b.shape[0]!, 1] : [...b.shape];
  const [m, k] = aShape.slice(-2) as [number, number];
  const [k2, n] = bShape.slice(-2) as [number, number];
  if (k !== k2) shapeMismatch(node, `MatMul inner dims differ: [${a.shape.join(',')}] x [${b.shape.join(',')}]`);
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = broadcastConcrete([aBatch, bBatch], node);
  const count = sizeOf(batch);
  const wide = needsWide(a.dtype);
  const ad = kernelData(a, wide);
  const bd = kernelData(b, wide);
  const out = floatAlloc(wide ? 'float64' : 'float32', count * m * n);
  const ia = accessFor(aBatch, batch);
  const ib = accessFor(bBatch, batch);
  for (let t = 0; t < count; t++) gemmAccumulate(m, n, k, ad, at(ia, t) * m * k, bd, at(ib, t) * k * n, out, t * m * n);
  const outShape = [...batch];
  if (a.rank > 1) outShape.push(m);
  if (b.rank > 1) outShape.push(n);
  return fromFloats(a.dtype, outShape, out);
}

const matmulDef: OpDef = {
  op: Op.MatMul,
  infer: (node, [a, b]) => [{ dtype: commonDtype(node, [a, b]), shape: a?.shape && b?.shape ? matmulShape(node, a.shape, b.shape) : undefined }],
  run: (node, [a, b]) => [matmul(node, a!, b!)],
};

// ---- Gemm: Y = alpha * A' B' + beta * C ----

const gemmDef: OpDef = {
  op: Op.Gemm,
  infer(node, [a, b]) {
    const ta = node.attrInt('transA', 0) !== 0;
    const tb = node.attrInt('transB', 0) !== 0;
    const m = a?.shape?.[ta ? 1 : 0];
    const n = b?.shape?.[tb ? 0 : 1];
    return [{ dtype: commonDtype(node, [a, b]), shape: m !== undefined && n !== undefined ? [m, n] : undefined }];
  },
  run(node, [a, b, c]) {
    checkNumeric(node, a!);
    const ta = node.attrInt('transA', 0) !== 0;
    const tb = node.attrInt('transB', 0) !== 0;
    const alpha = attrNumber(node, 'alpha', 1);
    const beta = attrNumber(node, 'beta', 1);
    if (a!.rank !== 2 || b!.rank !== 2) shapeMismatch(node, 'Gemm inputs A and B must be 2-D');
    const wide = needsWide(a!.dtype);
    let ad = kernelData(a!, wide);
    let bd = kernelData(b!, wide);
    const [ar, ac] = a!.shape as [number, number];
    const [br, bc] = b!.shape as [number, number];
    const [m, k] = ta ? [ac, ar] : [ar, ac];
    const [k2, n] = tb ? [bc, br] : [br, bc];
    if (k !== k2) shapeMismatch(node, `Gemm inner dims differ: A' is [${m},${k}], B' is [${k2},${n}]`);
    if (ta) ad = transpose2d(ad, 0, ar, ac, floatAlloc(wide ? 'float64' : 'float32', ar * ac));
    if (tb) bd = transpose2d(bd, 0, br, bc, floatAlloc(wide ? 'float64' : 'float32', br * bc));
    const out = floatAlloc(wide ? 'float64' : 'float32', m * n);
    gemmAccumulate(m, n, k, ad, 0, bd, 0, out, 0);
    if (alpha !== 1) for (let i = 0; i < out.length; i++) out[i] *= alpha;
    if (c && beta !== 0) {
      const cd = kernelData(c, true);
      broadcastConcrete([c.shape, [m, n]], node);
      const ic = accessFor(c.shape, [m, n]);
      for (let i = 0; i < out.length; i++) out[i] += beta * cd[at(ic, i)]!;
    }
    return [fromFloats(a!.dtype, [m, n], out)];
  },
};

// ---- Linear (sparsec): y = x[..., K] @ W[K, N] + b[N] ----

const linearDef: OpDef = {
  op: Op.Linear,
  infer(node, [x, w]) {
    const xs = x?.shape;
    const ws = w?.shape;
    if (!xs || !ws) return [{ dtype: x?.dtype }];
    if (ws.length !== 2) shapeMismatch(node, `Linear weight must be 2-D [K,N], got [${ws.join(',')}]`);
    const k = xs[xs.length - 1];
    if (typeof k === 'number' && typeof ws[0] === 'number' && k !== ws[0]) {
      shapeMismatch(node, `Linear input [${xs.join(',')}] does not match weight [${ws.join(',')}]`);
    }
    return [{ dtype: commonDtype(node, [x, w]), shape: [...xs.slice(0, -1), ws[1]!] }];
  },
  run(node, [x, w, bias]) {
    checkNumeric(node, x!);
    const [k, n] = w!.shape as [number, number];
    if (x!.shape[x!.rank - 1] !== k) shapeMismatch(node, `Linear input [${x!.shape.join(',')}] does not match weight [${w!.shape.join(',')}]`);
    const m = x!.size / k;
    const wide = needsWide(x!.dtype);
    const out = floatAlloc(wide ? 'float64' : 'float32', m * n);
    if (bias) {
      if (bias.size !== n) shapeMismatch(node, `Linear bias has ${bias.size} elements, expected ${n}`);
      const bd = kernelData(bias, wide);
      for (let i = 0; i < m; i++) out.set(bd, i * n);
    }
    gemmAccumulate(m, n, k, kernelData(x!, wide), 0, kernelData(w!, wide), 0, out, 0);
    return [fromFloats(x!.dtype, [...x!.shape.slice(0, -1), n], out)];
  },
};

// ---- MatMulInteger: (A - a_zero) @ (B - b_zero) in int32 ----

function zeroPointShifted(t: Tensor, zp: Tensor | undefined, axis: 'row' | 'col', node: Node): Float64Array {
  const d = Float64Array.from(computeData(t) as ArrayLike<number>);
  if (!zp) return d;
  const z = Float64Array.from(computeData(zp) as ArrayLike<number>);
  if (z.length === 1) {
    for (let i = 0; i < d.length; i++) d[i] -= z[0]!;
    return d;
  }
  // Per-row zero points of A ([M]) or per-column of B ([N]).
  const [rows, cols] = t.shape.slice(-2) as [number, number];
  if (z.length !== (axis === 'row' ? rows : cols)) shapeMismatch(node, `zero point of shape [${zp.shape.join(',')}] does not fit input [${t.shape.join(',')}]`);
  for (let i = 0; i < d.length; i++) d[i] -= z[axis === 'row' ? Math.floor(i / cols) % rows : i % cols]!;
  return d;
}

const matmulIntegerDef: OpDef = {
  op: Op.MatMulInteger,
  infer: (node, [a, b]) => [{ dtype: 'int32', shape: a?.shape && b?.shape ? matmulShape(node, a.shape, b.shape) : undefined }],
  run(node, [a, b, az, bz]) {
    const as = new Tensor('float64', a!.shape, zeroPointShifted(a!, az, 'row', node));
    const bs = new Tensor('float64', b!.shape, zeroPointShifted(b!, bz, 'col', node));
    const y = matmul(node, as, bs);
    return [new Tensor('int32', y.shape, Int32Array.from(y.data as Float64Array))];
  },
};

// ---- Det: LU decomposition with partial pivoting, per matrix of [..., M, M] ----

const detDef: OpDef = {
  op: Op.Det,
  infer: (_node, [x]) => [{ dtype: x?.dtype, shape: x?.shape ? x.shape.slice(0, -2) : undefined }],
  run(node, [x]) {
    if (familyOf(x!.dtype) !== 'float') unsupportedDtype(node, x!.dtype);
    const n = x!.shape[x!.rank - 1]!;
    if (x!.rank < 2 || x!.shape[x!.rank - 2] !== n) shapeMismatch(node, `Det needs square matrices, got [${x!.shape.join(',')}]`);
    const d = kernelData(x!, true);
    const count = sizeOf(x!.shape.slice(0, -2));
    const out = new Float64Array(count);
    for (let t = 0; t < count; t++) out[t] = determinant(Float64Array.from(d.subarray(t * n * n, (t + 1) * n * n)), n);
    return [fromFloats(x!.dtype, x!.shape.slice(0, -2), out)];
  },
};

function determinant(a: Float64Array, n: number): number {
  let det = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    if (a[p * n + c] === 0) return 0;
    if (p !== c) {
      for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j]!, a[c * n + j]!];
      det = -det;
    }
    const pivot = a[c * n + c]!;
    det *= pivot;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / pivot;
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j]!;
    }
  }
  return det;
}

export const matmulDefs: OpDef[] = [matmulDef, gemmDef, linearDef, matmulIntegerDef, detDef];
