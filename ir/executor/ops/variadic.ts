// Elementwise ops over any number of broadcast inputs: Max, Min, Sum, Mean (folded pairwise),
// Where (select) and Clip (bounds given as optional scalar inputs).

import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { accessFor, at, broadcastConcrete } from '../broadcast.js';
import { computeAlloc, computeData, familyOf, fromCompute, isBigArray, unsupportedDtype } from '../numeric.js';
import { broadcastShapes, commonDtype, shapeMismatch } from '../util.js';
import { binaryTensors } from './binary.js';

function foldDef(op: Op, pairOp: Op, floatOnly: boolean, divideByCount = false): OpDef {
  return {
    op,
    infer(node, inputs) {
      const dtype = commonDtype(node, inputs);
      const shapes = inputs.map((t) => t?.shape);
      const known = shapes.every((s) => s !== undefined);
      return [{ dtype, shape: known && shapes.length > 0 ? broadcastShapes(shapes as NonNullable<(typeof shapes)[0]>[], node) : undefined }];
    },
    run(node, inputs) {
      const xs = inputs.filter((t): t is Tensor => t !== undefined);
      if (xs.length === 0) shapeMismatch(node, `${op} needs at least one input`);
      const family = familyOf(xs[0]!.dtype);
      if (floatOnly ? family !== 'float' : !['float', 'int', 'bigint'].includes(family)) unsupportedDtype(node, xs[0]!.dtype);
      // Fold in the compute domain (float32 for float16) so rounding happens once, at the end.
      const dtype = xs[0]!.dtype;
      const wide = (t: Tensor) => (dtype === 'float16' || dtype === 'bfloat16' ? new Tensor('float32', t.shape, computeData(t)) : t);
      let acc = wide(xs[0]!);
      for (let i = 1; i < xs.length; i++) acc = binaryTensors(node, pairOp, acc, wide(xs[i]!));
      if (xs.length === 1) acc = new Tensor(acc.dtype, acc.shape, acc.data.slice());
      if (divideByCount) acc = binaryTensors(node, Op.Div, acc, Tensor.scalar(acc.dtype, xs.length));
      return [acc.dtype === dtype ? acc : fromCompute(dtype, acc.shape, computeData(acc))];
    },
  };
}

/** Where(cond, X, Y): X where cond is true, else Y, all three broadcast. */
const whereDef: OpDef = {
  op: Op.Where,
  infer(node, inputs) {
    const dtype = commonDtype(node, inputs, [1, 2]);
    const shapes = inputs.map((t) => t?.shape);
    return [{ dtype, shape: shapes.every((s) => s !== undefined) ? broadcastShapes(shapes as NonNullable<(typeof shapes)[0]>[], node) : undefined }];
  },
  run(node, [c, x, y]) {
    const outShape = broadcastConcrete([c!.shape, x!.shape, y!.shape], node);
    const n = sizeOf(outShape);
    const [ac, ax, ay] = [c!, x!, y!].map((t) => accessFor(t.shape, outShape));
    const cond = c!.data as Uint8Array;
    // Raw storage is copied as is: selecting needs no arithmetic, so any dtype works.
    const xd = x!.data as unknown as { [i: number]: unknown };
    const yd = y!.data as unknown as { [i: number]: unknown };
    const out = Tensor.zeros(x!.dtype, outShape);
    const od = out.data as unknown as { [i: number]: unknown };
    for (let i = 0; i < n; i++) od[i] = cond[at(ac!, i)] ? xd[at(ax!, i)] : yd[at(ay!, i)];
    return [out];
  },
};

/** Clip(x, min?, max?): bounds are scalars; an absent bound does not clip. */
const clipDef: OpDef = {
  op: Op.Clip,
  infer: (node, inputs) => [{ dtype: commonDtype(node, inputs), shape: inputs[0]?.shape }],
  run(node, [x, lo, hi]) {
    const family = familyOf(x!.dtype);
    if (!['float', 'int', 'bigint'].includes(family)) unsupportedDtype(node, x!.dtype);
    for (const b of [lo, hi]) if (b && b.size !== 1) shapeMismatch(node, `min and max must be scalars, got shape [${b.shape.join(',')}]`);
    const src = computeData(x!);
    const out = computeAlloc(x!.dtype, src.length);
    if (isBigArray(src)) {
      const l = lo ? (computeData(lo)[0] as bigint) : undefined;
      const h = hi ? (computeData(hi)[0] as bigint) : undefined;
      const o = out as BigInt64Array;
      for (let i = 0; i < src.length; i++) {
        let v = src[i]!;
        if (l !== undefined && v < l) v = l;
        if (h !== undefined && v > h) v = h;
        o[i] = v;
      }
    } else {
      const l = lo ? (computeData(lo)[0] as number) : -Infinity;
      const h = hi ? (computeData(hi)[0] as number) : Infinity;
      const o = out as Float64Array;
      // min(max(x, lo), hi): when lo > hi every element becomes hi, as numpy.clip does.
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        o[i] = v !== v ? v : Math.min(Math.max(v, l), h);
      }
    }
    return [fromCompute(x!.dtype, x!.shape, out)];
  },
};

export const variadicDefs: OpDef[] = [
  foldDef(Op.Max, Op.Max, false),
  foldDef(Op.Min, Op.Min, false),
  foldDef(Op.Sum, Op.Add, true),
  foldDef(Op.Mean, Op.Add, true, true),
  whereDef,
  clipDef,
];
