// Fourier transforms: DFT (opset 20 form: dft_length and axis are inputs) and STFT (opset 17).
// Signals carry a trailing dim of 1 (real) or 2 (real, imaginary); outputs always end in 2.
// Sums run in float64 with exact twiddle angles (k * n taken mod N), one rounding per output.
// onesided keeps bins 0..floor(n/2) of the full transform, also for complex input (where the
// halves are not redundant), as the ONNX reference implementation does.

import type { Dim, Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf } from '../../tensor.js';
import { floatData, fromFloats, unsupportedDtype } from '../numeric.js';
import { shapeMismatch, unsupportedCase } from '../util.js';
import { badInput, scalarOf } from './layout.js';

const FLOATS = new Set(['float32', 'float64', 'float16', 'bfloat16']);

function checkSignalDtype(node: Node, info: TypeInfo | undefined): void {
  if (info?.dtype && !FLOATS.has(info.dtype)) unsupportedDtype(node, info.dtype);
}

/**
 * One transform of length `n` over `count` strided complex samples: out[k] = Σ x[j] w^(jk) with
 * w = e^(∓2πi/n), scaled by 1/n when inverse. Samples past `count` are zeros (dft_length padding).
 */
class Transform {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(
    readonly n: number,
    readonly inverse: boolean,
  ) {
    this.cos = new Float64Array(n);
    this.sin = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const angle = (2 * Math.PI * i) / n;
      this.cos[i] = Math.cos(angle);
      this.sin[i] = (inverse ? 1 : -1) * Math.sin(angle);
    }
  }

  /** out[2k], out[2k+1] for k < bins, from re[j], im[j] for j < count (count <= n). */
  run(re: Float64Array, im: Float64Array, count: number, bins: number, out: Float64Array): void {
    const { n, cos, sin } = this;
    const scale = this.inverse ? 1 / n : 1;
    for (let k = 0; k < bins; k++) {
      let sr = 0;
      let si = 0;
      for (let j = 0, t = 0; j < count; j++, t = (t + k) % n) {
        sr += re[j]! * cos[t]! - im[j]! * sin[t]!;
        si += re[j]! * sin[t]! + im[j]! * cos[t]!;
      }
      out[2 * k] = sr * scale;
      out[2 * k + 1] = si * scale;
    }
  }
}

const onesidedBins = (n: number): number => Math.floor(n / 2) + 1;

// ---- DFT ----

/** The signal axis from the optional axis input: in [-rank, -2] or [0, rank - 2]. */
function dftAxis(node: Node, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank - 1) badInput(node, `DFT axis ${axis} is out of range for an input of rank ${rank}`);
  return a;
}

const dft: OpDef = {
  op: Op.DFT,
  infer(node, [x, lengthInfo, axisInfo], ctx) {
    checkSignalDtype(node, x);
    if (node.attrInt('inverse', 0) === 1 && node.attrInt('onesided', 0) === 1) unsupportedCase(node, 'both inverse and onesided');
    const s = x?.shape;
    if (!s) return [{ dtype: x?.dtype }];
    if (s.length < 2) shapeMismatch(node, `DFT input needs a signal dim and a trailing dim of 1 or 2, got rank ${s.length}`);
    const last = s[s.length - 1]!;
    if (typeof last === 'number' && last !== 1 && last !== 2) shapeMismatch(node, `DFT input must end in a dim of 1 or 2, got ${last}`);
    const shape: Dim[] = [...s.slice(0, -1), 2];
    const axisKnown = node.inputs[2] === undefined || axisInfo?.value !== undefined;
    if (!axisKnown) return [{ dtype: x?.dtype, shape: shape.map((d, i) => (i === s.length - 1 ? d : ctx.freshDim('dft'))) }];
    const axis = dftAxis(node, axisInfo?.value ? axisInfo.value.get(0) : -2, s.length);
    let n: Dim = node.inputs[1] ? (lengthInfo?.value ? lengthInfo.value.get(0) : ctx.freshDim('dft')) : s[axis]!;
    if (node.attrInt('onesided', 0) === 1) n = typeof n === 'number' ? onesidedBins(n) : ctx.freshDim('dft');
    shape[axis] = n;
    return [{ dtype: x?.dtype, shape }];
  },
  run(node, [x, lengthT, axisT]) {
    const t = x!;
    if (t.rank < 2 || (t.shape[t.rank - 1] !== 1 && t.shape[t.rank - 1] !== 2)) {
      shapeMismatch(node, `DFT input must be [..., signal, 1 or 2], got [${t.shape.join(',')}]`);
    }
    const axis = dftAxis(node, axisT ? scalarOf(axisT, node, 'axis') : -2, t.rank);
    const inverse = node.attrInt('inverse', 0) === 1;
    const onesided = node.attrInt('onesided', 0) === 1;
    if (inverse && onesided) unsupportedCase(node, 'both inverse and onesided');
    const have = t.shape[axis]!;
    const n = lengthT ? scalarOf(lengthT, node, 'dft_length') : have;
    if (!Number.isInteger(n) || n < 1) badInput(node, `dft_length must be positive, got ${n}`);
    const bins = onesided ? onesidedBins(n) : n;
    const complexIn = t.shape[t.rank - 1] === 2;
    const outer = sizeOf(t.shape.slice(0, axis));
    const inner = sizeOf(t.shape.slice(axis + 1, -1));
    const outShape = [...t.shape.slice(0, -1), 2];
    outShape[axis] = bins;
    const src = floatData(t);
    const out = new Float64Array(sizeOf(outShape));
    const transform = new Transform(n, inverse);
    const count = Math.min(have, n);
    const re = new Float64Array(count);
    const im = new Float64Array(count);
    const spectrum = new Float64Array(2 * bins);
    const comps = complexIn ? 2 : 1;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        for (let j = 0; j < count; j++) {
          const at = ((o * have + j) * inner + i) * comps;
          re[j] = src[at]!;
          im[j] = complexIn ? src[at + 1]! : 0;
        }
        transform.run(re, im, count, bins, spectrum);
        for (let k = 0; k < bins; k++) {
          const at = ((o * bins + k) * inner + i) * 2;
          out[at] = spectrum[2 * k]!;
          out[at + 1] = spectrum[2 * k + 1]!;
        }
      }
    }
    return [fromFloats(t.dtype, outShape, out)];
  },
};

// ---- STFT ----

const stft: OpDef = {
  op: Op.STFT,
  infer(node, [signal, step, window, length], ctx) {
    checkSignalDtype(node, signal);
    const s = signal?.shape;
    if (s && s.length !== 3) shapeMismatch(node, `STFT signal must be [batch, length, 1 or 2], got rank ${s.length}`);
    const frameLength = length?.value ? length.value.get(0) : window?.shape?.[0];
    const stepValue = step?.value ? step.value.get(0) : undefined;
    const signalLength = s?.[1];
    const frames =
      typeof signalLength === 'number' && typeof frameLength === 'number' && stepValue !== undefined
        ? Math.floor((signalLength - frameLength) / stepValue) + 1
        : ctx.freshDim('frames');
    const bins =
      typeof frameLength === 'number' ? (node.attrInt('onesided', 1) === 1 ? onesidedBins(frameLength) : frameLength) : ctx.freshDim('bins');
    return [{ dtype: signal?.dtype, shape: [s?.[0] ?? ctx.freshDim('batch'), frames, bins, 2] }];
  },
  run(node, [signalT, stepT, windowT, lengthT]) {
    const t = signalT!;
    if (t.rank !== 3 || (t.shape[2] !== 1 && t.shape[2] !== 2)) {
      shapeMismatch(node, `STFT signal must be [batch, length, 1 or 2], got [${t.shape.join(',')}]`);
    }
    const [batch, signalLength, comps] = t.shape as [number, number, number];
    const step = scalarOf(stepT!, node, 'frame_step');
    if (windowT && windowT.rank !== 1) shapeMismatch(node, `STFT window must be 1-D, got [${windowT.shape.join(',')}]`);
    const frameLength = lengthT ? scalarOf(lengthT, node, 'frame_length') : windowT?.shape[0];
    if (frameLength === undefined) badInput(node, 'STFT needs a window or a frame_length');
    if (windowT && windowT.shape[0] !== frameLength) {
      badInput(node, `STFT window of length ${windowT.shape[0]} does not match frame_length ${frameLength}`);
    }
    if (step < 1 || frameLength < 1 || frameLength > signalLength) {
      badInput(node, `STFT frame_step ${step} / frame_length ${frameLength} do not fit a signal of ${signalLength}`);
    }
    const frames = Math.floor((signalLength - frameLength) / step) + 1;
    const bins = node.attrInt('onesided', 1) === 1 ? onesidedBins(frameLength) : frameLength;
    const window = windowT ? floatData(windowT) : new Float64Array(frameLength).fill(1);
    const src = floatData(t);
    const out = new Float64Array(batch * frames * bins * 2);
    const transform = new Transform(frameLength, false);
    const re = new Float64Array(frameLength);
    const im = new Float64Array(frameLength);
    const spectrum = new Float64Array(2 * bins);
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < frames; f++) {
        for (let j = 0; j < frameLength; j++) {
          const at = (b * signalLength + f * step + j) * comps;
          re[j] = src[at]! * window[j]!;
          im[j] = comps === 2 ? src[at + 1]! * window[j]! : 0;
        }
        transform.run(re, im, frameLength, bins, spectrum);
        out.set(spectrum, (b * frames + f) * bins * 2);
      }
    }
    return [fromFloats(t.dtype, [batch, frames, bins, 2], out)];
  },
};

export const signalDefs: OpDef[] = [dft, stft];
