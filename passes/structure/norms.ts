// Norms in their canonical form: LayerNormalization and sparsec's RMSNorm, each a single node
// after the `default` pipeline (which recognizes the decomposed forms exporters write).

import type { Node } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Norm } from './types.js';

export function isNorm(node: Node | undefined): node is Node {
  return node !== undefined && (node.op === Op.LayerNormalization || node.op === Op.RMSNorm);
}

/** The node described as a Norm, or undefined when it is not a (canonical) norm. */
export function normOf(node: Node | undefined): Norm | undefined {
  if (!isNorm(node)) return undefined;
  const [input, scale, bias] = node.inputs;
  if (!input) return undefined;
  return {
    kind: node.op === Op.LayerNormalization ? 'layernorm' : 'rmsnorm',
    node,
    input,
    output: node.outputs[0]!,
    ...(scale?.isConstant ? { scale } : {}),
    ...(bias?.isConstant ? { bias } : {}),
  };
}
