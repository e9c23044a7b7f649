// Element types of tensors. Names follow ONNX's TensorProto.DataType; the numeric ONNX codes
// live in frontend/ (the IR never sees them).

export const DType = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  bfloat16: 'bfloat16',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
  float8e4m3fn: 'float8e4m3fn',
  float8e4m3fnuz: 'float8e4m3fnuz',
  float8e5m2: 'float8e5m2',
  float8e5m2fnuz: 'float8e5m2fnuz',
  int4: 'int4',
  uint4: 'uint4',
  complex64: 'complex64',
  complex128: 'complex128',
} as const;
export type DType = (typeof DType)[keyof typeof DType];

/**
 * In-memory storage of each dtype. float16/bfloat16 and the float8 kinds are kept as their raw
 * bit patterns (so a round trip is bit-exact); arithmetic converts through float32 with the
 * helpers below. int4/uint4 are unpacked to one element per byte. int64/uint64 are BigInt
 * arrays because shape arithmetic relies on exact values such as INT64_MAX in Slice ends.
 */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigIntArray;

/** The typed arrays whose elements are BigInts (int64, uint64). */
export type BigIntArray = BigInt64Array | BigUint64Array;

export type TensorData = TypedArray | string[];

interface DTypeInfo {
  /** Bytes per element in storage (int4/uint4: 1, unpacked). */
  readonly bytes: number;
  readonly isFloat: boolean;
  readonly isInt: boolean;
  readonly isSigned: boolean;
  readonly alloc: (n: number) => TensorData;
}

const info: Record<DType, DTypeInfo> = {
  float32: { bytes: 4, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Float32Array(n) },
  float64: { bytes: 8, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Float64Array(n) },
  float16: { bytes: 2, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Uint16Array(n) },
  bfloat16: { bytes: 2, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Uint16Array(n) },
  int8: { bytes: 1, isFloat: false, isInt: true, isSigned: true, alloc: (n) => new Int8Array(n) },
  uint8: { bytes: 1, isFloat: false, isInt: true, isSigned: false, alloc: (n) => new Uint8Array(n) },
  int16: { bytes: 2, isFloat: false, isInt: true, isSigned: true, alloc: (n) => new Int16Array(n) },
  uint16: { bytes: 2, isFloat: false, isInt: true, isSigned: false, alloc: (n) => new Uint16Array(n) },
  int32: { bytes: 4, isFloat: false, isInt: true, isSigned: true, alloc: (n) => new Int32Array(n) },
  uint32: { bytes: 4, isFloat: false, isInt: true, isSigned: false, alloc: (n) => new Uint32Array(n) },
  int64: { bytes: 8, isFloat: false, isInt: true, isSigned: true, alloc: (n) => new BigInt64Array(n) },
  uint64: { bytes: 8, isFloat: false, isInt: true, isSigned: false, alloc: (n) => new BigUint64Array(n) },
  bool: { bytes: 1, isFloat: false, isInt: false, isSigned: false, alloc: (n) => new Uint8Array(n) },
  string: { bytes: 0, isFloat: false, isInt: false, isSigned: false, alloc: (n) => new Array<string>(n).fill('') },
  float8e4m3fn: { bytes: 1, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Uint8Array(n) },
  float8e4m3fnuz: { bytes: 1, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Uint8Array(n) },
  float8e5m2: { bytes: 1, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Uint8Array(n) },
  float8e5m2fnuz: { bytes: 1, isFloat: true, isInt: false, isSigned: true, alloc: (n) => new Uint8Array(n) },
  int4: { bytes: 1, isFloat: false, isInt: true, isSigned: true, alloc: (n) => new Int8Array(n) },
  uint4: { bytes: 1, isFloat: false, isInt: true, isSigned: false, alloc: (n) => new Uint8Array(n) },
  // Complex values are interleaved (re, im) pairs; no op computes on them yet.
  complex64: { bytes: 8, isFloat: false, isInt: false, isSigned: true, alloc: (n) => new Float32Array(2 * n) },
  complex128: { bytes: 16, isFloat: false, isInt: false, isSigned: true, alloc: (n) => new Float64Array(2 * n) },
};

export const dtypeBytes = (t: DType): number => info[t].bytes;
export const isFloatType = (t: DType): boolean => info[t].isFloat;
export const isIntType = (t: DType): boolean => info[t].isInt;
export const isSignedType = (t: DType): boolean => info[t].isSigned;
export const is64BitInt = (t: DType): boolean => t === 'int64' || t === 'uint64';
/** Float kinds stored as bit patterns that need conversion to compute on. */
export const isBitPatternFloat = (t: DType): boolean =>
  t === 'float16' || t === 'bfloat16' || t.startsWith('float8');
export const allocData = (t: DType, n: number): TensorData => info[t].alloc(n);

// ---- float16 / bfloat16 bit conversions (round to nearest even, as IEEE and ONNX require) ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function numberToFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  // Re-bias from float32 (127) to float16 (15).
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function bfloat16BitsToNumber(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

export function numberToBfloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
