import { describe, expect, test } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import type { DType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { codeFromDType, dtypeFromCode, packInt4 } from './dtype-codes.js';
import { DataTypeCode as C, TensorProto, bigIntToInt64, type TensorProtoMsg } from './schema.js';
import { decodeTensorProto, encodeTensorProto } from './tensor-proto.js';

const encode = (msg: TensorProtoMsg): Uint8Array => TensorProto.encode({ name: 't', ...msg }).finish();
const decode = (msg: TensorProtoMsg): Tensor => decodeTensorProto(encode(msg)).tensor;
const le = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('dtype codes', () => {
  test('every IR dtype has a code and maps back', () => {
    const all: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64',
      'uint64', 'bool', 'string', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'int4', 'uint4', 'complex64', 'complex128'];
    for (const t of all) expect(dtypeFromCode(codeFromDType(t))).toBe(t);
    expect(codeFromDType('float8e4m3fn')).toBe(17);
    expect(codeFromDType('float8e5m2fnuz')).toBe(20);
    expect(codeFromDType('uint4')).toBe(21);
    expect(codeFromDType('int4')).toBe(22);
    expect(dtypeFromCode(0)).toBeUndefined();
  });
});

describe('TensorProto storage forms', () => {
  test('float32 from float_data and from raw_data', () => {
    expect(Array.from(decode({ dataType: C.FLOAT, dims: [2], floatData: [1.5, -2] }).data as Float32Array)).toEqual([1.5, -2]);
    const raw = decode({ dataType: C.FLOAT, dims: [3], rawData: le(new Float32Array([1, 2, 3])) });
    expect(raw.data).toBeInstanceOf(Float32Array);
    expect(Array.from(raw.data as Float32Array)).toEqual([1, 2, 3]);
  });

  test('raw_data at an unaligned offset is copied into aligned storage', () => {
    const bytes = new Uint8Array(13);
    bytes.set(le(new Float32Array([7, 8, 9])), 1);
    const t = decode({ dataType: C.FLOAT, dims: [3], rawData: bytes.subarray(1) });
    expect(Array.from(t.data as Float32Array)).toEqual([7, 8, 9]);
  });

  test('float64 from double_data and raw', () => {
    expect(Array.from(decode({ dataType: C.DOUBLE, dims: [2], doubleData: [0.1, 1e300] }).data as Float64Array)).toEqual([0.1, 1e300]);
    expect(Array.from(decode({ dataType: C.DOUBLE, dims: [1], rawData: le(new Float64Array([Math.PI])) }).data as Float64Array)).toEqual([Math.PI]);
  });

  test.each([
    ['int8', C.INT8, [-128, 0, 127]],
    ['uint8', C.UINT8, [0, 200, 255]],
    ['int16', C.INT16, [-32768, 5, 32767]],
    ['uint16', C.UINT16, [0, 40000, 65535]],
    ['int32', C.INT32, [-2147483648, 1, 2147483647]],
    ['bool', C.BOOL, [1, 0, 1]],
  ] as const)('%s from int32_data', (dtype, code, values) => {
    const t = decode({ dataType: code, dims: [3], int32Data: [...values] });
    expect(t.dtype).toBe(dtype);
    expect(Array.from(t.data as Int32Array)).toEqual(values);
  });

  test.each([
    ['int8', C.INT8, new Int8Array([-3, 4])],
    ['uint16', C.UINT16, new Uint16Array([1, 65535])],
    ['int32', C.INT32, new Int32Array([-1, 99])],
    ['uint32', C.UINT32, new Uint32Array([4294967295, 3])],
    ['float16', C.FLOAT16, new Uint16Array([0x3c00, 0xc000])],
    ['bfloat16', C.BFLOAT16, new Uint16Array([0x3f80, 0x4000])],
  ] as const)('%s from raw_data', (dtype, code, values) => {
    const t = decode({ dataType: code, dims: [2], rawData: le(values) });
    expect(t.dtype).toBe(dtype);
    expect(Array.from(t.data as Uint8Array)).toEqual(Array.from(values));
  });

  test('float16 and bfloat16 bits from int32_data decode to numbers', () => {
    const h = decode({ dataType: C.FLOAT16, dims: [2], int32Data: [0x3c00, 0xc000] });
    expect(h.toNumbers()).toEqual([1, -2]);
    const b = decode({ dataType: C.BFLOAT16, dims: [2], int32Data: [0x3f80, 0xbf00] });
    expect(b.toNumbers()).toEqual([1, -0.5]);
  });

  test.each([
    ['float8e4m3fn', C.FLOAT8E4M3FN],
    ['float8e4m3fnuz', C.FLOAT8E4M3FNUZ],
    ['float8e5m2', C.FLOAT8E5M2],
    ['float8e5m2fnuz', C.FLOAT8E5M2FNUZ],
  ] as const)('%s bit patterns from int32_data and raw_data', (dtype, code) => {
    const fromInts = decode({ dataType: code, dims: [3], int32Data: [0x38, 0x80, 0xff] });
    const fromRaw = decode({ dataType: code, dims: [3], rawData: new Uint8Array([0x38, 0x80, 0xff]) });
    expect(fromInts.dtype).toBe(dtype);
    expect(Array.from(fromInts.data as Uint8Array)).toEqual([0x38, 0x80, 0xff]);
    expect(Array.from(fromRaw.data as Uint8Array)).toEqual([0x38, 0x80, 0xff]);
  });

  test('int64 from int64_data (including the extremes) and raw', () => {
    const t = decode({ dataType: C.INT64, dims: [3], int64Data: [bigIntToInt64(-1n), bigIntToInt64(9223372036854775807n), bigIntToInt64(-9223372036854775808n)] });
    expect(Array.from(t.data as BigInt64Array)).toEqual([-1n, 9223372036854775807n, -9223372036854775808n]);
    const raw = decode({ dataType: C.INT64, dims: [2], rawData: le(new BigInt64Array([5n, -6n])) });
    expect(Array.from(raw.data as BigInt64Array)).toEqual([5n, -6n]);
  });

  test('uint64 and uint32 from uint64_data', () => {
    const u64 = decode({ dataType: C.UINT64, dims: [2], uint64Data: [bigIntToInt64(18446744073709551615n), 7] });
    expect(Array.from(u64.data as BigUint64Array)).toEqual([18446744073709551615n, 7n]);
    const u32 = decode({ dataType: C.UINT32, dims: [2], uint64Data: [4294967295, 1] });
    expect(Array.from(u32.data as Uint32Array)).toEqual([4294967295, 1]);
  });

  test('strings from string_data', () => {
    const t = decode({ dataType: C.STRING, dims: [2], stringData: [new TextEncoder().encode('héllo'), new Uint8Array()] });
    expect(t.data).toEqual(['héllo', '']);
  });

  test('int4 and uint4 unpack two per byte, low nibble first, from raw_data and int32_data', () => {
    // elements 1, -2, 7, -8, 3 -> nibbles 1, e, 7, 8, 3
    const packed = packInt4([1, -2, 7, -8, 3]);
    expect(Array.from(packed)).toEqual([0xe1, 0x87, 0x03]);
    const i4 = decode({ dataType: C.INT4, dims: [5], rawData: packed });
    expect(Array.from(i4.data as Int8Array)).toEqual([1, -2, 7, -8, 3]);
    const u4 = decode({ dataType: C.UINT4, dims: [5], int32Data: Array.from(packed) });
    expect(Array.from(u4.data as Uint8Array)).toEqual([1, 14, 7, 8, 3]);
  });

  test('complex64 and complex128 keep (re, im) pairs', () => {
    const c64 = decode({ dataType: C.COMPLEX64, dims: [2], floatData: [1, 2, 3, 4] });
    expect(Array.from(c64.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const c128 = decode({ dataType: C.COMPLEX128, dims: [1], doubleData: [0.5, -0.5] });
    expect(Array.from(c128.data as Float64Array)).toEqual([0.5, -0.5]);
  });

  test('empty tensors need no data', () => {
    expect(decode({ dataType: C.FLOAT, dims: [0, 3] }).shape).toEqual([0, 3]);
  });

  test('wrong data sizes and unknown types are BAD_MODEL / UNSUPPORTED_DTYPE', () => {
    const bad = (msg: TensorProtoMsg) => {
      try {
        decode(msg);
      } catch (e) {
        expect(e).toBeInstanceOf(SparsecError);
        return (e as SparsecError).diagnostic;
      }
      throw new Error('expected an error');
    };
    expect(bad({ dataType: C.FLOAT, dims: [3], rawData: new Uint8Array(8) }).code).toBe('BAD_MODEL');
    expect(bad({ dataType: C.FLOAT, dims: [3], floatData: [1] }).text).toMatch(/float_data has 1 values/);
    expect(bad({ dataType: C.FLOAT, dims: [3] }).text).toMatch(/no data/);
    expect(bad({ dataType: 99, dims: [1] }).code).toBe('UNSUPPORTED_DTYPE');
  });

  test('encode -> decode is exact for every dtype', () => {
    const cases: Tensor[] = [
      Tensor.float32([1.25, -0, Infinity]),
      new Tensor('float64', [2], new Float64Array([1e-300, -2])),
      new Tensor('float16', [2], new Uint16Array([0x7e00, 0x3c00])),
      new Tensor('bfloat16', [1], new Uint16Array([0x4049])),
      new Tensor('int8', [2], new Int8Array([-5, 5])),
      new Tensor('uint8', [1], new Uint8Array([250])),
      new Tensor('int16', [1], new Int16Array([-300])),
      new Tensor('uint16', [1], new Uint16Array([65000])),
      new Tensor('int32', [2, 1], new Int32Array([7, -7])),
      new Tensor('uint32', [1], new Uint32Array([4000000000])),
      Tensor.int64([-9223372036854775808n, 9223372036854775807n]),
      new Tensor('uint64', [1], new BigUint64Array([18446744073709551615n])),
      new Tensor('bool', [3], new Uint8Array([1, 0, 1])),
      new Tensor('string', [2], ['a', 'bc']),
      new Tensor('float8e5m2', [1], new Uint8Array([0x3c])),
      new Tensor('int4', [3], new Int8Array([-8, 7, -1])),
      new Tensor('uint4', [2], new Uint8Array([15, 0])),
      new Tensor('complex64', [1], new Float32Array([1, -1])),
      new Tensor('complex128', [1], new Float64Array([2, -2])),
      Tensor.zeros('float32', []),
    ];
    for (const t of cases) {
      const back = decodeTensorProto(encodeTensorProto('x', t));
      expect(back.name).toBe('x');
      expect(back.tensor.dtype).toBe(t.dtype);
      expect(back.tensor.shape).toEqual(t.shape);
      expect(Array.from(back.tensor.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
  });
});
