// What an opset adapter sees and may do: the node in its imported (possibly old) form, and a
// builder that adds constants and helper nodes in front of it. The importer implements the
// builder; keeping the interface here lets the adapters stay free of import bookkeeping.

import type { SparsecError } from '../ir/diagnostics.js';
import type { DType } from '../ir/dtype.js';
import { toInt64, type Attr, type Value } from '../ir/graph.js';
import type { Op } from '../ir/ops.js';
import { Tensor } from '../ir/tensor.js';

/** An ai.onnx node as read from the file, before it becomes an IR node. */
export interface OnnxNodeForm {
  opType: string;
  name: string;
  inputs: (Value | undefined)[];
  attrs: Map<string, Attr>;
  /** Output names, verbatim from the file ('' for an omitted optional output). */
  outputs: string[];
}

export interface UpgradeBuilder {
  /** The ai.onnx opset version the model was written for. */
  readonly opsetVersion: number;
  /** A new constant value. */
  constant(t: Tensor, hint?: string): Value;
  /**
   * Emit a helper node before the node being upgraded. `outputs` is a count (generated names)
   * or final output names from the file. Returns the output values.
   */
  node(op: Op, inputs: readonly (Value | undefined)[], attrs?: Record<string, Attr>, outputs?: number | readonly string[]): Value[];
  /** The rank of a value when already known (from value_info, graph inputs or constants). */
  rank(v: Value | undefined): number | undefined;
  /** A diagnostic naming the node being upgraded. */
  fail(text: string, hint?: string): SparsecError;
}

// ---- small helpers shared by the adapters ----

export const intAttr = (value: number): Attr => ({ kind: 'int', value });
export const floatAttr = (value: number): Attr => ({ kind: 'float', value });
export const stringAttr = (value: string): Attr => ({ kind: 'string', value });

/** Remove an attribute from the form and return it. */
export function take(n: OnnxNodeForm, name: string): Attr | undefined {
  const a = n.attrs.get(name);
  n.attrs.delete(name);
  return a;
}

export function takeInts(n: OnnxNodeForm, name: string): number[] | undefined {
  const a = take(n, name);
  if (a === undefined) return undefined;
  if (a.kind === 'ints') return a.value;
  if (a.kind === 'int') return [a.value];
  return undefined;
}

export function takeFloat(n: OnnxNodeForm, name: string): number | undefined {
  const a = take(n, name);
  if (a?.kind === 'float') return a.value;
  if (a?.kind === 'int') return a.value;
  return undefined;
}

export function takeFloats(n: OnnxNodeForm, name: string): number[] | undefined {
  const a = take(n, name);
  if (a?.kind === 'floats') return a.value;
  if (a?.kind === 'float') return [a.value];
  return undefined;
}

export function takeInt(n: OnnxNodeForm, name: string): number | undefined {
  const a = take(n, name);
  return a?.kind === 'int' ? a.value : undefined;
}

/** int64 constant; attribute values such as INT64_MAX (read as 2^63 in a JS number) are clamped. */
export const int64Const = (b: UpgradeBuilder, values: readonly number[], shape: number[] = [values.length]): Value =>
  b.constant(new Tensor('int64', shape, BigInt64Array.from(values, (v) => toInt64(v))));

export const float32Const = (b: UpgradeBuilder, values: readonly number[], shape: number[] = [values.length]): Value =>
  b.constant(Tensor.float32(values, shape));

/**
 * A constant holding `values` in the element type of `ref`: typed directly when ref's dtype is
 * known, otherwise a float32 constant cast at run time with CastLike (old attributes such as
 * Pad's `value` or Clip's `min` were floats whatever the tensor type).
 */
export function constLike(b: UpgradeBuilder, ref: Value, values: readonly number[], shape: number[] = []): Value {
  const dtype: DType | undefined = ref.kind === 'tensor' ? ref.dtype : undefined;
  if (dtype && dtype !== 'string') {
    const t = Tensor.zeros(dtype, shape);
    values.forEach((v, i) => t.set(i, v));
    return b.constant(t);
  }
  return b.node('CastLike', [float32Const(b, values, shape), ref])[0]!;
}

/** Move an ints attribute into input slot `index` as an int64 tensor (absent stays absent). */
export function intsAttrToInput(b: UpgradeBuilder, n: OnnxNodeForm, attr: string, index: number): void {
  const values = takeInts(n, attr);
  if (values === undefined) return;
  setInput(n, index, int64Const(b, values));
}

export function setInput(n: OnnxNodeForm, index: number, v: Value | undefined): void {
  while (n.inputs.length < index) n.inputs.push(undefined);
  n.inputs[index] = v;
}

/**
 * `v` lined up with `ref`'s dims from `axis` on, the way opset < 7 broadcasting did (legacy
 * `broadcast=1, axis` and PRelu's per-channel slope): trailing 1-dims are appended up to
 * rank(ref). With known ranks a constant is reshaped (a copy: the original may have other
 * readers) and any other value goes through Unsqueeze; with unknown ranks a run-time Reshape to
 * shape(v) ++ ones(max(0, rank(ref) - axis - rank(v))) is built. Returns `v` when nothing changes.
 */
export function alignFromAxis(b: UpgradeBuilder, ref: Value | undefined, v: Value | undefined, axis: number): Value | undefined {
  const rankRef = b.rank(ref);
  const rankV = b.rank(v);
  if (rankV !== undefined && (axis < 0 || rankRef !== undefined)) {
    // For a negative axis the count does not depend on rank(ref): rank(ref) - (axis + rank(ref)) - rank(v).
    const trailing = axis < 0 ? -axis - rankV : rankRef! - axis - rankV;
    if (trailing <= 0) return v;
    if (v?.const) {
      const t = v.const;
      return b.constant(new Tensor(t.dtype, [...t.shape, ...new Array<number>(trailing).fill(1)], t.data.slice()), 'aligned');
    }
    return b.node('Unsqueeze', [v, int64Const(b, Array.from({ length: trailing }, (_, i) => rankV + i))])[0];
  }
  const rank = (x: Value | undefined) => b.node('Size', [b.node('Shape', [x])[0]])[0]!;
  const scalar = (k: number) => int64Const(b, [k], []);
  const wanted = axis < 0 ? scalar(-axis) : b.node('Sub', [rank(ref), scalar(axis)])[0]!;
  const count = b.node('Max', [b.node('Sub', [wanted, rank(v)])[0], scalar(0)])[0]!;
  const ones = b.node('ConstantOfShape', [b.node('Reshape', [count, int64Const(b, [1])])[0]], {
    value: { kind: 'tensor', value: Tensor.int64([1]) },
  })[0]!;
  const shape = b.node('Concat', [b.node('Shape', [v])[0], ones], { axis: intAttr(0) })[0]!;
  return b.node('Reshape', [v, shape])[0];
}
