// Small helpers shared by op definitions.

import { error } from '../diagnostics.js';
import type { Dim, Node, Shape } from '../graph.js';

/** Resolve a possibly negative axis against a rank, or fail naming the node. */
export function normalizeAxis(axis: number, rank: number, node: Node): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw error('BAD_ATTRIBUTE', `axis ${axis} is out of range for rank ${rank}`, nodeLocation(node));
  }
  return a;
}

export function nodeLocation(node: Node): { node: string; opType: string } {
  return { node: node.name, opType: node.opType };
}

/**
 * Numpy-style broadcast of shapes. Symbolic dims broadcast against 1 and against an equal
 * symbol; a symbol against a different number > 1 takes the number (the only valid binding).
 */
export function broadcastShapes(shapes: readonly Shape[], node: Node): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = new Array<Dim>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const a = out[off + i]!;
      const b = s[i]!;
      if (a === b || b === 1) continue;
      if (a === 1) out[off + i] = b;
      else if (typeof a === 'number' && typeof b === 'number') {
        throw error(
          'SHAPE_MISMATCH',
          `inputs of shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')} cannot be broadcast`,
          nodeLocation(node),
        );
      } else if (typeof a === 'string' && typeof b === 'number') out[off + i] = b;
    }
  }
  return out;
}
