// Cast and CastLike: every pair of numeric, bool and string dtypes. Float to int truncates
// toward zero (C casts); NaN and infinities become 0 where the target cannot hold them.
// float8 targets are not defined yet and fail with UNSUPPORTED_DTYPE.

import { isFloatType, type DType } from '../../dtype.js';
import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { float32ToString, parseNumber } from '../mathfn.js';
import { computeAlloc, computeData, familyOf, fromCompute, isBigArray, unsupportedDtype } from '../numeric.js';
import { badAttribute, dtypeAttr } from '../util.js';

const DTYPE_NAMES: ReadonlySet<string> = new Set([
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64',
  'uint64', 'bool', 'string',
]);

// Kept for op files that import the helper from here; it lives in ../util.ts.
export { dtypeAttr } from '../util.js';

function castTarget(node: Node): DType {
  const to = dtypeAttr(node, 'to');
  if (to === undefined) return badAttribute(node, 'Cast needs a `to` attribute');
  if (!DTYPE_NAMES.has(to)) unsupportedDtype(node, to, 'target');
  return to;
}

/** Cast a tensor to `to`. Exported for other ops that convert (CastLike, QuantizeLinear). */
export function castTensor(node: Node, x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  const from = familyOf(x.dtype);
  const target = familyOf(to);
  if (from === 'other') unsupportedDtype(node, x.dtype);
  if (target === 'other') unsupportedDtype(node, to, 'target');
  const n = x.size;
  if (target === 'string') {
    const out = new Array<string>(n);
    const src = computeData(x);
    const fmt = x.dtype === 'float32' || x.dtype === 'float16' || x.dtype === 'bfloat16' ? float32ToString : numberText;
    for (let i = 0; i < n; i++) out[i] = typeof src[i] === 'bigint' ? String(src[i]) : fmt(src[i] as number);
    return new Tensor('string', x.shape, out);
  }
  if (from === 'string') {
    const strings = x.data as string[];
    const t = Tensor.zeros('float64', x.shape);
    for (let i = 0; i < n; i++) t.set(i, parseNumber(strings[i]!));
    if (target === 'bigint') {
      // Integers beyond 2^53 must not pass through float64.
      const out = computeAlloc(to, n) as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = parseBigInt(strings[i]!);
      return new Tensor(to, x.shape, out);
    }
    return castTensor(node, t, to);
  }
  const src = computeData(x);
  const out = computeAlloc(to, n);
  if (target === 'bigint') {
    const o = out as BigInt64Array;
    if (isBigArray(src)) for (let i = 0; i < n; i++) o[i] = src[i]!;
    else for (let i = 0; i < n; i++) o[i] = toBigInt(src[i]!);
  } else if (target === 'bool') {
    // NaN is true, as C's (bool)NaN is (JS truthiness would say false).
    const o = out as Uint8Array;
    if (isBigArray(src)) for (let i = 0; i < n; i++) o[i] = src[i] !== 0n ? 1 : 0;
    else for (let i = 0; i < n; i++) o[i] = src[i] !== 0 ? 1 : 0;
  } else {
    const o = out as Float64Array;
    const toInt = !isFloatType(to);
    if (isBigArray(src)) for (let i = 0; i < n; i++) o[i] = Number(src[i]!);
    else if (toInt) for (let i = 0; i < n; i++) o[i] = Math.trunc(src[i]!);
    else for (let i = 0; i < n; i++) o[i] = src[i]!;
  }
  return fromCompute(to, x.shape, out);
}

function toBigInt(v: number): bigint {
  return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
}

function parseBigInt(s: string): bigint {
  const t = s.trim();
  if (/^[+-]?\d+$/.test(t)) return BigInt(t);
  return toBigInt(parseNumber(t));
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'INF' : '-INF';
  return String(v);
}

const castDef: OpDef = {
  op: Op.Cast,
  infer: (node, inputs) => [{ dtype: castTarget(node), shape: inputs[0]?.shape }],
  run: (node, [x]) => [castTensor(node, x!, castTarget(node))],
};

const castLikeDef: OpDef = {
  op: Op.CastLike,
  infer: (_node, inputs) => [{ dtype: inputs[1]?.dtype, shape: inputs[0]?.shape }],
  run: (node, [x, like]) => [castTensor(node, x!, like!.dtype)],
};

export const castDefs: OpDef[] = [castDef, castLikeDef];
