// Quantized convolutions: ConvInteger (int32 output) and QLinearConv (requantized output).
// Both shift inputs and weights by their zero points into float64, where every integer
// product and sum up to 2^53 is exact, and reuse Conv's computation.

import { error } from '../../diagnostics.js';
import type { Node } from '../../graph.js';
import type { InferContext, OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { roundHalfEven } from '../mathfn.js';
import { nodeLocation } from '../util.js';
import { convolve, inferConv } from './conv.js';

/** t - zeroPoint as float64; the zero point is a scalar or one value per `axis` slice. */
function shifted(node: Node, t: Tensor, zeroPoint: Tensor | undefined, perChannelAxis0: boolean): Float64Array {
  const out = new Float64Array(t.size);
  const zp = zeroPoint?.toNumbers() ?? [0];
  if (zp.length !== 1 && !(perChannelAxis0 && zp.length === t.shape[0])) {
    throw error('SHAPE_MISMATCH', `zero point of ${zp.length} values does not fit [${t.shape.join(',')}]`, nodeLocation(node));
  }
  const inner = t.size / (t.shape[0] ?? 1);
  for (let i = 0; i < out.length; i++) out[i] = t.get(i) - zp[zp.length === 1 ? 0 : Math.floor(i / inner)]!;
  return out;
}

function runConvInteger(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const [x, w, xZero, wZero] = inputs as [Tensor, Tensor, Tensor | undefined, Tensor | undefined];
  const y = convolve(node, shifted(node, x, xZero, false), x.shape, shifted(node, w, wZero, true), w.shape, undefined, (n) => new Float64Array(n));
  return [new Tensor('int32', y.shape, Int32Array.from(y.data))];
}

function inferConvInteger(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  return [{ ...inferConv(node, inputs, ctx)[0], dtype: 'int32' }];
}

const RANGES: Partial<Record<Tensor['dtype'], [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
};

function runQLinearConv(node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const [x, xScale, xZero, w, wScale, wZero, yScale, yZero, bias] = inputs as (Tensor | undefined)[];
  const outDtype = yZero?.dtype ?? x!.dtype;
  const range = RANGES[outDtype];
  if (!range) throw error('UNSUPPORTED_DTYPE', `QLinearConv output type ${outDtype} is not supported`, nodeLocation(node));
  const y = convolve(
    node, shifted(node, x!, xZero, false), x!.shape, shifted(node, w!, wZero, true), w!.shape,
    bias && Float64Array.from(bias.toNumbers()), (n) => new Float64Array(n),
  );
  const M = w!.shape[0]!;
  const ws = wScale!.toNumbers();
  const xs = xScale!.get(0);
  const ys = yScale!.get(0);
  const zp = yZero ? yZero.get(0) : 0;
  const plane = y.data.length / (y.shape[0]! * M);
  const out = Tensor.zeros(outDtype, y.shape);
  for (let i = 0; i < y.data.length; i++) {
    const m = Math.floor(i / plane) % M;
    // Requantize in float32 like the reference kernels: acc * (x_scale * w_scale / y_scale).
    const multiplier = Math.fround(Math.fround(xs * ws[ws.length === 1 ? 0 : m]!) / ys);
    const q = roundHalfEven(Math.fround(y.data[i]! * multiplier)) + zp;
    out.set(i, Math.min(Math.max(q, range[0]), range[1]));
  }
  return [out];
}

function inferQLinearConv(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[] {
  const shape = inferConv(node, [inputs[0], inputs[3]], ctx)[0]?.shape;
  return [{ dtype: inputs[7]?.dtype ?? inputs[0]?.dtype, shape }];
}

export const convIntegerDefs: OpDef[] = [
  { op: Op.ConvInteger, infer: inferConvInteger, run: runConvInteger },
  { op: Op.QLinearConv, infer: inferQLinearConv, run: runQLinearConv },
];
