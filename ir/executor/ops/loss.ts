// Training losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset-13 form, the
// same through opset 21). Both read scores as [N, C, d1, ..., dk] with one class index per
// [N, d1, ..., dk] position; SoftmaxCrossEntropyLoss is NLL over LogSoftmax along axis 1.
// Losses accumulate in float64 and round once to the input's dtype.

import { error } from '../../diagnostics.js';
import type { DType } from '../../dtype.js';
import type { Dim, Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, type Tensor } from '../../tensor.js';
import { familyOf, floatData, fromFloats, unsupportedDtype } from '../numeric.js';
import { badAttribute, nodeLocation, shapeMismatch, typeMismatch } from '../util.js';

type Reduction = 'none' | 'sum' | 'mean';

function reductionOf(node: Node): Reduction {
  const r = node.attrString('reduction', 'mean');
  if (r !== 'none' && r !== 'sum' && r !== 'mean') badAttribute(node, `reduction must be 'none', 'sum' or 'mean', not '${r}'`);
  return r;
}

/**
 * Shared inference: scores [N, C, d...], labels [N, d...], optional weight [C]. Returns the loss
 * type (labels' shape for reduction 'none', a scalar otherwise).
 */
function inferLoss(node: Node, scores: TypeInfo | undefined, labels: TypeInfo | undefined, weight: TypeInfo | undefined): TypeInfo {
  const reduction = reductionOf(node);
  if (labels?.dtype !== undefined && labels.dtype !== 'int32' && labels.dtype !== 'int64') {
    typeMismatch(node, `class indices must be int32 or int64, not ${labels.dtype}`);
  }
  if (scores?.dtype !== undefined && familyOf(scores.dtype) !== 'float') unsupportedDtype(node, scores.dtype);
  if (weight?.dtype !== undefined && scores?.dtype !== undefined && weight.dtype !== scores.dtype) {
    typeMismatch(node, `weight dtype ${weight.dtype} differs from the input's ${scores.dtype}`);
  }
  const s = scores?.shape;
  if (s && s.length < 2) shapeMismatch(node, `input must be [N, C, ...], got rank ${s.length}`);
  const l = labels?.shape;
  if (s && l) {
    const expected = [s[0]!, ...s.slice(2)];
    const fits = l.length === expected.length && l.every((d, i) => typeof d !== 'number' || typeof expected[i] !== 'number' || d === expected[i]);
    if (!fits) shapeMismatch(node, `target of shape [${l.join(',')}] does not match input [${s.join(',')}] (expected [${expected.join(',')}])`);
  }
  const w = weight?.shape;
  if (w && (w.length !== 1 || (s && typeof s[1] === 'number' && typeof w[0] === 'number' && w[0] !== s[1]))) {
    shapeMismatch(node, `weight must be [C], got [${w.join(',')}]`);
  }
  let shape: Dim[] | undefined;
  if (reduction !== 'none') shape = [];
  else if (l) shape = [...l];
  else if (s) shape = [s[0]!, ...s.slice(2)];
  return { dtype: scores?.dtype, shape };
}

/**
 * loss[n, d] = -logp[n, label, d] * weight[label], 0 where label == ignore_index, then reduced:
 * 'mean' divides the sum by the total weight of the positions that were not ignored.
 */
function nllLoss(node: Node, logp: ArrayLike<number>, shape: readonly number[], dtype: DType, labels: Tensor, weight: Tensor | undefined): Tensor {
  if (shape.length < 2) shapeMismatch(node, `input must be [N, C, ...], got [${shape.join(',')}]`);
  const n = shape[0]!;
  const c = shape[1]!;
  const inner = sizeOf(shape.slice(2));
  const labelShape = [n, ...shape.slice(2)];
  if (labels.shape.length !== labelShape.length || labels.shape.some((d, i) => d !== labelShape[i])) {
    shapeMismatch(node, `target of shape [${labels.shape.join(',')}] does not match input [${shape.join(',')}]`);
  }
  if (weight && weight.size !== c) shapeMismatch(node, `weight has ${weight.size} elements, expected one per class (${c})`);
  const w = weight ? floatData(weight) : undefined;
  const ignore = node.attrInt('ignore_index');
  const count = n * inner;
  const loss = new Float64Array(count);
  let lossSum = 0;
  let weightSum = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < inner; i++) {
      const at = b * inner + i;
      const label = labels.get(at);
      if (label === ignore) continue;
      if (!(label >= 0 && label < c)) {
        throw error('BAD_INPUT', `class index ${label} at position ${at} is outside [0, ${c})`, nodeLocation(node));
      }
      const wt = w ? w[label]! : 1;
      const v = -logp[(b * c + label) * inner + i]! * wt;
      loss[at] = v;
      lossSum += v;
      weightSum += wt;
    }
  }
  switch (reductionOf(node)) {
    case 'none':
      return fromFloats(dtype, labelShape, loss);
    case 'sum':
      return fromFloats(dtype, [], Float64Array.of(lossSum));
    case 'mean':
      // All positions ignored: 0/0 is NaN, as in ONNX's function body and PyTorch.
      return fromFloats(dtype, [], Float64Array.of(lossSum / weightSum));
  }
}

function checkScores(node: Node, scores: Tensor, labels: Tensor, weight: Tensor | undefined): void {
  if (familyOf(scores.dtype) !== 'float') unsupportedDtype(node, scores.dtype);
  if (labels.dtype !== 'int32' && labels.dtype !== 'int64') typeMismatch(node, `class indices must be int32 or int64, not ${labels.dtype}`);
  if (weight && weight.dtype !== scores.dtype) typeMismatch(node, `weight dtype ${weight.dtype} differs from the input's ${scores.dtype}`);
}

const nllLossDef: OpDef = {
  op: Op.NegativeLogLikelihoodLoss,
  infer: (node, [input, target, weight]) => [inferLoss(node, input, target, weight)],
  run(node, [input, target, weight]) {
    checkScores(node, input!, target!, weight);
    return [nllLoss(node, floatData(input!), input!.shape, input!.dtype, target!, weight)];
  },
};

/** LogSoftmax along axis 1 of [N, C, inner], in float64. */
function logSoftmaxAxis1(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const n = shape[0]!;
  const c = shape[1]!;
  const inner = sizeOf(shape.slice(2));
  const out = new Float64Array(n * c * inner);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < inner; i++) {
      const base = b * c * inner + i;
      let max = -Infinity;
      for (let k = 0; k < c; k++) max = Math.max(max, x[base + k * inner]!);
      let sum = 0;
      for (let k = 0; k < c; k++) sum += Math.exp(x[base + k * inner]! - max);
      const logSum = Math.log(sum) + max;
      for (let k = 0; k < c; k++) out[base + k * inner] = x[base + k * inner]! - logSum;
    }
  }
  return out;
}

const softmaxCrossEntropyDef: OpDef = {
  op: Op.SoftmaxCrossEntropyLoss,
  infer(node, [scores, labels, weights]) {
    const loss = inferLoss(node, scores, labels, weights);
    return [loss, { dtype: scores?.dtype, shape: scores?.shape }];
  },
  run(node, [scores, labels, weights]) {
    checkScores(node, scores!, labels!, weights);
    if (scores!.rank < 2) shapeMismatch(node, `input must be [N, C, ...], got [${scores!.shape.join(',')}]`);
    const logp = logSoftmaxAxis1(floatData(scores!), scores!.shape);
    const loss = nllLoss(node, logp, scores!.shape, scores!.dtype, labels!, weights);
    return [loss, fromFloats(scores!.dtype, scores!.shape, logp)];
  },
};

export const lossDefs: OpDef[] = [nllLossDef, softmaxCrossEntropyDef];
