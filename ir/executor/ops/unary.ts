// Elementwise ops of one input (activations, math functions, tests like IsNaN). Each op is a
// row of the table below: the dtype families it accepts and a scalar function built once per
// node from its attributes.

import type { DType } from '../../dtype.js';
import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { erf, roundHalfEven, sigmoid, softplus } from '../mathfn.js';
import { computeAlloc, computeData, familyOf, fromCompute, isBigArray, unsupportedDtype, type Family } from '../numeric.js';
import { attrNumber, badAttribute, sameAs } from '../util.js';

interface ScalarFns {
  num: (x: number) => number;
  /** Exact int64 version; without it int64 inputs go through Number (exact to 2^53). */
  big?: (x: bigint) => bigint;
}

interface UnarySpec {
  readonly op: Op;
  readonly accepts: readonly Family[];
  /** Output dtype when it is not the input's (bool for the tests). */
  readonly outDtype?: DType;
  make(node: Node): ScalarFns;
}

const FLOAT: readonly Family[] = ['float'];
const SIGNED_NUMERIC: readonly Family[] = ['float', 'int', 'bigint'];

const fixed = (num: (x: number) => number, big?: (x: bigint) => bigint) => () => ({ num, big });

const specs: UnarySpec[] = [
  { op: Op.Abs, accepts: SIGNED_NUMERIC, make: fixed(Math.abs, (x) => (x < 0n ? -x : x)) },
  { op: Op.Neg, accepts: SIGNED_NUMERIC, make: fixed((x) => -x, (x) => -x) },
  { op: Op.Sign, accepts: SIGNED_NUMERIC, make: fixed(Math.sign, (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n)) },
  { op: Op.Relu, accepts: SIGNED_NUMERIC, make: fixed((x) => (x > 0 ? x : 0), (x) => (x > 0n ? x : 0n)) },
  { op: Op.Ceil, accepts: FLOAT, make: fixed(Math.ceil) },
  { op: Op.Floor, accepts: FLOAT, make: fixed(Math.floor) },
  { op: Op.Round, accepts: FLOAT, make: fixed(roundHalfEven) },
  { op: Op.Sqrt, accepts: FLOAT, make: fixed(Math.sqrt) },
  { op: Op.Exp, accepts: FLOAT, make: fixed(Math.exp) },
  { op: Op.Log, accepts: FLOAT, make: fixed(Math.log) },
  { op: Op.Reciprocal, accepts: FLOAT, make: fixed((x) => 1 / x) },
  { op: Op.Erf, accepts: FLOAT, make: fixed(erf) },
  { op: Op.Sin, accepts: FLOAT, make: fixed(Math.sin) },
  { op: Op.Cos, accepts: FLOAT, make: fixed(Math.cos) },
  { op: Op.Tan, accepts: FLOAT, make: fixed(Math.tan) },
  { op: Op.Asin, accepts: FLOAT, make: fixed(Math.asin) },
  { op: Op.Acos, accepts: FLOAT, make: fixed(Math.acos) },
  { op: Op.Atan, accepts: FLOAT, make: fixed(Math.atan) },
  { op: Op.Sinh, accepts: FLOAT, make: fixed(Math.sinh) },
  { op: Op.Cosh, accepts: FLOAT, make: fixed(Math.cosh) },
  { op: Op.Tanh, accepts: FLOAT, make: fixed(Math.tanh) },
  { op: Op.Asinh, accepts: FLOAT, make: fixed(Math.asinh) },
  { op: Op.Acosh, accepts: FLOAT, make: fixed(Math.acosh) },
  { op: Op.Atanh, accepts: FLOAT, make: fixed(Math.atanh) },
  { op: Op.Sigmoid, accepts: FLOAT, make: fixed(sigmoid) },
  { op: Op.Softplus, accepts: FLOAT, make: fixed(softplus) },
  { op: Op.Softsign, accepts: FLOAT, make: fixed((x) => x / (1 + Math.abs(x))) },
  { op: Op.Mish, accepts: FLOAT, make: fixed((x) => x * Math.tanh(softplus(x))) },
  { op: Op.HardSwish, accepts: FLOAT, make: fixed((x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))) },
  {
    op: Op.Gelu,
    accepts: FLOAT,
    make(node) {
      const approximate = node.attrString('approximate', 'none');
      if (approximate === 'none') return { num: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)) };
      if (approximate === 'tanh') {
        const c = Math.sqrt(2 / Math.PI);
        return { num: (x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x))) };
      }
      return badAttribute(node, `approximate must be 'none' or 'tanh', not '${approximate}'`);
    },
  },
  {
    op: Op.Elu,
    accepts: FLOAT,
    make(node) {
      const alpha = attrNumber(node, 'alpha', 1);
      return { num: (x) => (x < 0 ? alpha * Math.expm1(x) : x) };
    },
  },
  {
    op: Op.Celu,
    accepts: FLOAT,
    make(node) {
      const alpha = attrNumber(node, 'alpha', 1);
      return { num: (x) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha)) };
    },
  },
  {
    op: Op.Selu,
    accepts: FLOAT,
    make(node) {
      const alpha = attrNumber(node, 'alpha', 1.67326319217681884765625);
      const gamma = attrNumber(node, 'gamma', 1.05070102214813232421875);
      return { num: (x) => (x > 0 ? gamma * x : gamma * alpha * Math.expm1(x)) };
    },
  },
  {
    op: Op.LeakyRelu,
    accepts: FLOAT,
    make(node) {
      const alpha = attrNumber(node, 'alpha', 0.01);
      return { num: (x) => (x < 0 ? alpha * x : x) };
    },
  },
  {
    op: Op.HardSigmoid,
    accepts: FLOAT,
    make(node) {
      const alpha = attrNumber(node, 'alpha', 0.2);
      const beta = attrNumber(node, 'beta', 0.5);
      return { num: (x) => Math.max(0, Math.min(1, alpha * x + beta)) };
    },
  },
  {
    op: Op.ThresholdedRelu,
    accepts: FLOAT,
    make(node) {
      const alpha = attrNumber(node, 'alpha', 1);
      return { num: (x) => (x > alpha ? x : 0) };
    },
  },
  {
    op: Op.Shrink,
    accepts: ['float', 'int', 'bigint'],
    make(node) {
      const bias = attrNumber(node, 'bias', 0);
      const lambd = attrNumber(node, 'lambd', 0.5);
      return { num: (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0) };
    },
  },
  { op: Op.IsNaN, accepts: FLOAT, outDtype: 'bool', make: fixed((x) => (Number.isNaN(x) ? 1 : 0)) },
  {
    op: Op.IsInf,
    accepts: FLOAT,
    outDtype: 'bool',
    make(node) {
      const neg = node.attrInt('detect_negative', 1) !== 0;
      const pos = node.attrInt('detect_positive', 1) !== 0;
      return { num: (x) => ((pos && x === Infinity) || (neg && x === -Infinity) ? 1 : 0) };
    },
  },
  { op: Op.Not, accepts: ['bool'], make: fixed((x) => (x ? 0 : 1)) },
  { op: Op.BitwiseNot, accepts: ['int', 'bigint'], make: fixed((x) => ~x, (x) => ~x) },
];

function unaryDef(spec: UnarySpec): OpDef {
  return {
    op: spec.op,
    infer: (_node, inputs) => [{ ...sameAs(inputs), dtype: spec.outDtype ?? inputs[0]?.dtype }],
    run(node, [x]) {
      const family = familyOf(x!.dtype);
      if (!spec.accepts.includes(family)) unsupportedDtype(node, x!.dtype);
      const { num, big } = spec.make(node);
      const src = computeData(x!);
      const outDtype = spec.outDtype ?? x!.dtype;
      const out = computeAlloc(outDtype, src.length);
      const n = src.length;
      if (isBigArray(src)) {
        const o = out as BigInt64Array;
        if (big) for (let i = 0; i < n; i++) o[i] = big(src[i]!);
        else for (let i = 0; i < n; i++) o[i] = BigInt(Math.trunc(num(Number(src[i]!))));
      } else {
        const o = out as Float32Array;
        for (let i = 0; i < n; i++) o[i] = num(src[i]!);
      }
      return [fromCompute(outDtype, x!.shape, out)];
    },
  };
}

export const unaryDefs: OpDef[] = specs.map(unaryDef);
