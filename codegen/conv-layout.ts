// The layout cost model for the weights of KxK convolutions with groups = 1 (the direct
// kernels): dense (conv.ts) or unstructured sparse (sparse-conv.ts: per output channel and
// tap, a list of input channels with one-byte steps, 5 bytes per nonzero). Fitted to
// interleaved measurements of 3x3 convs (bench/sparse-conv.ts, CPU-time medians, 64@56x56,
// 128@28, 256@14, 512@7, densities 100/50/30/10%): the sparse kernel's time is close to
// proportional to density, at 0.3x-0.9x density x the dense time at stride 1 (median 0.55)
// and 0.5x-1.8x at stride 2 (median 1.0; four pixels per vector take two loads and a
// shuffle; the worst at 64 input channels and 90%, where each tap's list is short). So it is
// faster than our dense direct kernel even on an unpruned weight at stride 1, but its weight
// takes about 1.3x density x the dense bytes: `auto` takes it only where it is faster and its
// weight is no bigger than the dense one (density <= 1/1.3).

import type { WeightStats } from './layout.js';
import type { FormatOption, LayerChoice } from './schedule.js';

const SPARSE_COST_PER_DENSITY = { stride1: 0.55, strided: 1.0 };
/** Sparse weight bytes over density x dense bytes (5 bytes per nonzero, list lengths, padding). */
const SPARSE_BYTES_RATIO = 1.3;

export interface ConvLayer {
  node: string;
  weight: string;
  /** Output pixels, inputs per output (Cin * kh * kw), output channels. */
  M: number;
  K: number;
  N: number;
  kh: number;
  kw: number;
  /** The largest of the convolution's strides. */
  stride: number;
}

/** The sparse direct kernel's estimated time relative to the dense direct kernel's. */
export function sparseConvCost(stats: WeightStats, stride: number): number {
  return stats.density * (stride === 1 ? SPARSE_COST_PER_DENSITY.stride1 : SPARSE_COST_PER_DENSITY.strided);
}

/** Dense or sparse (layout 'csr') for one direct convolution's weight; --format nm and bsr have no conv form and choose as auto. */
export function chooseConvLayout(layer: ConvLayer, stats: WeightStats, format: FormatOption): LayerChoice {
  const { kh, kw, stride, ...desc } = layer;
  const cost = sparseConvCost(stats, stride);
  const pct = `${(stats.density * 100).toFixed(1)}% dense`;
  const choice = (sparse: boolean, reason: string): LayerChoice => ({
    ...desc, ...stats, layout: sparse ? 'csr' : 'dense', relativeCost: sparse ? cost : 1, reason: `${kh}x${kw} conv: ${reason}`,
  });
  if (format === 'dense' || format === 'csr') return choice(format === 'csr', `--format ${format} (${pct})`);
  const sparse = cost < 1 && stats.density * SPARSE_BYTES_RATIO <= 1;
  const why = sparse ? 'sparse direct kernel' : cost < 1 ? 'dense (the sparse weight would be bigger)' : 'dense direct kernel';
  return choice(sparse, `${pct}: ${why}, sparse estimated ${cost.toFixed(2)}x dense time`);
}
