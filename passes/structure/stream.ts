// Walking the residual stream: from a stream value, the branch is the Add that reads it and
// something computed from it (the sublayer's output), with a pre-norm when the sublayer reads
// the stream through a norm. For post-norm models the Add's only reader is a norm whose
// output is the next stream value.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Branch } from './branch.js';
import { isNorm, normOf } from './norms.js';
import type { Norm } from './types.js';
import { dependsOn, nodesBetween, otherInput } from './walk.js';

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** The branch leaving stream value `state`, or undefined at the end of the stream. */
export function findBranch(state: Value, pos: ReadonlyMap<Node, number>): Branch | undefined {
  const adds = state.uses
    .map((u) => u.node)
    .filter((n) => n.op === Op.Add && n.inputs.length === 2)
    .sort((a, b) => pos.get(a)! - pos.get(b)!);
  for (const add of adds) {
    const output = otherInput(add, state);
    if (!output || output === state || output.isConstant || !dependsOn(output, state, pos)) continue;
    const norm = preNorm(state, output, pos);
    const input = norm?.output ?? state;
    return { ...(norm ? { norm } : {}), input, output, residualAdd: add, nodes: nodesBetween(input, output, pos) };
  }
  return undefined;
}

/** A norm reading `state` whose output the branch output is computed from. */
function preNorm(state: Value, output: Value, pos: ReadonlyMap<Node, number>): Norm | undefined {
  for (const u of state.uses) {
    if (u.index === 0 && isNorm(u.node) && dependsOn(output, u.node.outputs[0]!, pos)) return normOf(u.node);
  }
  return undefined;
}

/** The norm a post-norm model applies to a residual Add's output, if that is its only reader. */
export function postNormOf(sum: Value): Norm | undefined {
  if (sum.uses.length !== 1) return undefined;
  const u = sum.uses[0]!;
  return u.index === 0 && isNorm(u.node) ? normOf(u.node) : undefined;
}

/**
 * Without a token embedding the stream may start at a model input: a float tensor
 * [batch, sequence, width] (hand-written graphs, or models exported after their embedding).
 */
export function streamInput(graph: Graph): Value | undefined {
  return graph.inputs.find((v) => !v.isConstant && v.dtype !== undefined && FLOATS.has(v.dtype) && v.rank === 3);
}

/** The stream width: the last dim of a stream value, when static. */
export function streamWidth(v: Value): number | undefined {
  const d = v.shape?.at(-1);
  return typeof d === 'number' ? d : undefined;
}
