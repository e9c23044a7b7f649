// Normalizations: LayerNormalization, sparsec's RMSNorm, BatchNormalization (inference and training),
// InstanceNormalization, GroupNormalization (opset-21: per-channel scale and bias),
// LpNormalization and MeanVarianceNormalization. Statistics accumulate in float64 and results
// round once to the input's dtype.

import type { Dim, Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { accessFor, at, indexMap } from '../broadcast.js';
import { familyOf, floatAlloc, floatData, fromFloats, unsupportedDtype } from '../numeric.js';
import { attrNumber, badAttribute, normalizeAxis, sameAs, shapeMismatch, unsupportedCase } from '../util.js';

type Floats = Float32Array | Float64Array;

function checkFloat(node: Node, t: Tensor): void {
  if (familyOf(t.dtype) !== 'float') unsupportedDtype(node, t.dtype);
}

/** Shape of per-row statistics: leading dims kept, normalized dims set to 1. */
function statsShape<D extends Dim>(shape: readonly D[], axis: number): (D | 1)[] {
  return shape.map((d, i) => (i < axis ? d : 1));
}

interface RowNormOptions {
  readonly center: boolean;
  readonly epsilon: number;
  readonly scale?: Tensor;
  readonly bias?: Tensor;
}

/**
 * Normalize each row of [outer, len] (the dims from `axis` on flattened): subtract the mean when
 * `center`, divide by sqrt(mean square + epsilon), then apply scale and bias broadcast over a row.
 */
function normalizeRows(node: Node, x: Tensor, axis: number, o: RowNormOptions): { y: Floats; mean: Float32Array; inv: Float32Array } {
  const rowShape = x.shape.slice(axis);
  const len = sizeOf(rowShape);
  const outer = len === 0 ? 0 : x.size / len;
  const xd = floatData(x);
  const y = floatAlloc(x.dtype, x.size);
  const mean = new Float32Array(outer);
  const inv = new Float32Array(outer);
  const sd = o.scale ? floatData(o.scale) : undefined;
  const bd = o.bias ? floatData(o.bias) : undefined;
  const is = o.scale ? rowAccess(node, o.scale, rowShape) : 'scalar';
  const ib = o.bias ? rowAccess(node, o.bias, rowShape) : 'scalar';
  for (let r = 0; r < outer; r++) {
    const base = r * len;
    let m = 0;
    if (o.center) {
      for (let j = 0; j < len; j++) m += xd[base + j]!;
      m /= len;
    }
    let v = 0;
    for (let j = 0; j < len; j++) {
      const d = xd[base + j]! - m;
      v += d * d;
    }
    const s = 1 / Math.sqrt(v / len + o.epsilon);
    mean[r] = m;
    inv[r] = s;
    for (let j = 0; j < len; j++) {
      let val = (xd[base + j]! - m) * s;
      if (sd) val *= sd[at(is, j)]!;
      if (bd) val += bd[at(ib, j)]!;
      y[base + j] = val;
    }
  }
  return { y, mean, inv };
}

function rowAccess(node: Node, t: Tensor, rowShape: readonly number[]) {
  const n = t.shape.length;
  if (n > rowShape.length || t.shape.some((d, i) => d !== 1 && d !== rowShape[rowShape.length - n + i])) {
    shapeMismatch(node, `scale/bias of shape [${t.shape.join(',')}] does not broadcast to the normalized shape [${rowShape.join(',')}]`);
  }
  return accessFor(t.shape, rowShape);
}

const layerNormDef: OpDef = {
  op: Op.LayerNormalization,
  infer(node, inputs) {
    const x = inputs[0];
    const stats: TypeInfo = { dtype: node.attrInt('stash_type', 1) === 1 ? 'float32' : x?.dtype };
    if (x?.shape) stats.shape = statsShape(x.shape, normalizeAxis(node.attrInt('axis', -1), x.shape.length, node));
    return [sameAs(inputs), stats, { ...stats }];
  },
  run(node, [x, scale, bias]) {
    checkFloat(node, x!);
    const axis = normalizeAxis(node.attrInt('axis', -1), x!.rank, node);
    const epsilon = attrNumber(node, 'epsilon', 1e-5);
    const { y, mean, inv } = normalizeRows(node, x!, axis, { center: true, epsilon, scale, bias });
    const shape = statsShape(x!.shape, axis);
    return [fromFloats(x!.dtype, x!.shape, y), new Tensor('float32', shape, mean), new Tensor('float32', shape, inv)];
  },
};

const rmsNormDef: OpDef = {
  op: Op.RMSNorm,
  infer: (_node, inputs) => [sameAs(inputs)],
  run(node, [x, scale]) {
    checkFloat(node, x!);
    const axis = normalizeAxis(node.attrInt('axis', -1), x!.rank, node);
    const epsilon = attrNumber(node, 'epsilon', 1e-5);
    return [fromFloats(x!.dtype, x!.shape, normalizeRows(node, x!, axis, { center: false, epsilon, scale }).y)];
  },
};

/** Per-channel affine y = x * a[c] + b[c] over [N, C, spatial...]. */
function perChannel(x: Tensor, a: Float64Array, b: Float64Array): Floats {
  const xd = floatData(x);
  const y = floatAlloc(x.dtype, x.size);
  const c = x.rank > 1 ? x.shape[1]! : 1;
  const spatial = sizeOf(x.shape.slice(2));
  for (let i = 0; i < xd.length; i++) {
    const ch = Math.floor(i / spatial) % c;
    y[i] = xd[i]! * a[ch]! + b[ch]!;
  }
  return y;
}

function channelVector(node: Node, t: Tensor | undefined, c: number, name: string): Float64Array {
  if (!t) return shapeMismatch(node, `${name} is required`);
  if (t.size !== c) shapeMismatch(node, `${name} has ${t.size} elements, expected one per channel (${c})`);
  return Float64Array.from(floatData(t));
}

/** Per-channel mean and (population) variance of [N, C, spatial...] over all but axis 1. */
function channelStats(x: Tensor): { mean: Float64Array; variance: Float64Array } {
  const c = x.rank > 1 ? x.shape[1]! : 1;
  const spatial = sizeOf(x.shape.slice(2));
  const count = x.size / Math.max(1, c);
  const xd = floatData(x);
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < xd.length; i++) mean[Math.floor(i / spatial) % c] += xd[i]!;
  for (let ch = 0; ch < c; ch++) mean[ch] /= count;
  for (let i = 0; i < xd.length; i++) {
    const ch = Math.floor(i / spatial) % c;
    variance[ch] += (xd[i]! - mean[ch]!) ** 2;
  }
  for (let ch = 0; ch < c; ch++) variance[ch] /= count;
  return { mean, variance };
}

/** Inference mode has one output; older opsets' training outputs without training_mode are not defined. */
function checkInferenceOutputs(node: Node): void {
  if (node.outputs.length > 1) unsupportedCase(node, `${node.outputs.length} outputs but training_mode=0 (the pre-opset-14 training form)`);
}

/**
 * Opset-15 BatchNormalization. Inference normalizes with the given statistics. Training mode
 * (training_mode=1) normalizes with the batch's own mean and population variance and also
 * returns the updated running statistics: running = input * momentum + batch * (1 - momentum).
 */
const batchNormDef: OpDef = {
  op: Op.BatchNormalization,
  infer(node, inputs) {
    if (node.attrInt('training_mode', 0) === 0) {
      checkInferenceOutputs(node);
      return [sameAs(inputs)];
    }
    const c = inputs[0]?.shape?.[1];
    const stats = (i: number): TypeInfo => ({ dtype: inputs[i]?.dtype, shape: inputs[i]?.shape ?? (c !== undefined ? [c] : undefined) });
    return [sameAs(inputs), stats(3), stats(4)];
  },
  run(node, [x, scale, bias, mean, variance]) {
    checkFloat(node, x!);
    const training = node.attrInt('training_mode', 0) !== 0;
    if (!training) checkInferenceOutputs(node);
    const c = x!.rank > 1 ? x!.shape[1]! : 1;
    const epsilon = attrNumber(node, 'epsilon', 1e-5);
    const s = channelVector(node, scale, c, 'scale');
    const b = channelVector(node, bias, c, 'B');
    const inputMean = channelVector(node, mean, c, 'input_mean');
    const inputVar = channelVector(node, variance, c, 'input_var');
    const batch = training ? channelStats(x!) : undefined;
    const m = batch?.mean ?? inputMean;
    const v = batch?.variance ?? inputVar;
    // Fold the statistics into one multiply-add per element.
    const a = s.map((sc, i) => sc / Math.sqrt(v[i]! + epsilon));
    const shift = b.map((bi, i) => bi - m[i]! * a[i]!);
    const y = fromFloats(x!.dtype, x!.shape, perChannel(x!, a, shift));
    if (!batch) return [y];
    const momentum = attrNumber(node, 'momentum', 0.9);
    const running = (input: Float64Array, current: Float64Array, like: Tensor) =>
      fromFloats(like.dtype, like.shape, input.map((r, i) => r * momentum + current[i]! * (1 - momentum)));
    return [y, running(inputMean, batch.mean, mean!), running(inputVar, batch.variance, variance!)];
  },
};

/** Mean and 1/sqrt(var + eps) of consecutive blocks of `len` elements. */
function blockStats(xd: Floats, len: number, epsilon: number): { mean: Float64Array; inv: Float64Array } {
  const blocks = len === 0 ? 0 : xd.length / len;
  const mean = new Float64Array(blocks);
  const inv = new Float64Array(blocks);
  for (let g = 0; g < blocks; g++) {
    let m = 0;
    for (let j = 0; j < len; j++) m += xd[g * len + j]!;
    m /= len;
    let v = 0;
    for (let j = 0; j < len; j++) v += (xd[g * len + j]! - m) ** 2;
    mean[g] = m;
    inv[g] = 1 / Math.sqrt(v / len + epsilon);
  }
  return { mean, inv };
}

/** Normalize blocks of channels (groups) per sample, then scale and shift per channel. */
function groupNormalize(node: Node, x: Tensor, groups: number, scale?: Tensor, bias?: Tensor): Tensor {
  checkFloat(node, x);
  if (x.rank < 2) shapeMismatch(node, `input must be [N, C, ...], got [${x.shape.join(',')}]`);
  const c = x.shape[1]!;
  if (groups <= 0 || c % groups !== 0) badAttribute(node, `num_groups ${groups} does not divide the ${c} channels`);
  const s = channelVector(node, scale, c, 'scale');
  const b = channelVector(node, bias, c, 'bias');
  const spatial = sizeOf(x.shape.slice(2));
  const xd = floatData(x);
  const groupLen = (c / groups) * spatial;
  const { mean, inv } = blockStats(xd, groupLen, attrNumber(node, 'epsilon', 1e-5));
  const y = floatAlloc(x.dtype, x.size);
  for (let i = 0; i < xd.length; i++) {
    const g = Math.floor(i / groupLen);
    const ch = Math.floor(i / spatial) % c;
    y[i] = (xd[i]! - mean[g]!) * inv[g]! * s[ch]! + b[ch]!;
  }
  return fromFloats(x.dtype, x.shape, y);
}

const instanceNormDef: OpDef = {
  op: Op.InstanceNormalization,
  infer: (_node, inputs) => [sameAs(inputs)],
  run: (node, [x, scale, bias]) => [groupNormalize(node, x!, x!.rank > 1 ? x!.shape[1]! : 1, scale, bias)],
};

const groupNormDef: OpDef = {
  op: Op.GroupNormalization,
  infer: (_node, inputs) => [sameAs(inputs)],
  run(node, [x, scale, bias]) {
    const groups = node.attrInt('num_groups');
    if (groups === undefined) badAttribute(node, 'GroupNormalization needs num_groups');
    return [groupNormalize(node, x!, groups, scale, bias)];
  },
};

const lpNormDef: OpDef = {
  op: Op.LpNormalization,
  infer: (_node, inputs) => [sameAs(inputs)],
  run(node, [x]) {
    checkFloat(node, x!);
    const p = node.attrInt('p', 2);
    if (p !== 1 && p !== 2) badAttribute(node, `p must be 1 or 2, not ${p}`);
    const axis = normalizeAxis(node.attrInt('axis', -1), x!.rank, node);
    const len = x!.shape[axis]!;
    const inner = sizeOf(x!.shape.slice(axis + 1));
    const outer = sizeOf(x!.shape.slice(0, axis));
    const xd = floatData(x!);
    const y = floatAlloc(x!.dtype, x!.size);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * len * inner + i;
        let norm = 0;
        for (let k = 0; k < len; k++) norm += p === 1 ? Math.abs(xd[base + k * inner]!) : xd[base + k * inner]! ** 2;
        if (p === 2) norm = Math.sqrt(norm);
        // A zero vector stays zero instead of becoming 0/0.
        for (let k = 0; k < len; k++) y[base + k * inner] = norm === 0 ? 0 : xd[base + k * inner]! / norm;
      }
    }
    return [fromFloats(x!.dtype, x!.shape, y)];
  },
};

/** MVN: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes` (default N, H, W). */
const mvnDef: OpDef = {
  op: Op.MeanVarianceNormalization,
  infer: (_node, inputs) => [sameAs(inputs)],
  run(node, [x]) {
    checkFloat(node, x!);
    const axes = node.attrInts('axes', [0, 2, 3]).map((a) => normalizeAxis(a, x!.rank, node));
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const slots = indexMap(kept, x!.shape);
    const n = sizeOf(kept);
    const count = x!.size / Math.max(1, n);
    const xd = floatData(x!);
    const sum = new Float64Array(n);
    const sq = new Float64Array(n);
    for (let i = 0; i < xd.length; i++) {
      sum[slots[i]!] += xd[i]!;
      sq[slots[i]!] += xd[i]! * xd[i]!;
    }
    const y = floatAlloc(x!.dtype, x!.size);
    for (let i = 0; i < xd.length; i++) {
      const m = sum[slots[i]!]! / count;
      const variance = sq[slots[i]!]! / count - m * m;
      y[i] = (xd[i]! - m) / (Math.sqrt(Math.max(0, variance)) + 1e-9);
    }
    return [fromFloats(x!.dtype, x!.shape, y)];
  },
};

export const normDefs: OpDef[] = [layerNormDef, rmsNormDef, batchNormDef, instanceNormDef, groupNormDef, lpNormDef, mvnDef];
