// Decomposed RMSNorm -> Op.RMSNorm: x / Sqrt(ReduceMean(x^2) + eps) * weight, with x^2 as
// Pow or Mul and the division as Div, Reciprocal+Mul or Div(1, .)+Mul. Llama-style exports
// compute in float32 between casts (`weight * (x.float() * rsqrt(...)).to(dtype)`); a cast
// that really changes the dtype is kept around the RMSNorm (one fewer rounding than the
// original, within the half-precision tolerance).

import { Op } from '../../ir/ops.js';
import { any, pattern, type Match } from '../pattern.js';
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
} from './util.js';

const meanSquare = reduceMean(square(any('x')), 'mean');
const normalized = divide(any('x'), sqrtPlusEpsilon(meanSquare));
const scaled = castBackAndScale(normalized, 'weight');

function toRmsNorm(m: Match, rw: Rewriter) {
  const x = m.v.x!;
  const axis = trailingAxis(m.v.meanAxes!.const!, x.rank);
  const dims = staticTrailingDims(x.shape, axis ?? 0);
  if (axis === undefined || !dims || !x.dtype) return undefined;
  const out = m.root.outputs[0]!;
  const castOut = m.n.castOut;
  const weight = m.v.weight?.const;
  if (weight && weight.rank > x.shape!.length) return undefined;
  const scaleData = weight ? broadcastConstant(weight, dims, x.dtype) : filled(x.dtype, dims, 1);
  if (!scaleData) return undefined;
  const scale = rw.constant(`${out.name}_scale`, scaleData);
  const type = { dtype: x.dtype, shape: out.shape ?? x.shape };
  const attrs = { axis: intAttr(axis), epsilon: floatAttr(scalarOf(m.v.eps)!) };
  const y = rw.op(Op.RMSNorm, [x, scale], attrs, type);
  if (!castOut || !isRealCast(castOut)) return y;
  return rw.op(Op.Cast, [y], castOut.attrs, { dtype: out.dtype, shape: type.shape });
}

export const rmsNormRules = [rule('rms-norm', pattern(scaled), toRmsNorm, 10)];
