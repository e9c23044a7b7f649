// Elementwise ops of two broadcast inputs: arithmetic, comparisons, logic, bit operations.
// Each op gives a scalar function per dtype family; int64/uint64 compute exactly in BigInt and
// typed-array stores wrap results the way two's-complement hardware does.

import type { DType } from '../../dtype.js';
import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { accessFor, applyBinary, broadcastConcrete } from '../broadcast.js';
import { computeAlloc, computeData, familyOf, fromCompute, unsupportedDtype, type Family } from '../numeric.js';
import { badAttribute, broadcastShapes, commonDtype } from '../util.js';

type NumFn = (a: number, b: number) => number | boolean;
type BigFn = (a: bigint, b: bigint) => bigint | boolean;

interface Kernels {
  float?: NumFn;
  /** Ints of up to 32 bits (and bool, for the logic ops). */
  int?: NumFn;
  big?: BigFn;
  string?: (a: string, b: string) => boolean;
}

interface BinarySpec {
  readonly op: Op;
  /** Comparisons and logic ops produce bool. */
  readonly bool?: boolean;
  make(node: Node, dtype: DType): Kernels;
}

/** Integer division truncating toward zero (C semantics, as ONNX's Div on ints). */
const intDiv = (a: number, b: number) => (b === 0 ? 0 : Math.trunc(a / b));
const bigDiv = (a: bigint, b: bigint) => (b === 0n ? 0n : a / b);

/** Mod whose result takes the divisor's sign (fmod=0, Python's %) or the dividend's (fmod=1). */
function modKernels(fmod: boolean): Kernels {
  const num = (a: number, b: number) => {
    // NaN stores as 0 in integer arrays, numpy's answer for an integer modulo by zero.
    if (b === 0) return NaN;
    const r = a % b;
    return !fmod && r !== 0 && r < 0 !== b < 0 ? r + b : r;
  };
  const big = (a: bigint, b: bigint) => {
    if (b === 0n) return 0n;
    const r = a % b;
    return !fmod && r !== 0n && r < 0n !== b < 0n ? r + b : r;
  };
  return { float: num, int: num, big };
}

/** 32-bit products must wrap exactly; a float64 product loses low bits past 2^53. */
const intMul = (dtype: DType): NumFn => (dtype === 'int32' || dtype === 'uint32' ? Math.imul : (a, b) => a * b);

const same = (f: NumFn, big?: BigFn) => (): Kernels => ({ float: f, int: f, big });

const specs: BinarySpec[] = [
  { op: Op.Add, make: same((a, b) => a + b, (a, b) => a + b) },
  { op: Op.Sub, make: same((a, b) => a - b, (a, b) => a - b) },
  { op: Op.Mul, make: (_n, dt) => ({ float: (a, b) => a * b, int: intMul(dt), big: (a, b) => a * b }) },
  { op: Op.Div, make: () => ({ float: (a, b) => a / b, int: intDiv, big: bigDiv }) },
  { op: Op.Mod, make: (node) => modKernels(node.attrInt('fmod', 0) !== 0) },
  {
    op: Op.PRelu,
    make: () => ({ float: (x, s) => (x < 0 ? x * s : x), int: (x, s) => (x < 0 ? x * s : x), big: (x, s) => (x < 0n ? x * s : x) }),
  },
  { op: Op.BitwiseAnd, make: () => ({ int: (a, b) => a & b, big: (a, b) => a & b }) },
  { op: Op.BitwiseOr, make: () => ({ int: (a, b) => a | b, big: (a, b) => a | b }) },
  { op: Op.BitwiseXor, make: () => ({ int: (a, b) => a ^ b, big: (a, b) => a ^ b }) },
  {
    op: Op.BitShift,
    make(node, dtype) {
      const direction = node.attrString('direction', '');
      if (direction !== 'LEFT' && direction !== 'RIGHT') badAttribute(node, `direction must be LEFT or RIGHT, not '${direction}'`);
      if (dtype.startsWith('int')) unsupportedDtype(node, dtype);
      // JS masks shift counts to 5 bits; shifting a uint32 by 32 or more must give 0.
      if (direction === 'LEFT') return { int: (a, b) => (b >= 32 ? 0 : a << b), big: (a, b) => a << b };
      return { int: (a, b) => (b >= 32 ? 0 : a >>> b), big: (a, b) => a >> b };
    },
  },
  { op: Op.And, bool: true, make: () => ({ int: (a, b) => a !== 0 && b !== 0 }) },
  { op: Op.Or, bool: true, make: () => ({ int: (a, b) => a !== 0 || b !== 0 }) },
  { op: Op.Xor, bool: true, make: () => ({ int: (a, b) => (a !== 0) !== (b !== 0) }) },
  { op: Op.Equal, bool: true, make: () => ({ ...same((a, b) => a === b, (a, b) => a === b)(), string: (a, b) => a === b }) },
  { op: Op.Greater, bool: true, make: same((a, b) => a > b, (a, b) => a > b) },
  { op: Op.GreaterOrEqual, bool: true, make: same((a, b) => a >= b, (a, b) => a >= b) },
  { op: Op.Less, bool: true, make: same((a, b) => a < b, (a, b) => a < b) },
  { op: Op.LessOrEqual, bool: true, make: same((a, b) => a <= b, (a, b) => a <= b) },
];

/** Pick the kernel for a dtype family, or fail naming the node. */
function kernelFor(node: Node, spec: BinarySpec, dtype: DType): NumFn | BigFn | ((a: string, b: string) => boolean) {
  const k = spec.make(node, dtype);
  const family: Family = familyOf(dtype);
  const f =
    family === 'float' ? k.float
    : family === 'int' ? k.int
    : family === 'bigint' ? k.big
    : family === 'bool' ? (spec.op === Op.Equal || spec.bool && !k.float ? k.int : undefined)
    : family === 'string' ? k.string
    : undefined;
  return f ?? unsupportedDtype(node, dtype);
}

function binaryDef(spec: BinarySpec): OpDef {
  return {
    op: spec.op,
    infer(node, inputs) {
      const dtype = commonDtype(node, inputs, [0, 1]);
      const a = inputs[0]?.shape;
      const b = inputs[1]?.shape;
      return [{ dtype: spec.bool ? 'bool' : dtype, shape: a && b ? broadcastShapes([a, b], node) : undefined }];
    },
    run: (node, [a, b]) => [computeBinary(node, spec, a!, b!)],
  };
}

type Indexed<T> = { length: number; [i: number]: T };

function computeBinary(node: Node, spec: BinarySpec, a: Tensor, b: Tensor): Tensor {
  const outShape = broadcastConcrete([a.shape, b.shape], node);
  const outDtype = spec.bool ? 'bool' : a.dtype;
  const f = kernelFor(node, spec, a.dtype) as NumFn;
  const n = sizeOf(outShape);
  const out = computeAlloc(outDtype, n);
  const read = (t: Tensor) => (t.dtype === 'string' ? t.data : computeData(t)) as unknown as Indexed<number>;
  applyBinary(n, read(a), accessFor(a.shape, outShape), read(b), accessFor(b.shape, outShape), out as unknown as Indexed<number | boolean>, f);
  return fromCompute(outDtype, outShape, out);
}

/**
 * Pow(X, Y): the exponent may have another dtype. Int results truncate; int64 ** int64 stays
 * exact in BigInt (a negative exponent gives 1/x^n truncated: 0 unless |x| is 1).
 */
const powDef: OpDef = {
  op: Op.Pow,
  infer(node, inputs) {
    const a = inputs[0]?.shape;
    const b = inputs[1]?.shape;
    return [{ dtype: inputs[0]?.dtype, shape: a && b ? broadcastShapes([a, b], node) : undefined }];
  },
  run(node, [x, y]) {
    const outShape = broadcastConcrete([x!.shape, y!.shape], node);
    const n = sizeOf(outShape);
    const fx = familyOf(x!.dtype);
    const fy = familyOf(y!.dtype);
    if (![fx, fy].every((f) => f === 'float' || f === 'int' || f === 'bigint')) unsupportedDtype(node, fx === 'float' ? y!.dtype : x!.dtype);
    const out = computeAlloc(x!.dtype, n);
    const ix = accessFor(x!.shape, outShape);
    const iy = accessFor(y!.shape, outShape);
    if (fx === 'bigint' && fy === 'bigint') {
      applyBinary(n, computeData(x!) as BigInt64Array, ix, computeData(y!) as BigInt64Array, iy, out as BigInt64Array, bigPow);
    } else {
      const asNumbers = (t: Tensor) => {
        const d = computeData(t);
        return d instanceof BigInt64Array || d instanceof BigUint64Array ? Float64Array.from(d, Number) : d;
      };
      const f = fx === 'float' ? (a: number, b: number) => a ** b : (a: number, b: number) => Math.trunc(a ** b);
      const res = fx === 'bigint' ? new Float64Array(n) : (out as Float64Array);
      applyBinary(n, asNumbers(x!), ix, asNumbers(y!), iy, res, f);
      if (res !== out) (out as BigInt64Array).set(Array.from(res, (v) => BigInt(Number.isFinite(v) ? v : 0)));
    }
    return [fromCompute(x!.dtype, outShape, out)];
  },
};

function bigPow(a: bigint, b: bigint): bigint {
  if (b >= 0n) return a ** b;
  if (a === 1n) return 1n;
  if (a === -1n) return b % 2n === 0n ? 1n : -1n;
  return 0n;
}

export const binaryDefs: OpDef[] = [...specs.map(binaryDef), powDef];

// Max and Min are variadic ops (variadic.ts) that fold pairwise with these kernels. NaN wins,
// as in numpy.maximum.
const foldSpecs: BinarySpec[] = [
  { op: Op.Max, make: same((a, b) => (a > b || a !== a ? a : b), (a, b) => (a > b ? a : b)) },
  { op: Op.Min, make: same((a, b) => (a < b || a !== a ? a : b), (a, b) => (a < b ? a : b)) },
];

const specByOp = new Map([...specs, ...foldSpecs].map((s) => [s.op, s]));

/** Apply a binary op to two tensors (the variadic ops fold their inputs pairwise with this). */
export function binaryTensors(node: Node, op: Op, a: Tensor, b: Tensor): Tensor {
  return computeBinary(node, specByOp.get(op)!, a, b);
}
