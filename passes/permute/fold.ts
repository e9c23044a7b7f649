// Folding a channel permutation into the graph: every constant a channel group edits is
// permuted along its channel axis, so the permutation costs nothing at run time (no Gather is
// inserted anywhere; activations simply come out in the new channel order).

import type { Graph, Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import type { ChannelGroup, ConstEdit } from './coupling.js';

/**
 * `t` with index i of `axis` taken from index perm[i]; an axis holding several blocks of
 * perm.length entries is permuted within every block alike.
 */
export function permuteAxis(t: Tensor, axis: number, perm: ArrayLike<number>): Tensor {
  const dim = t.shape[axis]!;
  if (dim % perm.length !== 0) throw new Error(`permuteAxis: ${perm.length} indices for a dim of ${dim}`);
  if (dim !== perm.length) perm = tiled(perm, dim);
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const src = t.data;
  const out = Array.isArray(src) ? new Array(src.length) : new (src.constructor as new (n: number) => typeof src)(src.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < dim; i++) {
      const from = (o * dim + perm[i]!) * inner;
      const to = (o * dim + i) * inner;
      for (let k = 0; k < inner; k++) out[to + k] = src[from + k]!;
    }
  }
  return new Tensor(t.dtype, t.shape, out);
}

/** `perm` applied to every block of perm.length entries of a length-`dim` axis. */
function tiled(perm: ArrayLike<number>, dim: number): Int32Array {
  const out = new Int32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = i - (i % perm.length) + perm[i % perm.length]!;
  return out;
}

/**
 * Apply `perm` (new channel i = old channel perm[i]) to every constant the group edits. A
 * constant with other users (another group, or one shared by several layers) is copied for
 * this use, so nothing outside the group changes.
 */
export function foldPermutation(graph: Graph, group: ChannelGroup, perm: ArrayLike<number>): void {
  const copied = new Set<Value>();
  for (const edit of uniqueEdits(group.edits)) {
    const v = edit.node.inputs[edit.index]!;
    const permuted = permuteAxis(v.const!, edit.axis, perm);
    if (v.uses.length === 1 && !v.isGraphOutput) {
      v.const = permuted;
    } else {
      edit.node.setInput(edit.index, graph.addConstant(`${v.name}_permuted`, permuted));
      copied.add(v);
    }
  }
  // Originals whose every use now has its own copy go; unrelated unused constants stay.
  for (const v of copied) if (v.uses.length === 0 && !v.isGraphOutput) graph.constants.delete(v.name);
}

/** One edit per (node, input, axis): a node met twice must not be permuted twice. */
function uniqueEdits(edits: readonly ConstEdit[]): ConstEdit[] {
  const seen = new Set<string>();
  return edits.filter((e) => {
    const key = `${e.node.id}:${e.index}:${e.axis}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
