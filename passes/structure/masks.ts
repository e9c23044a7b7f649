// Is an attention mask causal? Exporters write the causal mask three ways: a constant
// triangular buffer sliced to the sequence length (GPT-2's `bias`, Llama's cached mask), a
// Trilu, or a comparison of position ranges (Range, then Less/Greater) built from the sequence
// length alone. The padding mask computed from a model input (BERT's attention_mask) is not
// causal by itself, but HF exports often add it to a causal one: any causal evidence counts.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Tensor } from '../../ir/tensor.js';

const COMPARISONS = new Set<Op>([Op.Less, Op.LessOrEqual, Op.Greater, Op.GreaterOrEqual]);
/** How many ancestor nodes to look at: masks are small subgraphs. */
const SEARCH_LIMIT = 256;
/** How much of a triangular constant to check (its top-left corner). */
const CHECK_SIZE = 64;

export function isCausalMask(mask: Value): boolean {
  const seen = new Set<Node>();
  const stack: Value[] = [mask];
  while (stack.length > 0 && seen.size < SEARCH_LIMIT) {
    const v = stack.pop()!;
    if (v.const) {
      if (isTriangular(v.const)) return true;
      continue;
    }
    const p = v.producer;
    if (!p || seen.has(p)) continue;
    seen.add(p);
    if (p.op === Op.Trilu) return true;
    if (COMPARISONS.has(p.op) && p.inputs.every((i) => i !== undefined && fromPositions(i))) return true;
    // Shape reads only the dims of its input, never its values.
    if (p.op === Op.Shape || p.op === Op.Size) continue;
    for (const i of p.inputs) if (i) stack.push(i);
  }
  return false;
}

/** v is computed from a Range of positions and shapes, never from a model input's values. */
function fromPositions(v: Value): boolean {
  let range = false;
  const seen = new Set<Node>();
  const stack = [v];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.const) continue;
    const p = x.producer;
    if (!p) return false;
    if (seen.has(p)) continue;
    if (seen.size >= SEARCH_LIMIT) return false;
    seen.add(p);
    range ||= p.op === Op.Range;
    if (p.op === Op.Shape || p.op === Op.Size) continue;
    for (const i of p.inputs) if (i) stack.push(i);
  }
  return range;
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
