// Refitting the reading layer after a removal: the out (or down) projection's rows for the
// kept channels and its bias are re-solved by least squares so that, on the calibration
// tokens, its output stays as close as possible to what it was with every channel:
//
//   W'_S = (C_SS + lambda I)^-1 C_S: W,   b' = b + m W - m_S W'_S
//
// with C the covariance of the layer's input channels (from X^T X and the mean m), S the kept
// channels and lambda a small damping. The removed channels' mean output moves into the bias
// (bias compensation) and what they carried that correlates with kept channels moves onto
// those. Removed rows keep their values; the coupling removes them right after.

import type { Graph, Node } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';
import { cholesky } from '../prune/linalg.js';

/** Calibration statistics of a reading layer's input: tokens, mean, and X^T X (K x K, row-major). */
export interface ReaderStats {
  readonly tokens: number;
  readonly mean: Float64Array;
  readonly gram: Float64Array;
}

/** Damping relative to the mean diagonal of the kept channels' covariance. */
const DAMPING = 0.01;

/** Refit `reader` (a Linear or Gemm that can take a bias); false if the system is singular. */
export function refitReader(graph: Graph, reader: Node, stats: ReaderStats, removed: readonly number[]): boolean {
  const layer = linearLayer(reader)!;
  const w = reader.inputs[layer.weightIndex]!.const!;
  const k = w.shape[layer.weightInAxis]!;
  const n = w.shape[layer.weightOutAxis]!;
  const at = (row: number, col: number) => (layer.weightInAxis === 0 ? row * n + col : col * k + row);
  const data = w.toFloat32();
  const drop = new Set(removed);
  const kept = [...Array(k).keys()].filter((c) => !drop.has(c));
  const s = kept.length;
  const { tokens, mean, gram } = stats;
  const cov = (i: number, j: number) => gram[i * k + j]! / tokens - mean[i]! * mean[j]!;

  const css = new Float64Array(s * s);
  let trace = 0;
  for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) css[a * s + b] = cov(kept[a]!, kept[b]!);
  for (let a = 0; a < s; a++) trace += css[a * s + a]!;
  const lambda = DAMPING * (trace / Math.max(1, s)) + 1e-12;
  for (let a = 0; a < s; a++) css[a * s + a]! += lambda;
  const l = cholesky(css, s);
  if (!l) return false;

  const next = Float32Array.from(data);
  const rhs = new Float64Array(s);
  const solution = new Float64Array(s);
  const oldBias = layer.biasIndex !== undefined ? reader.inputs[layer.biasIndex]!.const! : undefined;
  const bias = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    // rhs = C_S: W[:, col] (the full covariance, kept rows against all channels)
    for (let a = 0; a < s; a++) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += cov(kept[a]!, c) * data[at(c, col)]!;
      rhs[a] = sum;
    }
    solveCholesky(l, s, rhs, solution);
    let meanBefore = 0;
    for (let c = 0; c < k; c++) meanBefore += mean[c]! * data[at(c, col)]!;
    let meanAfter = 0;
    for (let a = 0; a < s; a++) {
      next[at(kept[a]!, col)] = solution[a]!;
      meanAfter += mean[kept[a]!]! * solution[a]!;
    }
    bias[col] = (oldBias ? oldBias.get(col % oldBias.size) : 0) + meanBefore - meanAfter;
  }
  reader.setInput(layer.weightIndex, graph.addConstant(`${reader.name}_refit`, new Tensor('float32', w.shape, next)));
  const b = Tensor.zeros(oldBias?.dtype ?? w.dtype, oldBias?.shape ?? [n]);
  for (let i = 0; i < b.size; i++) b.set(i, bias[i % n]!);
  reader.setInput(layer.biasIndex ?? 2, graph.addConstant(`${reader.name}_bias_refit`, b));
  return true;
}

/** Solve (L L^T) x = b for x. */
function solveCholesky(l: Float64Array, n: number, b: Float64Array, x: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let j = 0; j < i; j++) s -= l[i * n + j]! * x[j]!;
    x[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < n; j++) s -= l[j * n + i]! * x[j]!;
    x[i] = s / l[i * n + i]!;
  }
}
