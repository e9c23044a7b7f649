// Spectral helper tensors (opset 17): the Hann, Hamming and Blackman windows and the
// MelWeightMatrix filter bank. Values are computed in float64 and converted to output_datatype
// (default float32; integer outputs truncate, as a cast does).

import type { DType } from '../../dtype.js';
import type { Node } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import type { Tensor } from '../../tensor.js';
import { fromFloats, unsupportedDtype } from '../numeric.js';
import { dtypeAttr } from '../util.js';
import { badInput, scalarOf } from './layout.js';

const NUMERIC_OUT = new Set<DType>([
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
]);

function outputDtype(node: Node): DType {
  const dt = dtypeAttr(node, 'output_datatype') ?? 'float32';
  if (!NUMERIC_OUT.has(dt)) unsupportedDtype(node, dt, 'output_datatype');
  return dt;
}

/** Generalized cosine window: Σ_k (-1)^k a_k cos(2πkn/N), with N = size (periodic) or size - 1. */
function cosineWindow(op: Op, coefficients: readonly number[]): OpDef {
  return {
    op,
    infer(node, [size], ctx) {
      return [{ dtype: outputDtype(node), shape: [size?.value ? size.value.get(0) : ctx.freshDim('window')] }];
    },
    run(node, [sizeT]) {
      const size = scalarOf(sizeT!, node, 'size');
      if (!Number.isInteger(size) || size < 0) badInput(node, `window size must be a non-negative integer, got ${size}`);
      const periodic = node.attrInt('periodic', 1) === 1;
      // A symmetric window of one sample has N = 0: take its single angle as 0.
      const denominator = periodic ? size : Math.max(size - 1, 1);
      const y = new Float64Array(size);
      for (let n = 0; n < size; n++) {
        let v = 0;
        coefficients.forEach((a, k) => (v += (k % 2 ? -a : a) * Math.cos((2 * Math.PI * k * n) / denominator)));
        y[n] = v;
      }
      return [fromFloats(outputDtype(node), [size], y)];
    },
  };
}

const hann = cosineWindow(Op.HannWindow, [0.5, 0.5]);
const hamming = cosineWindow(Op.HammingWindow, [25 / 46, 21 / 46]);
const blackman = cosineWindow(Op.BlackmanWindow, [0.42, 0.5, 0.08]);

// ---- MelWeightMatrix ----

const hertzToMel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
const melToHertz = (mel: number): number => 700 * (10 ** (mel / 2595) - 1);

/**
 * Triangular filters over the DFT bins, [dft_length / 2 + 1, num_mel_bins]. The band edges
 * follow the ONNX definition (and its reference output): num_mel_bins + 2 points, evenly
 * spaced in mel with a step of (high - low) / (num_mel_bins + 2), each mapped to the bin
 * floor((dft_length + 1) * hz / sample_rate).
 */
function melWeights(node: Node, mels: number, dftLength: number, sampleRate: number, lowHz: number, highHz: number): Float64Array {
  if (mels < 1 || dftLength < 1 || sampleRate <= 0) {
    badInput(node, `bad MelWeightMatrix sizes: num_mel_bins ${mels}, dft_length ${dftLength}, sample_rate ${sampleRate}`);
  }
  if (!(lowHz >= 0 && lowHz < highHz)) badInput(node, `bad MelWeightMatrix band ${lowHz}..${highHz} Hz`);
  const spectrogramBins = Math.floor(dftLength / 2) + 1;
  const lowMel = hertzToMel(lowHz);
  const step = (hertzToMel(highHz) - lowMel) / (mels + 2);
  const edges = Array.from({ length: mels + 2 }, (_, i) => Math.floor(((dftLength + 1) * melToHertz(i * step + lowMel)) / sampleRate));
  if (edges[mels]! >= spectrogramBins || edges[mels + 1]! > spectrogramBins) {
    badInput(node, `upper_edge_hertz ${highHz} lies past the last DFT bin`);
  }
  const out = new Float64Array(spectrogramBins * mels);
  for (let m = 0; m < mels; m++) {
    const [left, center, right] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    if (center === left) out[center * mels + m] = 1;
    for (let j = left; j < center + 1 && center > left; j++) out[j * mels + m] = (j - left) / (center - left);
    for (let j = center; j < right; j++) out[j * mels + m] = (right - j) / (right - center);
  }
  return out;
}

const scalar = (t: Tensor | undefined, node: Node, what: string): number => scalarOf(t!, node, what);

const melWeightMatrix: OpDef = {
  op: Op.MelWeightMatrix,
  infer(node, [mels, dftLength], ctx) {
    const bins = dftLength?.value ? Math.floor(dftLength.value.get(0) / 2) + 1 : ctx.freshDim('bins');
    return [{ dtype: outputDtype(node), shape: [bins, mels?.value ? mels.value.get(0) : ctx.freshDim('mels')] }];
  },
  run(node, [mels, dftLength, sampleRate, low, high]) {
    const m = scalar(mels, node, 'num_mel_bins');
    const n = scalar(dftLength, node, 'dft_length');
    const w = melWeights(node, m, n, scalar(sampleRate, node, 'sample_rate'), scalar(low, node, 'lower_edge_hertz'), scalar(high, node, 'upper_edge_hertz'));
    return [fromFloats(outputDtype(node), [Math.floor(n / 2) + 1, m], w)];
  },
};

export const windowDefs: OpDef[] = [hann, hamming, blackman, melWeightMatrix];
