// A branch of the residual stream: the sublayer between what it reads (the stream value, or
// its pre-norm's output) and what it adds back. The matchers (attention, MLP, MoE) each take
// a branch and return their block, or why it is not theirs.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Norm } from './types.js';

export interface Branch {
  readonly norm?: Norm;
  /** What the sublayer reads: the pre-norm's output, or the stream value itself. */
  readonly input: Value;
  /** What the sublayer adds to the stream. */
  readonly output: Value;
  readonly residualAdd?: Node;
  /** The nodes between input and output, in graph order. */
  readonly nodes: readonly Node[];
}

/** Why a matcher did not accept a branch; `node` is the node it stopped at. */
export interface Mismatch {
  readonly reason: string;
  readonly node?: Node;
}

export type MatchResult<T> = { readonly block: T } | { readonly mismatch: Mismatch };

export function mismatch(reason: string, node?: Node): { mismatch: Mismatch } {
  return { mismatch: node ? { reason, node } : { reason } };
}

/** The branch fields every block copies: its norm, input, output and residual Add. */
export function branchFields(b: Branch): { norm?: Norm; input: Value; output: Value; residualAdd?: Node } {
  return {
    ...(b.norm ? { norm: b.norm } : {}),
    input: b.input,
    output: b.output,
    ...(b.residualAdd ? { residualAdd: b.residualAdd } : {}),
  };
}

/** Why a branch output is not a projection's output; norms there are Gemma 2's sandwich norms. */
export function notLinearOutput(output: Value): string {
  const p = output.producer;
  const sandwich = p?.op === Op.LayerNormalization || p?.op === Op.RMSNorm;
  return `the branch output is not a linear layer${sandwich ? ' but a norm of the sublayer output (sandwich norms are not supported)' : ''}`;
}
