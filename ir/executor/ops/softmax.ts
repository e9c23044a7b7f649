// Ops along one axis: Softmax, LogSoftmax, Hardmax (opset-13 single-axis form) and CumSum.
// Each walks the input as [outer, len, inner] with the axis in the middle.

import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { computeAlloc, computeData, familyOf, floatAlloc, floatData, fromCompute, fromFloats, isBigArray, unsupportedDtype } from '../numeric.js';
import { normalizeAxis, sameAs, shapeMismatch } from '../util.js';

interface Lanes {
  readonly outer: number;
  readonly len: number;
  readonly inner: number;
}

function lanes(shape: readonly number[], axis: number): Lanes {
  return { outer: sizeOf(shape.slice(0, axis)), len: shape[axis]!, inner: sizeOf(shape.slice(axis + 1)) };
}

/** Call f(base, stride) for every lane along the axis: elements base + k * stride, k < len. */
function forEachLane(l: Lanes, f: (base: number, stride: number) => void): void {
  for (let o = 0; o < l.outer; o++) for (let i = 0; i < l.inner; i++) f(o * l.len * l.inner + i, l.inner);
}

type Mode = 'softmax' | 'log' | 'hard';

function softmaxDef(op: Op, mode: Mode): OpDef {
  return {
    op,
    infer: (_node, inputs) => [sameAs(inputs)],
    run(node, [x]) {
      if (familyOf(x!.dtype) !== 'float') unsupportedDtype(node, x!.dtype);
      const axis = normalizeAxis(node.attrInt('axis', -1), x!.rank, node);
      const l = lanes(x!.shape, axis);
      const xd = floatData(x!);
      const y = floatAlloc(x!.dtype, x!.size);
      forEachLane(l, (base, stride) => {
        let max = -Infinity;
        let arg = 0;
        for (let k = 0; k < l.len; k++) {
          const v = xd[base + k * stride]!;
          if (v > max) [max, arg] = [v, k];
        }
        if (mode === 'hard') {
          for (let k = 0; k < l.len; k++) y[base + k * stride] = k === arg ? 1 : 0;
          return;
        }
        let sum = 0;
        for (let k = 0; k < l.len; k++) sum += Math.exp(xd[base + k * stride]! - max);
        const logSum = Math.log(sum);
        for (let k = 0; k < l.len; k++) {
          const shifted = xd[base + k * stride]! - max;
          y[base + k * stride] = mode === 'log' ? shifted - logSum : Math.exp(shifted) / sum;
        }
      });
      return [fromFloats(x!.dtype, x!.shape, y)];
    },
  };
}

function cumsumAxis(node: Node, axis: Tensor | undefined, rank: number): number {
  if (!axis || axis.size !== 1) shapeMismatch(node, 'CumSum axis must be a single integer');
  return normalizeAxis(axis.get(0), rank, node);
}

const cumsumDef: OpDef = {
  op: Op.CumSum,
  infer: (_node, inputs) => [sameAs(inputs)],
  run(node, [x, axisT]) {
    const family = familyOf(x!.dtype);
    if (family !== 'float' && family !== 'int' && family !== 'bigint') unsupportedDtype(node, x!.dtype);
    const l = lanes(x!.shape, cumsumAxis(node, axisT, x!.rank));
    const exclusive = node.attrInt('exclusive', 0) !== 0;
    const reverse = node.attrInt('reverse', 0) !== 0;
    const src = computeData(x!);
    const out = computeAlloc(x!.dtype, x!.size);
    const big = isBigArray(src);
    forEachLane(l, (base, stride) => {
      let acc: number | bigint = big ? 0n : 0;
      for (let step = 0; step < l.len; step++) {
        const k = reverse ? l.len - 1 - step : step;
        const at = base + k * stride;
        const v = src[at]!;
        if (exclusive) {
          out[at] = acc as never;
          acc = (acc as number) + (v as number);
        } else {
          acc = (acc as number) + (v as number);
          out[at] = acc as never;
        }
      }
    });
    return [fromCompute(x!.dtype, x!.shape, out)];
  },
};

export const softmaxDefs: OpDef[] = [
  softmaxDef(Op.Softmax, 'softmax'),
  softmaxDef(Op.LogSoftmax, 'log'),
  softmaxDef(Op.Hardmax, 'hard'),
  cumsumDef,
];
