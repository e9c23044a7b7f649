// Reductions (opset-18 form: axes is the optional second input) and ArgMax/ArgMin.
//
// Every reduction walks the input once in storage order and adds each element into the output
// slot a broadcast index map assigns it (the keepdims output shape broadcast back to the input
// shape), so any set of axes costs the same simple loop.

import type { Dim } from '../../graph.js';
import type { Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { indexMap } from '../broadcast.js';
import { computeData, familyOf, fromFloats, isBigArray, unsupportedDtype } from '../numeric.js';
import { constInts, normalizeAxis, unsupportedCase } from '../util.js';

interface Reduction {
  readonly op: Op;
  readonly init: number;
  /** Fold one element into an accumulator. */
  step(acc: number, x: number): number;
  /** Turn an accumulator into the result, given how many elements it folded. */
  finish?(acc: number, count: number): number;
  /** Exact int64 form: [init, step]. Absent: int64 input is unsupported. */
  readonly big?: readonly [bigint, (acc: bigint, x: bigint) => bigint];
  /** Whether ints are allowed at all. */
  readonly ints: boolean;
}

const maxStep = (a: number, x: number) => (x > a || x !== x ? x : a);
const minStep = (a: number, x: number) => (x < a || x !== x ? x : a);

const reductions: Reduction[] = [
  { op: Op.ReduceSum, init: 0, step: (a, x) => a + x, big: [0n, (a, x) => a + x], ints: true },
  { op: Op.ReduceMean, init: 0, step: (a, x) => a + x, finish: (a, n) => a / n, ints: true },
  { op: Op.ReduceProd, init: 1, step: (a, x) => a * x, big: [1n, (a, x) => a * x], ints: true },
  { op: Op.ReduceMax, init: -Infinity, step: maxStep, big: [-(2n ** 63n), (a, x) => (x > a ? x : a)], ints: true },
  { op: Op.ReduceMin, init: Infinity, step: minStep, big: [2n ** 64n - 1n, (a, x) => (x < a ? x : a)], ints: true },
  { op: Op.ReduceSumSquare, init: 0, step: (a, x) => a + x * x, big: [0n, (a, x) => a + x * x], ints: true },
  { op: Op.ReduceL1, init: 0, step: (a, x) => a + Math.abs(x), big: [0n, (a, x) => a + (x < 0n ? -x : x)], ints: true },
  { op: Op.ReduceL2, init: 0, step: (a, x) => a + x * x, finish: (a) => Math.sqrt(a), ints: true },
  { op: Op.ReduceLogSum, init: 0, step: (a, x) => a + x, finish: (a) => Math.log(a), ints: false },
  // LogSumExp is computed in two passes (see logSumExp) to stay finite for large inputs.
  { op: Op.ReduceLogSumExp, init: 0, step: (a, x) => a + x, ints: false },
];

/** The axes a reduction node reduces, normalized and sorted; undefined = unknown yet. */
function reducedAxes(node: Node, rank: number, axesInput: TypeInfo | Tensor | undefined): number[] | 'noop' | undefined {
  const given = axesInput instanceof Tensor ? axesInput.toNumbers() : axesInput ? constInts(axesInput) : [];
  if (given === undefined) return undefined;
  if (given.length === 0) {
    if (node.attrInt('noop_with_empty_axes', 0) !== 0) return 'noop';
    return Array.from({ length: rank }, (_, i) => i);
  }
  return [...new Set(given.map((a) => normalizeAxis(a, rank, node)))].sort((a, b) => a - b);
}

function reducedShape<D extends Dim>(shape: readonly D[], axes: readonly number[], keepdims: boolean): (D | 1)[] {
  const out: (D | 1)[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduceDef(r: Reduction): OpDef {
  return {
    op: r.op,
    infer(node, [x, axesIn]) {
      const shape = x?.shape;
      if (!shape) return [{ dtype: x?.dtype }];
      const axes = reducedAxes(node, shape.length, axesIn);
      if (axes === undefined) return [{ dtype: x?.dtype }];
      if (axes === 'noop') return [{ dtype: x?.dtype, shape }];
      return [{ dtype: x?.dtype, shape: reducedShape(shape, axes, node.attrInt('keepdims', 1) !== 0) }];
    },
    run(node, [x, axesIn]) {
      const family = familyOf(x!.dtype);
      if (family !== 'float' && !(r.ints && (family === 'int' || family === 'bigint'))) unsupportedDtype(node, x!.dtype);
      const axes = reducedAxes(node, x!.rank, axesIn)!;
      if (axes === 'noop') return [x!];
      const keptShape = reducedShape(x!.shape, axes, true);
      const outShape = reducedShape(x!.shape, axes, node.attrInt('keepdims', 1) !== 0);
      const count = sizeOf(x!.shape) / Math.max(1, sizeOf(keptShape));
      const slots = indexMap(keptShape, x!.shape);
      const data = computeData(x!);
      if (isBigArray(data)) {
        if (!r.big) unsupportedCase(node, `dtype ${x!.dtype}`);
        const [init, step] = r.big;
        const acc = new Array<bigint>(sizeOf(keptShape)).fill(x!.dtype === 'uint64' && r.op === Op.ReduceMax ? 0n : init);
        for (let i = 0; i < data.length; i++) acc[slots[i]!] = step(acc[slots[i]!]!, data[i]!);
        const out = Tensor.zeros(x!.dtype, outShape);
        acc.forEach((v, i) => out.set(i, v));
        return [out];
      }
      const acc = r.op === Op.ReduceLogSumExp ? logSumExp(data, slots, sizeOf(keptShape)) : fold(r, data, slots, sizeOf(keptShape), count);
      return [fromFloats(x!.dtype, outShape, acc)];
    },
  };
}

function fold(r: Reduction, data: ArrayLike<number>, slots: Int32Array, n: number, count: number): Float64Array {
  const acc = new Float64Array(n).fill(r.init);
  const step = r.step;
  for (let i = 0; i < data.length; i++) {
    const s = slots[i]!;
    acc[s] = step(acc[s]!, data[i]!);
  }
  if (r.finish) for (let i = 0; i < n; i++) acc[i] = r.finish(acc[i]!, count);
  return acc;
}

/** log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the max, so exp never overflows. */
function logSumExp(data: ArrayLike<number>, slots: Int32Array, n: number): Float64Array {
  const max = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < data.length; i++) max[slots[i]!] = maxStep(max[slots[i]!]!, data[i]!);
  const sum = new Float64Array(n);
  for (let i = 0; i < data.length; i++) {
    const m = max[slots[i]!]!;
    sum[slots[i]!] += Number.isFinite(m) ? Math.exp(data[i]! - m) : data[i] === m ? 1 : 0;
  }
  for (let i = 0; i < n; i++) sum[i] = Number.isFinite(max[i]!) ? max[i]! + Math.log(sum[i]!) : max[i]!;
  return sum;
}

/** ArgMax/ArgMin along one axis; ties go to the first index unless select_last_index. */
function argDef(op: Op, better: (a: number, b: number) => boolean): OpDef {
  return {
    op,
    infer(node, [x]) {
      const shape = x?.shape;
      if (!shape) return [{ dtype: 'int64' }];
      const axis = normalizeAxis(node.attrInt('axis', 0), shape.length, node);
      return [{ dtype: 'int64', shape: reducedShape(shape, [axis], node.attrInt('keepdims', 1) !== 0) }];
    },
    run(node, [x]) {
      const family = familyOf(x!.dtype);
      if (family !== 'float' && family !== 'int' && family !== 'bigint') unsupportedDtype(node, x!.dtype);
      const axis = normalizeAxis(node.attrInt('axis', 0), x!.rank, node);
      const last = node.attrInt('select_last_index', 0) !== 0;
      const len = x!.shape[axis]!;
      const inner = sizeOf(x!.shape.slice(axis + 1));
      const outer = sizeOf(x!.shape.slice(0, axis));
      const raw = computeData(x!);
      const data = isBigArray(raw) ? Float64Array.from(raw, Number) : raw;
      const out = new BigInt64Array(outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * len * inner + i;
          let best = 0;
          let bv = data[base]!;
          for (let k = 1; k < len; k++) {
            const v = data[base + k * inner]!;
            if (better(v, bv) || (last && v === bv)) {
              best = k;
              bv = v;
            }
          }
          out[o * inner + i] = BigInt(best);
        }
      }
      return [new Tensor('int64', reducedShape(x!.shape, [axis], node.attrInt('keepdims', 1) !== 0), out)];
    },
  };
}

export const reduceDefs: OpDef[] = [
  ...reductions.map(reduceDef),
  argDef(Op.ArgMax, (a, b) => a > b),
  argDef(Op.ArgMin, (a, b) => a < b),
];
