// Shapes read off a sliced value. Exporters take sizes from activations (GPT-2's attention
// merges its heads back with Reshape(x, [B, T, C]) where C = Shape(ln_out)[2]); once the stream
// is sliced, such a Shape reports the new width where the graph meant the old one (the
// attention's inner width). A Shape of a sliced value is therefore rebuilt to report the width
// the value had before slicing: Concat(Shape(x, end = rank - 1), [width]). Everything that
// depends on the stream width itself is rewritten by the pass, so no reader needs the new one.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';

/**
 * Rebuild every Shape node reading one of `values` (whose last axis had `width` channels) and
 * covering that axis. Call after the rewrite; returns the Shape nodes replaced.
 */
export function pinWidthShapes(graph: Graph, values: Iterable<Value>, width: number): Node[] {
  const replaced: Node[] = [];
  for (const v of new Set(values)) {
    const rank = v.rank;
    if (rank === undefined) continue;
    for (const { node } of [...v.uses]) {
      if (node.op !== Op.Shape || node.inputs[0] !== v) continue;
      const [start, end] = shapeRange(node, rank);
      if (end < rank || start >= end) continue;
      const parts: Value[] = [];
      if (start < rank - 1) {
        const lead = graph.addNode(
          { op: Op.Shape, inputs: [v], outputs: 1, attrs: { start: { kind: 'int', value: start }, end: { kind: 'int', value: rank - 1 } }, name: `${node.name}_lead` },
          node,
        );
        lead.outputs[0]!.dtype = 'int64';
        parts.push(lead.outputs[0]!);
      }
      parts.push(graph.addConstant(`${node.name}_width`, Tensor.int64([width])));
      const concat = graph.addNode({ op: Op.Concat, inputs: parts, outputs: 1, attrs: { axis: { kind: 'int', value: 0 } }, name: `${node.name}_pinned` }, node);
      concat.outputs[0]!.dtype = 'int64';
      node.outputs[0]!.replaceAllUsesWith(concat.outputs[0]!);
      graph.removeNode(node);
      replaced.push(node);
    }
  }
  return replaced;
}

/** Shape's [start, end) over a rank, as opset 15+ defines it (negative counts from the end, clamped). */
function shapeRange(node: Node, rank: number): [number, number] {
  const clamp = (i: number) => Math.min(rank, Math.max(0, i < 0 ? i + rank : i));
  return [clamp(node.attrInt('start', 0)), clamp(node.attrInt('end', rank))];
}

/**
 * Reshapes on a sublayer's way to the stream with a constant target ending in the stream width
 * (an MoE block flattening tokens to [-1, width] and back) now produce the kept width.
 */
export function narrowReshapeTargets(graph: Graph, values: Iterable<Value>, width: number, kept: number): Node[] {
  const changed: Node[] = [];
  for (const v of new Set(values)) {
    for (const { node } of [...v.uses]) {
      const target = node.inputs[1];
      if (node.op !== Op.Reshape || node.inputs[0] !== v || !target?.const) continue;
      const dims = target.const.toNumbers();
      if (dims[dims.length - 1] !== width) continue;
      dims[dims.length - 1] = kept;
      node.setInput(1, graph.addConstant(target.name, Tensor.int64(dims)));
      changed.push(node);
    }
  }
  return changed;
}
