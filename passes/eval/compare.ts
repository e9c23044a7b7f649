// How far one model's outputs are from another's on the same inputs: per output, the largest
// absolute difference, that difference relative to the reference's largest magnitude (the
// tolerance measure the differential tests use), and the cosine similarity of the flattened
// outputs. All sums in float64.

import { error } from '../../ir/diagnostics.js';
import type { Tensor } from '../../ir/tensor.js';

export interface OutputDifference {
  name: string;
  shape: number[];
  maxAbs: number;
  /** maxAbs / max |reference| (0 when both are all zero). */
  relative: number;
  /** Cosine similarity; 1 when both are all zero. */
  cosine: number;
  /** Mean absolute difference. */
  meanAbs: number;
}

/** Compare `actual` against `reference`, output by output (matched by name). */
export function compareOutputs(reference: ReadonlyMap<string, Tensor>, actual: ReadonlyMap<string, Tensor>): OutputDifference[] {
  const out: OutputDifference[] = [];
  for (const [name, ref] of reference) {
    const got = actual.get(name);
    if (!got) throw error('BAD_MODEL', `the second model has no output '${name}' (its outputs are ${[...actual.keys()].map((k) => `'${k}'`).join(', ')})`, { value: name });
    out.push(difference(name, ref, got));
  }
  return out;
}

export function difference(name: string, reference: Tensor, actual: Tensor): OutputDifference {
  const same = reference.rank === actual.rank && reference.shape.every((d, i) => d === actual.shape[i]);
  if (!same) {
    throw error('SHAPE_MISMATCH', `output '${name}' is [${reference.shape.join(',')}] in the first model but [${actual.shape.join(',')}] in the second`, { value: name });
  }
  const numeric = (t: Tensor) => t.dtype !== 'string' && t.dtype !== 'complex64' && t.dtype !== 'complex128';
  if (!numeric(reference) || !numeric(actual)) throw error('UNSUPPORTED_DTYPE', `output '${name}' is ${reference.dtype}; only numeric outputs compare`, { value: name });
  let maxAbs = 0;
  let sumAbs = 0;
  let refMax = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < reference.size; i++) {
    const a = reference.get(i);
    const b = actual.get(i);
    const d = Math.abs(a - b);
    // A NaN anywhere makes the difference NaN: it must not read as a match.
    if (Number.isNaN(d)) maxAbs = NaN;
    else if (d > maxAbs) maxAbs = d;
    sumAbs += d;
    refMax = Math.max(refMax, Math.abs(a));
    dot += a * b;
    na += a * a;
    nb += b * b;
  }
  const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  const relative = maxAbs === 0 ? 0 : maxAbs / refMax;
  return { name, shape: [...reference.shape], maxAbs, relative, cosine, meanAbs: reference.size ? sumAbs / reference.size : 0 };
}
