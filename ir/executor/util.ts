// Small helpers shared by op definitions.

import { error } from '../diagnostics.js';
import { DType } from '../dtype.js';
import type { Dim, Node, Shape } from '../graph.js';
import type { TypeInfo } from '../opdef.js';

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

/** The node's input values that a definition reads as a list of ints (axes, shapes), if constant. */
export function constInts(info: TypeInfo | undefined): number[] | undefined {
  return info?.value ? info.value.toNumbers() : undefined;
}

/** Fail with UNSUPPORTED_OP for an attribute combination the reference executor does not define. */
export function unsupportedCase(node: Node, what: string): never {
  throw error('UNSUPPORTED_OP', `${node.opType} with ${what} is not supported`, nodeLocation(node));
}

/** Fail with BAD_ATTRIBUTE naming the node. */
export function badAttribute(node: Node, text: string): never {
  throw error('BAD_ATTRIBUTE', text, nodeLocation(node));
}

/** Fail with SHAPE_MISMATCH naming the node. */
export function shapeMismatch(node: Node, text: string): never {
  throw error('SHAPE_MISMATCH', text, nodeLocation(node));
}

/** Fail with TYPE_MISMATCH naming the node. */
export function typeMismatch(node: Node, text: string): never {
  throw error('TYPE_MISMATCH', text, nodeLocation(node));
}

/** Inference result "same dtype and shape as input i". */
export function sameAs(inputs: readonly (TypeInfo | undefined)[], i = 0): TypeInfo {
  const t = inputs[i];
  return { dtype: t?.dtype, shape: t?.shape };
}

/** Inference helper: the dtype shared by the given inputs, or TYPE_MISMATCH if two differ. */
export function commonDtype(node: Node, inputs: readonly (TypeInfo | undefined)[], indices?: readonly number[]): DType | undefined {
  let dt: DType | undefined;
  for (const i of indices ?? inputs.map((_, k) => k)) {
    const d = inputs[i]?.dtype;
    if (d === undefined) continue;
    if (dt !== undefined && d !== dt) typeMismatch(node, `inputs have different dtypes ${dt} and ${d}`);
    dt = d;
  }
  return dt;
}

/** A float attribute, also accepting an int attribute (builders write `alpha: 2` as an int). */
export function attrNumber(node: Node, name: string, def: number): number {
  const a = node.attr(name);
  return a && (a.kind === 'float' || a.kind === 'int') ? a.value : def;
}

/**
 * A dtype-valued attribute (Cast.to, EyeLike.dtype, ...): a string attribute holding a DType
 * name, as the frontend writes it (ONNX's integer codes never reach the IR). Absent: undefined.
 */
export function dtypeAttr(node: Node, name: string): DType | undefined {
  const a = node.attr(name);
  if (a === undefined) return undefined;
  if (a.kind !== 'string') badAttribute(node, `attribute '${name}' must be a dtype name (string), got ${a.kind}`);
  if (!Object.hasOwn(DType, a.value)) {
    throw error('UNSUPPORTED_DTYPE', `attribute '${name}' names dtype '${a.value}', which sparsec does not know`, nodeLocation(node));
  }
  return a.value as DType;
}
