// Ops that compute nothing at inference: Identity, Dropout (not in training mode, mask
// unused) and a Cast to the dtype the value already has.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { matcher, rule } from '../rewrite.js';

/**
 * Whether `out` can be replaced by `input`. A graph output that would then be a graph input,
 * a constant, another output or an outer value needs an Identity to carry its name, so such
 * an Identity stays (removing it would only recreate it).
 */
function forwardable(out: Value, input: Value | undefined): input is Value {
  if (!input) return false;
  if (!out.isGraphOutput) return true;
  return !(input.isGraphInput || input.isConstant || input.isGraphOutput || input.graph !== out.graph);
}

/** Nodes of `root` whose first output can simply become their first input. */
const passThrough = (root: Op, when: (n: Node) => boolean) =>
  matcher(root, (n: Node) => (when(n) && forwardable(n.outputs[0]!, n.inputs[0]) ? n : undefined));

const isInference = (n: Node) => {
  const training = n.inputs[2];
  if (training && !(training.const && training.const.size === 1 && training.const.get(0) === 0)) return false;
  const mask = n.outputs[1];
  return !mask || (mask.uses.length === 0 && !mask.isGraphOutput);
};

export const identityRules = [
  rule('remove-identity', passThrough(Op.Identity, () => true), (n) => n.inputs[0]!),
  rule('remove-dropout', passThrough(Op.Dropout, isInference), (n) => [n.inputs[0]!]),
  rule('remove-noop-cast', passThrough(Op.Cast, (n) => n.inputs[0]?.dtype !== undefined && n.inputs[0].dtype === n.outputs[0]!.dtype), (n) => n.inputs[0]!),
];
