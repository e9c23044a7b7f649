// Element storage in a form arithmetic can use directly. Kernels read "compute arrays": the
// tensor's own typed array, except for float16/bfloat16 (stored as bit patterns) which are
// decoded to float32 first and encoded again on store, so every float16 op computes in float32
// and rounds once per output element. int64/uint64 stay BigInt arrays (exact).

import { error } from '../diagnostics.js';
import {
  allocData,
  bfloat16BitsToNumber,
  float16BitsToNumber,
  isFloatType,
  isIntType,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  type BigIntArray,
  type DType,
  type TypedArray,
} from '../dtype.js';
import type { Node } from '../graph.js';
import { Tensor } from '../tensor.js';
import { nodeLocation } from './util.js';

/** A typed array kernels compute on (float16/bfloat16 never appear as their bit patterns here). */
export type ComputeArray = TypedArray;

/** The dtype families kernels distinguish. */
export type Family = 'float' | 'int' | 'bigint' | 'bool' | 'string' | 'other';

export function familyOf(dtype: DType): Family {
  if (dtype === 'int64' || dtype === 'uint64') return 'bigint';
  if (dtype === 'bool') return 'bool';
  if (dtype === 'string') return 'string';
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16') return 'float';
  if (isIntType(dtype) && dtype !== 'int4' && dtype !== 'uint4') return 'int';
  return 'other';
}

export const isBigArray = (a: ComputeArray): a is BigIntArray => a instanceof BigInt64Array || a instanceof BigUint64Array;

/** Read access to a tensor's elements for arithmetic (float16/bfloat16 decoded to float32). */
export function computeData(t: Tensor): ComputeArray {
  const d = t.data;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const bits = d as Uint16Array;
    const out = new Float32Array(bits.length);
    const decode = t.dtype === 'float16' ? float16BitsToNumber : bfloat16BitsToNumber;
    for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i]!);
    return out;
  }
  if (Array.isArray(d)) throw new Error(`no numeric view of a ${t.dtype} tensor`);
  if (t.dtype === 'complex64' || t.dtype === 'complex128' || t.dtype.startsWith('float8')) {
    throw new Error(`no numeric view of a ${t.dtype} tensor`);
  }
  return d;
}

/** Storage to compute results of `dtype` into (float32 for float16/bfloat16). */
export function computeAlloc(dtype: DType, n: number): ComputeArray {
  if (dtype === 'float16' || dtype === 'bfloat16') return new Float32Array(n);
  return allocData(dtype, n) as ComputeArray;
}

/** Wrap compute storage (from computeAlloc) as a tensor of `dtype`, rounding float16/bfloat16. */
export function fromCompute(dtype: DType, shape: readonly number[], data: ComputeArray): Tensor {
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const src = data as Float32Array;
    const bits = new Uint16Array(src.length);
    const encode = dtype === 'float16' ? numberToFloat16Bits : numberToBfloat16Bits;
    for (let i = 0; i < src.length; i++) bits[i] = encode(src[i]!);
    return new Tensor(dtype, shape, bits);
  }
  return new Tensor(dtype, shape, data);
}

/** Elements as floats: float32 data as is (or decoded float16), everything else as float64. */
export function floatData(t: Tensor): Float32Array | Float64Array {
  const d = computeData(t);
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]!);
  return out;
}

/** A float compute dtype for results: float64 stays float64, other floats compute in float32. */
export function floatAlloc(dtype: DType, n: number): Float32Array | Float64Array {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Tensor from float results, converting to `dtype` (ints truncate, as C casts do). */
export function fromFloats(dtype: DType, shape: readonly number[], data: Float32Array | Float64Array): Tensor {
  if (dtype === 'float32' && data instanceof Float32Array) return new Tensor(dtype, shape, data);
  if (dtype === 'float64' && data instanceof Float64Array) return new Tensor(dtype, shape, data);
  if (dtype === 'float16' || dtype === 'bfloat16') return fromCompute(dtype, shape, data);
  const t = Tensor.zeros(dtype, shape);
  for (let i = 0; i < data.length; i++) t.set(i, isFloatType(dtype) ? data[i]! : Math.trunc(data[i]!));
  return t;
}

/** Fail with UNSUPPORTED_DTYPE naming the node, for dtypes an op does not define. */
export function unsupportedDtype(node: Node, dtype: DType | undefined, what = 'input'): never {
  throw error('UNSUPPORTED_DTYPE', `${what} dtype ${dtype ?? 'unknown'} is not supported by ${node.opType}`, nodeLocation(node));
}
