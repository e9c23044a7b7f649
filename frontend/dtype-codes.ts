// ONNX data type codes <-> IR dtypes, and the decoding of every storage form a TensorProto can
// use (raw_data and the typed repeated fields) into the IR's in-memory layout (ir/dtype.ts).

import { allocData, dtypeBytes, type DType, type TensorData, type TypedArray } from '../ir/dtype.js';
import { DataTypeCode, int64ToBigInt, type TensorProtoMsg } from './schema.js';

const codeToDType = new Map<number, DType>([
  [DataTypeCode.FLOAT, 'float32'],
  [DataTypeCode.UINT8, 'uint8'],
  [DataTypeCode.INT8, 'int8'],
  [DataTypeCode.UINT16, 'uint16'],
  [DataTypeCode.INT16, 'int16'],
  [DataTypeCode.INT32, 'int32'],
  [DataTypeCode.INT64, 'int64'],
  [DataTypeCode.STRING, 'string'],
  [DataTypeCode.BOOL, 'bool'],
  [DataTypeCode.FLOAT16, 'float16'],
  [DataTypeCode.DOUBLE, 'float64'],
  [DataTypeCode.UINT32, 'uint32'],
  [DataTypeCode.UINT64, 'uint64'],
  [DataTypeCode.COMPLEX64, 'complex64'],
  [DataTypeCode.COMPLEX128, 'complex128'],
  [DataTypeCode.BFLOAT16, 'bfloat16'],
  [DataTypeCode.FLOAT8E4M3FN, 'float8e4m3fn'],
  [DataTypeCode.FLOAT8E4M3FNUZ, 'float8e4m3fnuz'],
  [DataTypeCode.FLOAT8E5M2, 'float8e5m2'],
  [DataTypeCode.FLOAT8E5M2FNUZ, 'float8e5m2fnuz'],
  [DataTypeCode.UINT4, 'uint4'],
  [DataTypeCode.INT4, 'int4'],
]);
const dtypeToCode = new Map<DType, number>([...codeToDType].map(([c, d]) => [d, c]));

/** The IR dtype of an ONNX data type code, or undefined for unknown codes (and UNDEFINED). */
export const dtypeFromCode = (code: number): DType | undefined => codeToDType.get(code);

export function codeFromDType(t: DType): number {
  return dtypeToCode.get(t)!;
}

/** Bytes one element takes in raw_data (int4/uint4: packed two per byte, see rawByteLength). */
export function rawByteLength(t: DType, count: number): number {
  if (t === 'int4' || t === 'uint4') return Math.ceil(count / 2);
  return count * dtypeBytes(t);
}

/** Storage elements for `count` tensor elements (complex types store (re, im) pairs). */
const storageLength = (t: DType, count: number): number =>
  t === 'complex64' || t === 'complex128' ? 2 * count : count;

/** Why a tensor's data could not be decoded; the caller adds the file and tensor name. */
export class TensorDataError extends Error {}

/**
 * Decode raw little-endian bytes into fresh storage for `t`. This is the single copy a weight
 * goes through: `bytes` is usually a view into the model file's buffer, and typed arrays need
 * aligned storage of their own. When `owned` is set, `bytes` is a fresh buffer nobody else
 * holds (external data read for this tensor), and an aligned one is used without copying.
 */
export function decodeRaw(t: DType, count: number, bytes: Uint8Array, owned = false): TensorData {
  if (t === 'string') throw new TensorDataError('string tensors cannot use raw_data');
  const expected = rawByteLength(t, count);
  if (bytes.byteLength !== expected) {
    throw new TensorDataError(`raw data has ${bytes.byteLength} bytes but ${count} ${t} elements need ${expected}`);
  }
  if (t === 'int4' || t === 'uint4') return unpackInt4(bytes, count, t === 'int4');
  const out = allocData(t, count) as TypedArray; // complex storage is (re, im) pairs already
  const elem = out.BYTES_PER_ELEMENT;
  if (owned && bytes.byteOffset % elem === 0 && bytes.byteOffset + bytes.byteLength <= bytes.buffer.byteLength) {
    const Ctor = out.constructor as new (b: ArrayBufferLike, off: number, len: number) => TypedArray;
    return new Ctor(bytes.buffer, bytes.byteOffset, out.length);
  }
  // A plain Uint8Array view as the source: V8 copies from a Node Buffer much more slowly.
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return out;
}

/** int4/uint4: two elements per byte, the first in the low nibble. */
function unpackInt4(bytes: Uint8Array, count: number, signed: boolean): TensorData {
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const byte = bytes[i >> 1]!;
    const nibble = i & 1 ? byte >> 4 : byte & 0xf;
    out[i] = signed && nibble & 0x8 ? nibble - 16 : nibble;
  }
  return out;
}

/** The inverse of unpackInt4 (values are masked to 4 bits). */
export function packInt4(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 2));
  for (let i = 0; i < data.length; i++) out[i >> 1]! |= (data[i]! & 0xf) << (i & 1 ? 4 : 0);
  return out;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Decode the typed repeated fields of a TensorProto (everything but raw_data and external
 * data). Which field holds which dtype follows the TensorProto comments of the ONNX spec.
 */
export function decodeTypedFields(t: DType, count: number, p: TensorProtoMsg): TensorData {
  const n = storageLength(t, count);
  const check = (have: number, field: string): void => {
    if (have !== n) throw new TensorDataError(`${field} has ${have} values but the ${t} tensor needs ${n}`);
  };
  switch (t) {
    case 'float32':
    case 'complex64': {
      const src = p.floatData ?? [];
      check(src.length, 'float_data');
      return Float32Array.from(src);
    }
    case 'float64':
    case 'complex128': {
      const src = p.doubleData ?? [];
      check(src.length, 'double_data');
      return Float64Array.from(src);
    }
    case 'int64': {
      const src = p.int64Data ?? [];
      check(src.length, 'int64_data');
      return BigInt64Array.from(src, (v) => int64ToBigInt(v));
    }
    case 'uint64': {
      const src = p.uint64Data ?? [];
      check(src.length, 'uint64_data');
      return BigUint64Array.from(src, (v) => BigInt.asUintN(64, int64ToBigInt(v, true)));
    }
    case 'uint32': {
      const src = p.uint64Data ?? [];
      check(src.length, 'uint64_data');
      return Uint32Array.from(src, (v) => Number(BigInt.asUintN(32, int64ToBigInt(v, true))));
    }
    case 'string': {
      const src = p.stringData ?? [];
      check(src.length, 'string_data');
      return src.map((b) => utf8.decode(b));
    }
    case 'int4':
    case 'uint4': {
      // Packed like raw_data, one byte (two elements) per int32.
      const src = p.int32Data ?? [];
      const bytes = Uint8Array.from(src, (v) => v & 0xff);
      if (bytes.length !== Math.ceil(count / 2)) {
        throw new TensorDataError(`int32_data has ${src.length} values but ${count} packed ${t} elements need ${Math.ceil(count / 2)}`);
      }
      return unpackInt4(bytes, count, t === 'int4');
    }
    default: {
      // int32, int16, int8, uint16, uint8, bool, and the bit patterns of float16, bfloat16 and
      // the float8 kinds: one element per int32 value (typed-array stores truncate as needed).
      const src = p.int32Data ?? [];
      check(src.length, 'int32_data');
      const out = allocData(t, n) as TypedArray;
      (out as Int32Array).set(src);
      if (t === 'bool') for (let i = 0; i < n; i++) out[i] = out[i] ? 1 : 0;
      return out;
    }
  }
}

/** Whether any typed field (not raw_data) holds values. */
export function hasTypedFields(p: TensorProtoMsg): boolean {
  return Boolean(
    p.floatData?.length || p.doubleData?.length || p.int32Data?.length || p.int64Data?.length ||
      p.uint64Data?.length || p.stringData?.length,
  );
}

/** The raw little-endian bytes of a tensor's storage (a view, no copy, except int4 packing). */
export function encodeRaw(t: DType, data: TensorData): Uint8Array {
  if (t === 'string') throw new TensorDataError('string tensors have no raw form');
  if (t === 'int4' || t === 'uint4') return packInt4(data as Int8Array);
  const a = data as TypedArray;
  if (t === 'bool') {
    const u = a as Uint8Array;
    // Normalise to 0/1 only if needed, so the common case stays a view.
    return u.every((v) => v <= 1) ? new Uint8Array(u.buffer, u.byteOffset, u.byteLength) : Uint8Array.from(u, (v) => (v ? 1 : 0));
  }
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

// This module assumes a little-endian host (x86, ARM): raw_data is little-endian and is copied
// byte for byte. A big-endian host would need byte swapping here.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('sparsec frontend: big-endian hosts are not supported');
}
