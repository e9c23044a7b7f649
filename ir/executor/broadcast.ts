// Numpy broadcasting over concrete shapes. An input is read in one of three ways: at the output
// index itself (same shape), at index 0 (a single element), or through an index map from output
// positions to input positions. The first two cover most calibration traffic without any
// per-element index arithmetic; the map covers the rest (bias vectors, per-channel scales, ...).

import type { Node } from '../graph.js';
import { sizeOf, stridesOf } from '../tensor.js';
import { broadcastShapes } from './util.js';

/** How to read one broadcast input: 'same', 'scalar', or an output->input index map. */
export type Access = 'same' | 'scalar' | Int32Array;

/** The broadcast shape of concrete shapes, or SHAPE_MISMATCH naming the node. */
export function broadcastConcrete(shapes: readonly (readonly number[])[], node: Node): number[] {
  // With numbers only, the symbolic rule is plain numpy broadcasting and yields numbers only.
  return broadcastShapes(shapes, node) as number[];
}

/** How an input of shape `inShape` is read when broadcast to `outShape`. */
export function accessFor(inShape: readonly number[], outShape: readonly number[]): Access {
  const n = sizeOf(inShape);
  if (n === 1) return 'scalar';
  if (n === sizeOf(outShape)) return 'same';
  return indexMap(inShape, outShape);
}

/** For each output position, the position of the element of `inShape` it reads. */
export function indexMap(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const total = sizeOf(outShape);
  const map = new Int32Array(total);
  if (total === 0) return map;
  const inStrides = stridesOf(inShape);
  // Strides of the input aligned to the output's axes; 0 where the input is broadcast.
  const bs = new Array<number>(rank).fill(0);
  const off = rank - inShape.length;
  for (let i = 0; i < inShape.length; i++) bs[off + i] = inShape[i] === 1 ? 0 : inStrides[i]!;
  // Trailing-vector fast case: the input is the output's last k dims (a bias of size n).
  let k = 0;
  let trailing = 1;
  while (k < inShape.length && bs[rank - 1 - k] !== 0 && inShape[inShape.length - 1 - k] === outShape[rank - 1 - k]) {
    trailing *= outShape[rank - 1 - k]!;
    k++;
  }
  if (trailing === sizeOf(inShape)) {
    for (let i = 0; i < total; i++) map[i] = i % trailing;
    return map;
  }
  const inner = outShape[rank - 1]!;
  const innerStride = bs[rank - 1]!;
  const counter = new Array<number>(rank).fill(0);
  let base = 0;
  for (let o = 0; o < total; o += inner) {
    for (let j = 0; j < inner; j++) map[o + j] = base + j * innerStride;
    // Advance the odometer over all but the last axis.
    for (let ax = rank - 2; ax >= 0; ax--) {
      counter[ax]!++;
      base += bs[ax]!;
      if (counter[ax]! < outShape[ax]!) break;
      base -= bs[ax]! * counter[ax]!;
      counter[ax] = 0;
    }
  }
  return map;
}

interface Indexed<T> {
  readonly length: number;
  [i: number]: T;
}

/** out[i] = f(a[ia(i)], b[ib(i)]) for every output position. */
export function applyBinary<A, B, R>(
  n: number,
  a: Indexed<A>,
  ia: Access,
  b: Indexed<B>,
  ib: Access,
  out: Indexed<R>,
  f: (x: A, y: B) => R,
): void {
  if (ia === 'same' && ib === 'same') for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!);
  else if (ia === 'same' && ib === 'scalar') {
    const y = b[0]!;
    for (let i = 0; i < n; i++) out[i] = f(a[i]!, y);
  } else if (ia === 'scalar' && ib === 'same') {
    const x = a[0]!;
    for (let i = 0; i < n; i++) out[i] = f(x, b[i]!);
  } else {
    // Scalars read through a map of zeros so the loops below stay branch-free.
    const ma = ia === 'same' ? undefined : ia === 'scalar' ? new Int32Array(n) : ia;
    const mb = ib === 'same' ? undefined : ib === 'scalar' ? new Int32Array(n) : ib;
    if (!ma) for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[mb![i]!]!);
    else if (!mb) for (let i = 0; i < n; i++) out[i] = f(a[ma[i]!]!, b[i]!);
    else for (let i = 0; i < n; i++) out[i] = f(a[ma[i]!]!, b[mb[i]!]!);
  }
}

/** Position read by output element i under an access mode. */
export const at = (acc: Access, i: number): number => (acc === 'same' ? i : acc === 'scalar' ? 0 : acc[i]!);
