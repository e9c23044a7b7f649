// Is an attention mask causal? Exporters write the causal mask three ways: a constant
// triangular buffer sliced to the sequence length (GPT-2's `bias`, Llama's cached mask), a
// Trilu, or a comparison of position ranges (Range, Less/Greater) built from the sequence
// length alone. A mask computed from a model input's values (BERT's attention_mask) is not
// causal, whatever else it contains.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';

const COMPARISONS = new Set<Op>([Op.Less, Op.LessOrEqual, Op.Greater, Op.GreaterOrEqual]);
/** How many ancestor nodes to look at: masks are small subgraphs. */
const SEARCH_LIMIT = 256;
/** How much of a triangular constant to check (its top-left corner). */
const CHECK_SIZE = 64;

export function isCausalMask(mask: Value): boolean {
  let trilu = false;
  let triangular = false;
  let comparison = false;
  let range = false;
  let readsInputData = false;
  const seen = new Set<Node>();
  const stack: Value[] = [mask];
  while (stack.length > 0 && seen.size < SEARCH_LIMIT) {
    const v = stack.pop()!;
    if (v.const) {
      triangular ||= isTriangular(v.const);
      continue;
    }
    const p = v.producer;
    if (!p) {
      readsInputData = true;
      continue;
    }
    if (seen.has(p)) continue;
    seen.add(p);
    trilu ||= p.op === Op.Trilu;
    comparison ||= COMPARISONS.has(p.op);
    range ||= p.op === Op.Range;
    // Shape reads only the dims of its input, never its values.
    if (p.op === Op.Shape || p.op === Op.Size) continue;
    for (const i of p.inputs) if (i) stack.push(i);
  }
  if (readsInputData) return false;
  return trilu || triangular || (comparison && range);
}

/**
 * A constant whose last two dims are a square matrix with one value on and below the
 * diagonal and another above it (or the reverse), checked on its top-left corner.
 */
function isTriangular(t: Tensor): boolean {
  if (t.rank < 2 || t.dtype === 'string') return false;
  const n = t.shape[t.rank - 1]!;
  if (n < 2 || t.shape[t.rank - 2] !== n) return false;
  const m = Math.min(n, CHECK_SIZE);
  const lower = t.get(0);
  const upper = t.get(1);
  if (same(lower, upper)) return false;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (!same(t.get(i * n + j), j <= i ? lower : upper)) return false;
    }
  }
  return true;
}

function same(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}
