// Shapes the coupling walk reasons with. Canonical transformer graphs carry symbolic dims after
// every reshape (`reshape_41`), so the walk cannot read a head count or a head width from the
// annotations. A probe binds every symbolic input dim to a small number, runs type inference
// (which evaluates the shape arithmetic feeding Reshape and Expand), records each value's
// concrete shape and restores the annotations exactly. Channel dims come out right whatever
// numbers the batch and sequence dims get.
//
// Also here: how one axis of a reshape corresponds to an axis of the other side, by the digits
// of the flat index within the group of axes the reshape regroups.

import type { DType } from '../../ir/dtype.js';
import type { Dim, Graph, Shape, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';

/** Numbers for symbolic input dims: odd and unlike typical channel counts. */
const PROBE_DIMS = [7, 11, 13, 17, 19, 23];

/** Concrete shapes of `graph`'s values (those inference could make static). */
export function probeShapes(graph: Graph): Map<Value, number[]> {
  const saved = new Map<Value, { dtype: DType | undefined; shape: Shape | undefined }>();
  const all: Value[] = [...graph.inputs, ...graph.nodes.flatMap((n) => n.outputs)];
  for (const v of all) saved.set(v, { dtype: v.dtype, shape: v.shape });
  const bound = new Map<string, number>();
  const bind = (d: Dim): number => {
    if (typeof d === 'number') return d;
    if (!bound.has(d)) bound.set(d, PROBE_DIMS[bound.size % PROBE_DIMS.length]!);
    return bound.get(d)!;
  };
  const out = new Map<Value, number[]>();
  try {
    for (const v of graph.inputs) if (v.shape) v.shape = v.shape.map(bind);
    inferTypes(graph, { overwrite: true });
    for (const v of all) {
      const s = v.staticShape;
      if (s) out.set(v, [...s]);
    }
  } catch {
    // A graph inference cannot type: the walk falls back to the annotations.
  } finally {
    for (const [v, s] of saved) {
      v.dtype = s.dtype;
      v.shape = s.shape;
    }
  }
  return out;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Flat groups larger than this are not enumerated (no transformer reshape comes near it). */
const MAX_GROUP = 1 << 22;

/**
 * Channels on axis `a` of a tensor with dims `from` (the `removed` indices) seen on the other
 * side of a reshape to dims `to`: the axis of `to` and the indices removed there, or a reason
 * when the removal does not land on one axis (it would cut a head in half, say).
 */
export function mapThroughReshape(
  from: readonly number[],
  a: number,
  to: readonly number[],
  removed: ReadonlySet<number>,
): { axis: number; removed: Set<number> } | string {
  if (from.some((d) => d < 0) || to.some((d) => d < 0)) return `the reshape's dims are not all known (${from.join('x')} -> ${to.join('x')})`;
  if (product(from) !== product(to)) return `element counts differ (${from.join('x')} vs ${to.join('x')})`;
  const suffixFrom = from.map((_, i) => product(from.slice(i)));
  const suffixTo = [...to.map((_, j) => product(to.slice(j))), 1];
  suffixFrom.push(1);
  // The group of axes around `a` that maps onto a group of `to` as one flat range.
  let lo = a;
  while (lo > 0 && !suffixTo.includes(suffixFrom[lo]!)) lo--;
  let hi = a + 1;
  while (hi < from.length && !suffixTo.includes(suffixFrom[hi]!)) hi++;
  const toLo = suffixTo.indexOf(suffixFrom[lo]!);
  const toHi = suffixTo.lastIndexOf(suffixFrom[hi]!);
  const size = suffixFrom[lo]! / suffixFrom[hi]!;
  if (size > MAX_GROUP) return `the reshaped group has ${size} elements, too many to map`;
  // Flat indices (within the group) whose digit on axis a is removed.
  const innerA = suffixFrom[a + 1]! / suffixFrom[hi]!;
  const flat: number[] = [];
  for (let f = 0; f < size; f++) if (removed.has(Math.floor(f / innerA) % from[a]!)) flat.push(f);
  for (let k = toLo; k < toHi; k++) {
    const n = to[k]!;
    if (n === 1) continue;
    const inner = suffixTo[k + 1]! / suffixTo[toHi]!;
    const digits = new Set(flat.map((f) => Math.floor(f / inner) % n));
    if (digits.size * (size / n) === flat.length) return { axis: k, removed: digits };
  }
  if (flat.length === 0) return { axis: toLo, removed: new Set() };
  return `the removed channels do not form whole slices of one axis after the reshape (${from.join('x')} -> ${to.join('x')})`;
}
