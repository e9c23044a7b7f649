import {
  allocData,
  bfloat16BitsToNumber,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  type DType,
  type TensorData,
} from './dtype.js';

/** A concrete tensor: every dim is a number. Data is row-major, stored as described in dtype.ts. */
export class Tensor {
  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: TensorData,
  ) {
    const n = sizeOf(shape);
    const expected = dtype === 'complex64' || dtype === 'complex128' ? 2 * n : n;
    if (data.length !== expected) {
      throw new Error(`Tensor data has ${data.length} elements but shape [${shape.join(',')}] needs ${expected}`);
    }
  }

  static zeros(dtype: DType, shape: readonly number[]): Tensor {
    return new Tensor(dtype, shape, allocData(dtype, sizeOf(shape)));
  }

  static scalar(dtype: DType, value: number | bigint | boolean): Tensor {
    const t = Tensor.zeros(dtype, []);
    t.set(0, value);
    return t;
  }

  /** A 1-D int64 tensor, the form ONNX uses for shapes, axes and indices. */
  static int64(values: readonly (number | bigint)[], shape: readonly number[] = [values.length]): Tensor {
    return new Tensor('int64', shape, BigInt64Array.from(values, (v) => BigInt(v)));
  }

  static float32(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Tensor {
    return new Tensor('float32', shape, Float32Array.from(values));
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Element i as a JS number, whatever the storage (float16 bits decoded, bigint narrowed). */
  get(i: number): number {
    const d = this.data;
    const v = d[i]!;
    switch (this.dtype) {
      case 'float16':
        return float16BitsToNumber(v as number);
      case 'bfloat16':
        return bfloat16BitsToNumber(v as number);
      case 'string':
        throw new Error('Tensor.get on a string tensor');
      default:
        return typeof v === 'bigint' ? Number(v) : (v as number);
    }
  }

  /** Store a number into element i, converting to the storage (rounding for float16). */
  set(i: number, value: number | bigint | boolean): void {
    const d = this.data as unknown as { [k: number]: number | bigint };
    switch (this.dtype) {
      case 'float16':
        d[i] = numberToFloat16Bits(Number(value));
        return;
      case 'bfloat16':
        d[i] = numberToBfloat16Bits(Number(value));
        return;
      case 'int64':
      case 'uint64':
        d[i] = typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));
        return;
      case 'bool':
        d[i] = value ? 1 : 0;
        return;
      default:
        d[i] = Number(value);
    }
  }

  /** All elements as JS numbers (int64 narrowed: use for shapes, axes, indices). */
  toNumbers(): number[] {
    const out = new Array<number>(this.size);
    for (let i = 0; i < out.length; i++) out[i] = this.get(i);
    return out;
  }

  /** A float32 copy of a float tensor (decodes float16/bfloat16), or the same array for float32. */
  toFloat32(): Float32Array {
    if (this.dtype === 'float32') return this.data as Float32Array;
    const out = new Float32Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = this.get(i);
    return out;
  }

  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.dtype, shape, this.data);
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
