// The ends of the residual stream: the token embedding (a Gather from a constant table by a
// model input), the embeddings added to it (learned positions, token types), an embedding
// norm; and at the other end the final norm and the output head, tied when its weight is the
// embedding table (the same constant, or a copy of its transpose that constant folding made).

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { linearLayer } from '../permute/layers.js';
import { isNorm, normOf } from './norms.js';
import { findBranch } from './stream.js';
import type { Embedding, Norm, OutputHead } from './types.js';
import { otherInput } from './walk.js';

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);

function tableOf(gather: Node): Value | undefined {
  const table = gather.inputs[0];
  const ok = gather.op === Op.Gather && gather.attrInt('axis', 0) === 0 && table?.const && table.const.rank === 2 && FLOATS.has(table.const.dtype);
  return ok ? table : undefined;
}

/** A Gather from a constant table whose indices are computed (positions) or are an input. */
function embeddingGather(v: Value | undefined): Node | undefined {
  const p = v?.producer;
  return p && tableOf(p) && !p.inputs[1]?.isConstant ? p : undefined;
}

/**
 * The token embedding: a Gather from a constant table by a model input. Other inputs index
 * tables too (position_ids into a rotary cache), so the one whose output starts a residual
 * stream wins; failing that, the first in graph order.
 */
export function findEmbedding(graph: Graph, pos: ReadonlyMap<Node, number>): Embedding | undefined {
  const candidates = graph.nodes.filter((n) => tableOf(n) !== undefined && n.inputs[1]?.isGraphInput === true).map(embeddingFrom);
  return candidates.find((e) => findBranch(e.output, pos) !== undefined) ?? candidates[0];
}

function embeddingFrom(gather: Node): Embedding {
  let output = scaled(gather.outputs[0]!);
  let positions: Embedding['positions'];
  const extra: NonNullable<Embedding['extra']>[number][] = [];
  // Embeddings summed into the token embedding: positions first, then token types and such.
  for (;;) {
    const add = output.uses.length === 1 && output.uses[0]!.node.op === Op.Add ? output.uses[0]!.node : undefined;
    const other = add && embeddingGather(otherInput(add, output));
    if (!add || !other) break;
    const summed = { gather: other, table: other.inputs[0]!, add };
    if (positions) extra.push(summed);
    else positions = summed;
    output = scaled(add.outputs[0]!);
  }
  const only = output.uses.length === 1 ? output.uses[0]!.node : undefined;
  let norm: Norm | undefined;
  if (isNorm(only) && only.inputs[0] === output) {
    norm = normOf(only);
    output = only.outputs[0]!;
  }
  return {
    gather,
    table: gather.inputs[0]!,
    ...(positions ? { positions } : {}),
    ...(extra.length > 0 ? { extra } : {}),
    output,
    ...(norm ? { norm } : {}),
  };
}

/** v, or v scaled by a constant when that is its only use (Gemma's embeddings * sqrt(width)). */
function scaled(v: Value): Value {
  const only = v.uses.length === 1 ? v.uses[0]!.node : undefined;
  const scale = only && (only.op === Op.Mul || (only.op === Op.Div && v.uses[0]!.index === 0)) ? otherInput(only, v) : undefined;
  return scale?.isConstant && scale.const!.size === 1 ? only!.outputs[0]! : v;
}

/** The final norm (pre-norm models) and the head reading the last stream value. */
export function findHead(last: Value, placement: 'pre' | 'post', embedding: Embedding | undefined): { finalNorm?: Norm; head?: OutputHead } {
  const normNode = placement === 'pre' ? last.uses.find((u) => u.index === 0 && isNorm(u.node))?.node : undefined;
  const finalNorm = normOf(normNode);
  const x = finalNorm?.output ?? last;
  const node = x.uses.find((u) => u.index === 0 && isHeadLayer(u.node))?.node;
  const transposed = embedding && x.uses.find((u) => u.index === 0 && readsTransposed(u.node, embedding.table))?.node;
  const head: OutputHead | undefined = node
    ? { node, tied: embedding !== undefined && isTied(node, embedding.table) }
    : transposed ? { node: transposed, tied: true } : undefined;
  return { ...(finalNorm ? { finalNorm } : {}), ...(head ? { head } : {}) };
}

/** MatMul(x, Transpose(table)): a tied head where constant folding has not run. */
function readsTransposed(node: Node, table: Value): boolean {
  const t = node.op === Op.MatMul ? node.inputs[1]?.producer : undefined;
  const perm = t?.attrInts('perm');
  return t?.op === Op.Transpose && t.inputs[0] === table && (perm === undefined || (perm[0] === 1 && perm[1] === 0));
}

function isHeadLayer(node: Node): boolean {
  const layer = linearLayer(node);
  return layer !== undefined && node.op !== Op.Conv;
}

/** The head's weight is the table, or holds the table's values transposed. */
function isTied(head: Node, table: Value): boolean {
  const layer = linearLayer(head)!;
  const weight = head.inputs[layer.weightIndex]!;
  if (weight === table) return layer.weightOutAxis === 0;
  const w = weight.const!;
  const t = table.const!;
  const [vocab, width] = t.shape as [number, number];
  if (w.shape[layer.weightOutAxis] !== vocab || w.shape[layer.weightInAxis] !== width) return false;
  const outStride = layer.weightOutAxis === 1 ? 1 : width;
  const inStride = layer.weightInAxis === 1 ? 1 : vocab;
  for (let v = 0; v < vocab; v++) {
    for (let d = 0; d < width; d++) {
      if (w.get(v * outStride + d * inStride) !== t.get(v * width + d)) return false;
    }
  }
  return true;
}
