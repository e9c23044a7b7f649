// Small constant edits the expert passes make: take entries along an axis, and give one node
// input a new constant without touching a constant other nodes share (exporters deduplicate
// constants, so the `[1]` ending one expert's Slice may be the start of the next one's).

import { allocData } from '../../ir/dtype.js';
import type { Node } from '../../ir/graph.js';
import { Tensor, stridesOf } from '../../ir/tensor.js';

/** The entries of `t` at `indices` along `axis` (raw storage copied, any dtype). */
export function takeAlong(t: Tensor, axis: number, indices: readonly number[]): Tensor {
  const ax = axis < 0 ? axis + t.rank : axis;
  const shape = t.shape.slice();
  shape[ax] = indices.length;
  const strides = stridesOf(t.shape);
  const inner = strides[ax]!;
  const outer = t.size / (t.shape[ax]! * inner);
  const out = allocData(t.dtype, shape.reduce((a, b) => a * b, 1));
  const src = t.data as unknown as ArrayLike<number | bigint> & { [i: number]: number | bigint };
  const dst = out as unknown as { [i: number]: number | bigint };
  let o = 0;
  for (let b = 0; b < outer; b++) {
    for (const idx of indices) {
      const base = (b * t.shape[ax]! + idx) * inner;
      for (let i = 0; i < inner; i++) dst[o++] = src[base + i]!;
    }
  }
  return new Tensor(t.dtype, shape, out);
}

/** Point input `index` of `node` at a fresh constant holding `tensor`. */
export function setConstInput(node: Node, index: number, tensor: Tensor): void {
  const old = node.inputs[index];
  const v = node.graph.addConstant(old?.name ?? `${node.name}_in${index}`, tensor);
  node.setInput(index, v);
}

/** A constant input as plain numbers, or undefined when it is not a constant. */
export function constNumbers(node: Node, index: number): number[] | undefined {
  return node.inputs[index]?.const?.toNumbers();
}
