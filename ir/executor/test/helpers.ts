// Helpers for executor tests: run one op on tensors.

import { GraphBuilder, type AttrInput } from '../../builder.js';
import { SparsecError } from '../../diagnostics.js';
import type { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { execute } from '../index.js';

/** Run a single node over the given tensors (undefined = absent optional input). */
export function runOp(op: Op, inputs: readonly (Tensor | undefined)[], attrs: Record<string, AttrInput> = {}, outputs = 1): Tensor[] {
  const b = new GraphBuilder('t');
  const feeds: Record<string, Tensor> = {};
  const vals = inputs.map((t, i) => {
    if (!t) return undefined;
    feeds[`in${i}`] = t;
    return b.input(`in${i}`, t.dtype, t.shape);
  });
  const node = b.node(op, vals, { attrs, outputs });
  b.output(...node.outputs);
  const res = execute(b.graph, feeds);
  return node.outputs.map((v) => res.get(v.name)!);
}

export const run1 = (op: Op, inputs: readonly (Tensor | undefined)[], attrs: Record<string, AttrInput> = {}): Tensor =>
  runOp(op, inputs, attrs)[0]!;

export const f32 = (values: number[], shape?: number[]) => Tensor.float32(values, shape);
export const i64 = (values: (number | bigint)[], shape?: number[]) => Tensor.int64(values, shape);

export function typed(dtype: Tensor['dtype'], values: (number | bigint | boolean)[], shape: number[] = [values.length]): Tensor {
  const t = Tensor.zeros(dtype, shape);
  values.forEach((v, i) => t.set(i, v));
  return t;
}

/** Elements as plain numbers (int64 narrowed), for toEqual. */
export const nums = (t: Tensor) => t.toNumbers();

/** 0, 1, 2, ... n-1 as float32, optionally reshaped. */
export const iota = (n: number, shape?: number[]) => f32(Array.from({ length: n }, (_, i) => i), shape);

/**
 * The diagnostic code `fn` fails with, or undefined when it succeeds. Any other exception becomes
 * a string that names it, so it can never equal an expected code.
 */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SparsecError ? e.diagnostic.code : `not a SparsecError: ${String(e)}`;
  }
  return undefined;
}
