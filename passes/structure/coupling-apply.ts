// Applying a coupling plan: constants lose indices (a new constant per edited input, so a
// constant shared with nodes outside the plan is left as it was), shape vectors get new
// entries (a constant, or the constant or one-element piece of a Concat-built shape, which
// torch exports for view(b, t, heads, head_dim)), and kv repeats become Gathers. Dead nodes
// are then removed and types re-inferred.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import { Op } from '../../ir/ops.js';
import { Tensor, sizeOf } from '../../ir/tensor.js';
import { eliminateDeadCode } from '../dce.js';
import type { Edit } from './coupling.js';

interface Piece {
  readonly value: Value;
  /** Position of the piece's first entry in the whole shape vector. */
  readonly start: number;
  readonly length: number;
  /** Its input index in the Concat (0 for a constant vector). */
  readonly index: number;
}

/** The pieces a 1-D shape vector is made of: itself if constant, or a Concat's inputs. */
function shapePieces(v: Value | undefined): Piece[] | undefined {
  if (!v) return undefined;
  if (v.const) return v.const.rank === 1 ? [{ value: v, start: 0, length: v.const.size, index: 0 }] : undefined;
  const p = v.producer;
  if (!p || p.op !== Op.Concat || p.attrInt('axis', 0) !== 0) return undefined;
  const pieces: Piece[] = [];
  let start = 0;
  for (const [index, input] of p.inputs.entries()) {
    const length = input?.const ? input.const.size : input?.staticShape?.length === 1 ? input.staticShape[0] : undefined;
    if (!input || length === undefined) return undefined;
    pieces.push({ value: input, start, length, index });
    start += length;
  }
  return pieces;
}

function pieceAt(v: Value | undefined, position: number): Piece | undefined {
  return shapePieces(v)?.find((p) => position >= p.start && position < p.start + p.length);
}

/** Entry `position` of a shape vector when it is a known constant. */
export function shapeEntryValue(v: Value | undefined, position: number): number | undefined {
  const p = pieceAt(v, position);
  return p?.value.const ? p.value.const.get(position - p.start) : undefined;
}

/** Whether entry `position` can be rewritten: it sits in a constant or a one-entry piece. */
export function shapeEntryEditable(v: Value | undefined, position: number): boolean {
  const p = pieceAt(v, position);
  return p !== undefined && (p.value.const !== undefined || p.length === 1);
}

/** `t` without `indices` along `axis`. */
export function removeIndices(t: Tensor, axis: number, indices: readonly number[]): Tensor {
  const drop = new Set(indices);
  const n = t.shape[axis]!;
  const keep = [...Array(n).keys()].filter((i) => !drop.has(i));
  const shape = t.shape.map((d, a) => (a === axis ? keep.length : d));
  const inner = sizeOf(t.shape.slice(axis + 1));
  const outer = sizeOf(t.shape.slice(0, axis));
  const out = Tensor.zeros(t.dtype, shape);
  const src = t.data as unknown as { [i: number]: unknown };
  const dst = out.data as unknown as { [i: number]: unknown };
  let j = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      const base = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) dst[j++] = src[base + i];
    }
  }
  return out;
}

export function applyEdits(graph: Graph, edits: readonly Edit[]): void {
  const slices = new Map<string, Value>();
  for (const e of edits) {
    switch (e.kind) {
      case 'remove-indices': {
        const old = e.node.inputs[e.input]!;
        const key = `${old.id}:${e.axis}:${e.indices.join(',')}`;
        let v = slices.get(key);
        if (!v) {
          v = graph.addConstant(`${old.name}_pruned`, removeIndices(old.const!, e.axis, e.indices));
          slices.set(key, v);
        }
        e.node.setInput(e.input, v);
        break;
      }
      case 'set-constant':
        e.node.setInput(e.input, graph.addConstant(`${e.node.name}_in${e.input}`, e.tensor));
        // Split sizes given explicitly replace num_outputs (ONNX allows only one of them).
        if (e.node.op === Op.Split && e.input === 1) e.node.attrs.delete('num_outputs');
        break;
      case 'set-shape-entry':
        setShapeEntry(graph, e.node, e.input, e.position, e.size);
        break;
      case 'repeat-to-gather': {
        const indices = graph.addConstant(`${e.reshape.name}_heads`, Tensor.int64(e.indices));
        const gather = graph.addNode(
          { op: Op.Gather, inputs: [e.source, indices], outputs: 1, attrs: { axis: { kind: 'int', value: e.axis } }, name: `${e.reshape.name}_gather` },
          e.reshape,
        );
        e.reshape.outputs[0]!.replaceAllUsesWith(gather.outputs[0]!);
        break;
      }
    }
  }
  eliminateDeadCode(graph);
  inferTypes(graph, { overwrite: true });
}

function setShapeEntry(graph: Graph, node: Node, input: number, position: number, size: number): void {
  const shape = node.inputs[input]!;
  const piece = pieceAt(shape, position)!;
  const replacement = (p: Piece): Value => {
    const entries = p.value.const ? p.value.const.toNumbers() : [0];
    entries[position - p.start] = size;
    return graph.addConstant(`${node.name}_shape`, Tensor.int64(entries));
  };
  if (shape.const) return node.setInput(input, replacement(piece));
  const concat = shape.producer!;
  const pieces = concat.inputs.map((v, i) => (i === piece.index ? replacement(piece) : v));
  const rebuilt = graph.addNode({ op: Op.Concat, inputs: pieces, outputs: 1, attrs: { axis: { kind: 'int', value: 0 } }, name: `${node.name}_shape` }, node);
  rebuilt.outputs[0]!.dtype = 'int64';
  rebuilt.outputs[0]!.shape = shape.shape;
  node.setInput(input, rebuilt.outputs[0]!);
}
