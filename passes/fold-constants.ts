// Constant folding: a node whose inputs are all constants is evaluated with its op
// definition (the reference executor) and replaced by constants. Shape and Size of values
// whose (selected) dims are static fold too, which is what turns exporters' shape arithmetic
// (Shape -> Gather -> Concat -> Reshape) into plain constant shapes.

import type { Graph, Node, Value } from '../ir/graph.js';
import { dtypeBytes } from '../ir/dtype.js';
import { ControlFlow, NonDeterministic, Op } from '../ir/ops.js';
import { Tensor } from '../ir/tensor.js';
import { getOpDef } from '../ir/executor/registry.js';
import { SparsecError } from '../ir/diagnostics.js';
import { definePass } from './pass.js';
import { Rewriter } from './rewrite.js';
import { walkGraphs } from './liveness.js';

/**
 * Default growth cap: 1 MiB. A folded result no larger than its constant inputs together
 * (Transpose, Cast, Reshape of a weight) always folds: the model does not grow. A result that
 * is larger (Expand, Tile, ConstantOfShape, Range) folds only up to this size: shape vectors
 * and small masks fold, but a broadcast that is cheap to compute at run time does not turn
 * into megabytes of weights in the artifact.
 */
export const DEFAULT_FOLD_MAX_BYTES = 1 << 20;

export interface FoldResult {
  folded: number;
  shapeFolds: number;
  /** Nodes skipped because the result would grow the model past the cap. */
  tooLarge: number;
  /** Nodes whose evaluation failed (left for run time, where the error has its real input). */
  failed: number;
}

export function foldConstants(graph: Graph, maxBytes = DEFAULT_FOLD_MAX_BYTES): FoldResult {
  const result: FoldResult = { folded: 0, shapeFolds: 0, tooLarge: 0, failed: 0 };
  const rw = new Rewriter();
  for (const g of [...walkGraphs(graph)]) {
    for (const node of [...g.nodes]) {
      const tensors = node.op === Op.Shape || node.op === Op.Size ? foldShapeOp(node) : evaluate(node, maxBytes, result);
      if (!tensors) continue;
      if (node.op === Op.Shape || node.op === Op.Size) result.shapeFolds++;
      else result.folded++;
      rw.setInsertionGraph(g);
      const consts = tensors.map((t, i) => rw.constant(node.outputs[i]!.name, t));
      rw.replaceNode(node, consts);
    }
  }
  return result;
}

function isFoldable(node: Node): boolean {
  if (ControlFlow.has(node.op) || NonDeterministic.has(node.op) || node.op === Op.Opaque) return false;
  // Identity(constant) as a graph output is how a graph returns a constant: folding it would
  // only recreate it.
  if (node.op === Op.Identity && node.outputs.some((o) => o.isGraphOutput)) return false;
  if (node.outputs.some((o) => o.kind !== 'tensor')) return false;
  return node.inputs.every((v) => v === undefined || v.const !== undefined);
}

function evaluate(node: Node, maxBytes: number, result: FoldResult): Tensor[] | undefined {
  if (!isFoldable(node)) return undefined;
  const run = getOpDef(node.op)?.run;
  if (!run) return undefined;
  let outs: Tensor[];
  try {
    outs = run(node, node.inputs.map((v) => v?.const), {
      runSubgraph: () => {
        throw new Error('fold-constants does not evaluate subgraphs');
      },
    });
  } catch (err) {
    if (err instanceof SparsecError) {
      result.failed++;
      return undefined;
    }
    throw err;
  }
  const inBytes = node.inputs.reduce((s, v) => s + (v?.const ? byteSize(v.const) : 0), 0);
  const outBytes = outs.reduce((s, t) => s + byteSize(t), 0);
  if (outBytes > Math.max(maxBytes, inBytes)) {
    result.tooLarge++;
    return undefined;
  }
  return outs;
}

function byteSize(t: Tensor): number {
  return t.dtype === 'string' ? t.size * 16 : t.size * dtypeBytes(t.dtype);
}

/** Shape/Size from static dims, even when other dims of the input are symbolic. */
function foldShapeOp(node: Node): Tensor[] | undefined {
  const x: Value | undefined = node.inputs[0];
  if (!x?.shape || x.kind !== 'tensor') return undefined;
  if (node.op === Op.Size) {
    const s = x.staticShape;
    return s ? [Tensor.scalar('int64', s.reduce((a, d) => a * d, 1))] : undefined;
  }
  const rank = x.shape.length;
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
  const dims = x.shape.slice(clamp(node.attrInt('start', 0)), clamp(node.attrInt('end', rank)));
  if (!dims.every((d): d is number => typeof d === 'number')) return undefined;
  return [Tensor.int64(dims)];
}

export const foldConstantsPass = definePass({
  name: 'fold-constants',
  summary: 'Evaluate nodes whose inputs are all constants, and Shape/Size of static dims, into constants.',
  options: {
    maxBytes: {
      type: 'int',
      default: DEFAULT_FOLD_MAX_BYTES,
      min: 0,
      description: 'largest folded result that may be bigger than the constants it is computed from',
    },
  },
  run(model, ctx) {
    const r = foldConstants(model.graph, ctx.options.maxBytes);
    return { changed: r.folded + r.shapeFolds > 0, stats: { ...r } };
  },
});
