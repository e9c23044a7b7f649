// The entries of a 1-D shape tensor as far as they are known before running the graph: the
// Reshape targets exporters write are a constant, or a Concat of constant pieces and dynamic
// ones (batch and sequence read back through Shape/Gather/Unsqueeze). Head counts and widths
// sit in the constant pieces.

import type { Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';

/** Known entries as numbers, dynamic ones as undefined; undefined when the layout is unknown. */
export function shapeEntries(v: Value | undefined): (number | undefined)[] | undefined {
  if (!v) return undefined;
  if (v.const) return v.const.toNumbers();
  const p = v.producer;
  if (!p || p.op !== Op.Concat) return undefined;
  const out: (number | undefined)[] = [];
  for (const piece of p.inputs) {
    if (!piece) return undefined;
    if (piece.const) out.push(...piece.const.toNumbers());
    else if (piece.shape?.length === 1 && typeof piece.shape[0] === 'number') out.push(...new Array<undefined>(piece.shape[0]).fill(undefined));
    // An Unsqueeze of a scalar (a dim read back from Shape) where types were not inferred.
    else if (piece.producer?.op === Op.Unsqueeze && piece.producer.inputs[0]?.rank === 0) out.push(undefined);
    else if (piece.producer?.op === Op.Unsqueeze && piece.shape === undefined) out.push(undefined);
    else return undefined;
  }
  return out;
}
