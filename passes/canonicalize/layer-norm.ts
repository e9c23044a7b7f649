// Decomposed LayerNorm -> LayerNormalization. The PyTorch exporter (opset < 17) writes
//   d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(Pow(d, 2)) + eps) * gamma + beta
// and, for half-precision inputs, Cast(x -> float) first and Cast(normalized -> half) before
// the scale: that is exactly LayerNormalization with stash_type=1 (float32 statistics).

import { Op } from '../../ir/ops.js';
import { any, constant, oneOf, op, pattern, type Match } from '../pattern.js';
import { rule, type Rewriter } from '../rewrite.js';
import {
  broadcastConstant,
  castBackAndScale,
  divide,
  filled,
  floatAttr,
  intAttr,
  isRealCast,
  reduceMean,
  scalarOf,
  sqrtPlusEpsilon,
  square,
  staticTrailingDims,
  trailingAxis,
  usedOnlyBy,
} from './util.js';

const centered = op(Op.Sub, [any('xf'), reduceMean(any('xf'), 'mean')], { name: 'd' });
const variance = reduceMean(square(centered), 'variance');
const normalized = divide(centered, sqrtPlusEpsilon(variance));
const scaled = castBackAndScale(normalized, 'gamma');
const shifted = oneOf(op(Op.Add, [scaled, constant('beta')], { commutative: true }), scaled);

function toLayerNorm(m: Match, rw: Rewriter) {
  const xf = m.v.xf!;
  const axis = trailingAxis(m.v.meanAxes!.const!, xf.rank);
  if (axis === undefined || axis !== trailingAxis(m.v.varianceAxes!.const!, xf.rank)) return undefined;
  // With real casts around it, the input is the value before the upcast, and the
  // statistics stay in float32 (stash_type=1, the default).
  let x = xf;
  const castOut = m.n.castOut;
  if (castOut && isRealCast(castOut)) {
    const castIn = xf.producer;
    if (castIn?.op !== Op.Cast || !isRealCast(castIn) || !usedOnlyBy(xf, m.nodes)) return undefined;
    x = castIn.inputs[0]!;
    if (x.dtype === undefined || x.dtype !== castOut.outputs[0]!.dtype) return undefined;
  }
  const out = m.root.outputs[0]!;
  const dtype = out.dtype ?? x.dtype;
  const dims = staticTrailingDims(x.shape, axis);
  if (!dtype || !dims) return undefined;
  const affine = (name: 'gamma' | 'beta') => {
    const t = m.v[name]?.const;
    // A scale of higher rank than x would broadcast the output to a bigger shape.
    if (!t) return undefined;
    if (t.rank > x.shape!.length) return null;
    return broadcastConstant(t, dims, dtype) ?? null;
  };
  const gamma = affine('gamma');
  const beta = affine('beta');
  if (gamma === null || beta === null) return undefined;
  const scale = rw.constant(`${out.name}_scale`, gamma ?? filled(dtype, dims, 1));
  const bias = beta ? rw.constant(`${out.name}_bias`, beta) : undefined;
  return rw.op(
    Op.LayerNormalization,
    bias ? [x, scale, bias] : [x, scale],
    { axis: intAttr(axis), epsilon: floatAttr(scalarOf(m.v.eps)!) },
    { dtype, shape: out.shape ?? x.shape },
  );
}

export const layerNormRules = [rule('layer-norm', pattern(shifted), toLayerNorm, 10)];
