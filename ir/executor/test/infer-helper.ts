// Run one op definition's infer directly on TypeInfos (no graph-level merging).

import { GraphBuilder, type AttrInput } from '../../builder.js';
import type { InferContext, TypeInfo } from '../../opdef.js';
import type { Op } from '../../ops.js';
import type { Tensor } from '../../tensor.js';
import { getOpDef } from '../registry.js';

export function inferOne(op: Op, inputs: readonly (TypeInfo | undefined)[], attrs: Record<string, AttrInput> = {}, outputs = 1): TypeInfo[] {
  const b = new GraphBuilder('t');
  const vals = inputs.map((t, i) => (t ? b.input(`in${i}`, t.dtype, t.shape) : undefined));
  const node = b.node(op, vals, { attrs, outputs });
  let n = 0;
  const ctx: InferContext = { freshDim: () => `d${n++}` };
  return getOpDef(op)!.infer(node, inputs, ctx);
}

/** The TypeInfo of a known constant: inference may fold through its value. */
export const constInfo = (value: Tensor): TypeInfo => ({ dtype: value.dtype, shape: value.shape, value });
