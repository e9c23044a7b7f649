// Zero attention heads: a projection whose output is reshaped to [..., heads, head_dim] splits
// its rows into heads of head_dim consecutive rows; a head whose rows are all zero contributes
// nothing (a zero query or key head attends uniformly, a zero value head outputs zero).
//
// Recognized forms: projection (+ constant bias) -> Reshape, and a fused projection (+ bias)
// -> Split along the last axis -> Reshape per part (GPT-2's qkv). The head count comes from
// the Reshape's target shape: a constant, or a Concat of constant and dynamic pieces (what
// torch exports for view(b, t, heads, head_dim)); one of heads/head_dim may be -1.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { WeightView } from './weights.js';
import { shapeEntries } from './shape-entries.js';

export interface HeadReport {
  readonly layer: string;
  readonly node: string;
  /** For a fused projection: which part of the Split (0 = first). */
  readonly part?: number;
  readonly heads: number;
  readonly headDim: number;
  readonly zeroHeads: number[];
}

export interface HeadAnalysis {
  readonly projections: HeadReport[];
  /** Set when the model has attention (Softmax feeding a MatMul) but no projection was recognized. */
  readonly note?: string;
}

/** rowNonzeros: nonzeros per row of each view. */
export function findZeroHeads(graph: { nodes: readonly Node[] }, views: readonly WeightView[], rowNonzeros: ReadonlyMap<WeightView, Int32Array>): HeadAnalysis {
  const projections: HeadReport[] = [];
  for (const view of views) {
    if (view.node.op === Op.Conv) continue;
    for (const part of headParts(view)) {
      const counts = rowNonzeros.get(view)!;
      const zeroHeads: number[] = [];
      for (let h = 0; h < part.heads; h++) {
        let nz = 0;
        for (let r = part.offset + h * part.headDim; r < part.offset + (h + 1) * part.headDim; r++) nz += counts[r]!;
        if (nz === 0) zeroHeads.push(h);
      }
      projections.push({
        layer: view.name,
        node: view.node.name,
        ...(part.index !== undefined ? { part: part.index } : {}),
        heads: part.heads,
        headDim: part.headDim,
        zeroHeads,
      });
    }
  }
  const hasAttention = graph.nodes.some((n) => n.op === Op.Softmax && n.outputs[0]!.uses.some((u) => u.node.op === Op.MatMul));
  if (projections.length === 0 && hasAttention) {
    return { projections, note: 'attention heads not recognized: no projection is reshaped to [..., heads, head_dim] with a head count readable from the graph' };
  }
  return { projections };
}

interface HeadPart {
  index?: number;
  offset: number;
  heads: number;
  headDim: number;
}

function headParts(view: WeightView): HeadPart[] {
  let v = view.node.outputs[0]!;
  const bias = singleUse(v, Op.Add, true);
  if (bias && bias.inputs.some((x) => x?.isConstant)) v = bias.outputs[0]!;
  const reshape = singleUse(v, Op.Reshape);
  if (reshape) {
    const split = splitHeads(reshape, view.rows);
    return split ? [{ offset: 0, ...split }] : [];
  }
  const split = singleUse(v, Op.Split);
  if (!split || !isLastAxis(split)) return [];
  const sizes = splitSizes(split, view.rows);
  if (!sizes) return [];
  const parts: HeadPart[] = [];
  let offset = 0;
  split.outputs.forEach((out, index) => {
    const r = singleUse(out, Op.Reshape);
    const heads = r ? splitHeads(r, sizes[index]!) : undefined;
    if (heads) parts.push({ index, offset, ...heads });
    offset += sizes[index]!;
  });
  return parts;
}

/** The only reader of v, when it is a `op` node reading v as input 0 (or any input). */
function singleUse(v: Value, op: Op, anyInput = false): Node | undefined {
  if (v.uses.length !== 1) return undefined;
  const u = v.uses[0]!;
  return u.node.op === op && (anyInput || u.index === 0) ? u.node : undefined;
}

function isLastAxis(split: Node): boolean {
  const axis = split.attrInt('axis', 0);
  const rank = split.inputs[0]!.rank;
  return axis === -1 || (rank !== undefined && axis === rank - 1);
}

function splitSizes(split: Node, total: number): number[] | undefined {
  const given = split.inputs[1]?.const;
  if (given) return given.toNumbers();
  const n = split.outputs.length;
  if (total % n !== 0) return undefined;
  return new Array<number>(n).fill(total / n);
}

/** [heads, headDim] from a Reshape of `width` channels to [..., heads, headDim]. */
function splitHeads(reshape: Node, width: number): { heads: number; headDim: number } | undefined {
  const target = shapeEntries(reshape.inputs[1]) ?? reshape.outputs[0]!.shape?.map((d) => (typeof d === 'number' ? d : undefined));
  if (!target || target.length < 3) return undefined;
  let heads = target.at(-2);
  let headDim = target.at(-1);
  if (heads === -1 && headDim !== undefined && headDim > 0) heads = width / headDim;
  if (headDim === -1 && heads !== undefined && heads > 0) headDim = width / heads;
  if (heads === undefined || headDim === undefined || !Number.isInteger(heads) || !Number.isInteger(headDim)) return undefined;
  if (heads < 1 || headDim < 1 || heads * headDim !== width) return undefined;
  return { heads, headDim };
}

