// Checks shared by the canonicalization rules: reduction axes, casts, constant broadcasting.

import type { Attr, Dim, Node, Shape, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor, sizeOf, stridesOf } from '../../ir/tensor.js';
import { constant, oneOf, op, scalar, type Pat } from '../pattern.js';

export const intAttr = (value: number): Attr => ({ kind: 'int', value });
export const floatAttr = (value: number): Attr => ({ kind: 'float', value });
export const stringAttr = (value: string): Attr => ({ kind: 'string', value });

/** 1/p written as Reciprocal(p) or Div(1, p) (torch exports rsqrt as the latter). */
export function reciprocal(p: Pat): Pat {
  return oneOf(op(Op.Reciprocal, [p]), op(Op.Div, [scalar(1), p]));
}

/** x / d written as Div(x, d) or Mul(x, 1/d). */
export function divide(x: Pat, d: Pat): Pat {
  return oneOf(op(Op.Div, [x, d]), op(Op.Mul, [x, reciprocal(d)], { commutative: true }));
}

/** x^2 written as Pow(x, 2) or Mul(x, x). */
export function square(x: Pat): Pat {
  return oneOf(op(Op.Pow, [x, scalar(2)]), op(Op.Mul, [x, x]));
}

/** ReduceMean over constant axes, keeping dims (as normalizations need). */
export function reduceMean(x: Pat, name: string): Pat {
  return op(Op.ReduceMean, [x, constant(`${name}Axes`)], { name, where: (n) => n.attrInt('keepdims', 1) === 1 });
}

/** Sqrt(stat + eps) with eps a one-element constant: the denominator of LayerNorm and RMSNorm. */
export function sqrtPlusEpsilon(stat: Pat): Pat {
  return op(Op.Sqrt, [op(Op.Add, [stat, constant('eps', (t) => t.size === 1)], { commutative: true })]);
}

/**
 * The tail of a decomposed norm: `normalized`, optionally cast back to the input's dtype
 * (node `castOut`), then optionally multiplied by a constant scale bound as `scaleName`.
 */
export function castBackAndScale(normalized: Pat, scaleName: string): Pat {
  const castBack = oneOf(op(Op.Cast, [normalized], { name: 'castOut' }), normalized);
  return oneOf(op(Op.Mul, [castBack, constant(scaleName)], { commutative: true }), castBack);
}

/**
 * The first axis, negative, when `axes` are the trailing axes of a tensor of rank `rank`
 * (e.g. [-1], [2, 3] of rank 4); undefined otherwise. Positive axes need a known rank.
 */
export function trailingAxis(axes: Tensor, rank: number | undefined): number | undefined {
  const raw = axes.toNumbers();
  if (raw.length === 0) return undefined;
  let neg: number[];
  if (rank === undefined) {
    if (raw.some((a) => a >= 0)) return undefined;
    neg = raw;
  } else {
    neg = raw.map((a) => (a >= 0 ? a - rank : a));
    if (neg.some((a) => a < -rank)) return undefined;
  }
  neg.sort((a, b) => a - b);
  if (neg[neg.length - 1] !== -1) return undefined;
  for (let i = 1; i < neg.length; i++) if (neg[i] !== neg[i - 1]! + 1) return undefined;
  return neg[0];
}

/** Whether a Cast node changes the dtype (unknown dtypes count as a change). */
export function isRealCast(cast: Node): boolean {
  const from = cast.inputs[0]?.dtype;
  const to = cast.outputs[0]!.dtype;
  return from === undefined || to === undefined || from !== to;
}

/** The trailing dims from `axis` (negative) when all are static. */
export function staticTrailingDims(shape: Shape | undefined, axis: number): number[] | undefined {
  if (!shape || shape.length < -axis) return undefined;
  const dims: Dim[] = shape.slice(shape.length + axis);
  return dims.every((d): d is number => typeof d === 'number') ? dims : undefined;
}

/**
 * `t` broadcast to exactly `shape` when it broadcasts to it unidirectionally (leading 1s
 * dropped), else undefined. Used to give norm scales and biases their canonical shape.
 */
export function broadcastConstant(t: Tensor, shape: readonly number[], dtype = t.dtype): Tensor | undefined {
  const src = [...t.shape];
  while (src.length > shape.length && src[0] === 1) src.shift();
  if (src.length > shape.length) return undefined;
  const aligned = [...new Array<number>(shape.length - src.length).fill(1), ...src];
  if (aligned.some((d, i) => d !== 1 && d !== shape[i])) return undefined;
  const out = Tensor.zeros(dtype, shape);
  const srcStrides = stridesOf(aligned);
  const outStrides = stridesOf(shape);
  for (let i = 0; i < sizeOf(shape); i++) {
    let j = 0;
    for (let k = 0; k < shape.length; k++) {
      if (aligned[k] !== 1) j += Math.floor(i / outStrides[k]!) % shape[k]! * srcStrides[k]!;
    }
    out.set(i, t.get(j));
  }
  return out;
}

/** A constant filled with one value. */
export function filled(dtype: Tensor['dtype'], shape: readonly number[], value: number): Tensor {
  const t = Tensor.zeros(dtype, shape);
  for (let i = 0; i < t.size; i++) t.set(i, value);
  return t;
}

/** The one element of a size-1 constant. */
export function scalarOf(v: Value | undefined): number | undefined {
  return v?.const && v.const.size === 1 ? v.const.get(0) : undefined;
}

/** Whether every use of `v` is by a node of `nodes`. */
export function usedOnlyBy(v: Value, nodes: readonly Node[]): boolean {
  return !v.isGraphOutput && v.uses.every((u) => nodes.includes(u.node));
}
