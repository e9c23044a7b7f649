// Output comparison with the ONNX backend test's rules (onnx/backend/test/runner):
//   - dtypes must be equal and shapes must be equal;
//   - strings, integers and bools compare exactly;
//   - floats pass when |actual - expected| <= atol + rtol * |expected| (numpy's assert_allclose,
//     rtol 1e-3, atol 1e-7), NaN equals NaN, and an infinity only equals itself.
// float16 and bfloat16 are decoded before comparing; float8 kinds (absent from ONNX 1.12's
// data) compare by bit pattern.

import { isFloatType } from '../../ir/dtype.js';
import type { RuntimeValue } from '../../ir/opdef.js';
import type { Tensor } from '../../ir/tensor.js';

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export const ONNX_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-7 };

export interface Mismatch {
  /** Why the outputs differ, in one line. */
  readonly reason: string;
  /** Largest |actual - expected| over finite float pairs (0 for non-float mismatches). */
  readonly maxAbsError?: number;
  /** How many elements differ. */
  readonly count?: number;
  /** The first differing element: its multi-index and both values. */
  readonly first?: { readonly index: number[]; readonly expected: string; readonly actual: string };
}

/** undefined when `actual` matches `expected`, else what differs. */
export function compareTensors(expected: Tensor, actual: Tensor, tol: Tolerance = ONNX_TOLERANCE): Mismatch | undefined {
  const typeMismatch = compareTypes(expected, actual);
  if (typeMismatch) return typeMismatch;
  const n = expected.size;
  if (expected.dtype === 'complex64' || expected.dtype === 'complex128') {
    return compareElements(expected, actual, 2 * n, (t, i) => (t.data as Float32Array | Float64Array)[i]!, tol);
  }
  if (isFloatType(expected.dtype) && !expected.dtype.startsWith('float8')) return compareElements(expected, actual, n, floatReader(expected), tol);
  return compareExact(expected, actual, n);
}

/** Only dtype and shape (for outputs drawn from a random generator). */
export function compareTypes(expected: Tensor, actual: Tensor): Mismatch | undefined {
  if (expected.dtype !== actual.dtype) return { reason: `dtype ${actual.dtype}, expected ${expected.dtype}` };
  if (!sameShape(expected.shape, actual.shape)) {
    return { reason: `shape [${actual.shape.join(',')}], expected [${expected.shape.join(',')}]` };
  }
  return undefined;
}

/** dtype and shape, and every value 0 or 1 (random Bernoulli draws). */
export function compareZeroOrOne(expected: Tensor, actual: Tensor): Mismatch | undefined {
  const typeMismatch = compareTypes(expected, actual);
  if (typeMismatch) return typeMismatch;
  for (let i = 0; i < actual.size; i++) {
    const v = actual.get(i);
    if (v !== 0 && v !== 1) {
      return { reason: `value ${v} is neither 0 nor 1`, count: 1, first: { index: multiIndex(i, actual.shape), expected: '0 or 1', actual: String(v) } };
    }
  }
  return undefined;
}

function compareElements(
  expected: Tensor,
  actual: Tensor,
  n: number,
  read: (t: Tensor, i: number) => number,
  tol: Tolerance,
): Mismatch | undefined {
  let count = 0;
  let firstAt = -1;
  let maxAbsError = 0;
  for (let i = 0; i < n; i++) {
    const e = read(expected, i);
    const a = read(actual, i);
    if (closeEnough(e, a, tol)) continue;
    count++;
    if (firstAt < 0) firstAt = i;
    const diff = Math.abs(a - e);
    if (Number.isFinite(diff) && diff > maxAbsError) maxAbsError = diff;
  }
  if (count === 0) return undefined;
  const complex = n !== expected.size;
  const elem = complex ? firstAt >> 1 : firstAt;
  return {
    reason: `${count} of ${n} values differ (max abs error ${maxAbsError.toPrecision(3)})`,
    maxAbsError,
    count,
    first: {
      index: multiIndex(elem, expected.shape),
      expected: String(read(expected, firstAt)),
      actual: String(read(actual, firstAt)),
    },
  };
}

export function closeEnough(expected: number, actual: number, tol: Tolerance): boolean {
  if (Number.isNaN(expected) || Number.isNaN(actual)) return Number.isNaN(expected) && Number.isNaN(actual);
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) return expected === actual;
  return Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

function compareExact(expected: Tensor, actual: Tensor, n: number): Mismatch | undefined {
  const e = expected.data;
  const a = actual.data;
  let count = 0;
  let firstAt = -1;
  for (let i = 0; i < n; i++) {
    if (e[i] === a[i]) continue;
    count++;
    if (firstAt < 0) firstAt = i;
  }
  if (count === 0) return undefined;
  return {
    reason: `${count} of ${n} values differ`,
    count,
    first: { index: multiIndex(firstAt, expected.shape), expected: show(e[firstAt]), actual: show(a[firstAt]) },
  };
}

function floatReader(t: Tensor): (t: Tensor, i: number) => number {
  if (t.dtype === 'float32' || t.dtype === 'float64') return (x, i) => (x.data as Float32Array | Float64Array)[i]!;
  return (x, i) => x.get(i);
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function multiIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    idx[d] = size > 0 ? flat % size : 0;
    flat = size > 0 ? Math.floor(flat / size) : 0;
  }
  return idx;
}

/**
 * Compare executor runtime values: a tensor, a sequence of tensors (same length, element by
 * element) or an optional (null when empty). `compareTensor` decides how tensors compare.
 */
export function compareValues(
  expected: RuntimeValue,
  actual: RuntimeValue | undefined,
  compareTensor: (e: Tensor, a: Tensor) => Mismatch | undefined,
): Mismatch | undefined {
  if (actual === undefined) return { reason: 'no value was returned' };
  if (expected === null || actual === null) {
    if (expected === actual) return undefined;
    return { reason: expected === null ? 'expected an empty optional, got a value' : 'got an empty optional' };
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) {
      return { reason: Array.isArray(expected) ? 'expected a sequence, got a tensor' : 'expected a tensor, got a sequence' };
    }
    if (expected.length !== actual.length) return { reason: `sequence of ${actual.length} tensors, expected ${expected.length}` };
    for (let i = 0; i < expected.length; i++) {
      const m = compareTensor(expected[i]!, actual[i]!);
      if (m) return { ...m, reason: `sequence element ${i}: ${m.reason}` };
    }
    return undefined;
  }
  return compareTensor(expected, actual);
}
