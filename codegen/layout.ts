// The layout cost model: which storage each Linear weight gets. Estimates are relative to our
// dense kernel's time on the same product, fitted to measurements of 768x3072 on this machine
// (bench/results.json; CPU time of interleaved rounds): the unstructured kernels took about
// 1.45x density of the dense time at 64 tokens (50%: 0.71x, 70%: 0.44x, 90%: 0.14x, with the
// 6-vector strips of strips.ts) and about 3x density at one token (70%: 1.35x, 90%: 0.29x), so
// unstructured pays below about 70% density for many tokens. N:M (2:4) runs at about 0.67x
// dense time at 64 tokens (the L1-blocked row-step kernel of nm.ts) but 2.2x at one token
// (its x gather is slower than dense's broadcast), so `auto` takes it for many tokens only.
// 4x1 blocks (bsr.ts) at 20% block density ran at 0.22x dense time at 64 tokens and 0.29x at
// one token: about 1.1x and 1.45x the block density.

import { warning, type Diagnostic } from '../ir/diagnostics.js';
import { blockStats } from './wasm/kernels/bsr.js';
import { nmPatternOf } from './wasm/kernels/nm.js';
import type { FormatOption, LayerChoice, WeightLayout } from './schedule.js';

const CSR_COST_PER_DENSITY = { tokens: 1.45, oneToken: 3.0 };
const NM_COST = { tokens: 0.67, oneToken: 2.2 };
const BSR_COST_PER_BLOCK_DENSITY = { tokens: 1.1, oneToken: 1.45 };

export interface WeightStats {
  density: number;
  is2of4: boolean;
  /** The N:M pattern (2:4 first, else 4:8) every group of the weight fits, if any: the layout `nm` takes it. */
  nm?: string;
  /** Fraction of 4x1 blocks (4 output channels x 1 input) holding a nonzero. */
  blockDensity: number;
}

/** Density of W [K,N] and whether every group of 4 consecutive inputs (along K) keeps at most 2. */
export function weightStats(W: Float32Array, K: number, N: number): WeightStats {
  let nnz = 0;
  for (let i = 0; i < W.length; i++) if (W[i] !== 0) nnz++;
  const p = nmPatternOf(W, K, N);
  const nm = p ? (`${p.n}:${p.m}` as const) : undefined;
  return { density: W.length === 0 ? 1 : nnz / W.length, is2of4: nm === '2:4', ...(nm ? { nm } : {}), blockDensity: blockStats(W, K, N).blockDensity };
}

export function relativeCost(layout: WeightLayout, M: number, stats: WeightStats): number {
  if (layout === 'dense') return 1;
  if (layout === 'csr') return stats.density * (M === 1 ? CSR_COST_PER_DENSITY.oneToken : CSR_COST_PER_DENSITY.tokens);
  if (layout === 'bsr') return stats.blockDensity * (M === 1 ? BSR_COST_PER_BLOCK_DENSITY.oneToken : BSR_COST_PER_BLOCK_DENSITY.tokens);
  return M === 1 ? NM_COST.oneToken : NM_COST.tokens;
}

export interface LayerDesc {
  node: string;
  weight: string;
  M: number;
  K: number;
  N: number;
}

/** Pick the layout for one weight; a forced format that cannot hold the weight warns and falls back to dense. */
export function chooseLayout(layer: LayerDesc, W: Float32Array, format: FormatOption, warn: (d: Diagnostic) => void): LayerChoice {
  const stats = weightStats(W, layer.K, layer.N);
  const blocks = stats.blockDensity < 1 ? `, ${(stats.blockDensity * 100).toFixed(1)}% of 4x1 blocks` : '';
  const pct = `${(stats.density * 100).toFixed(1)}% dense${blocks}`;
  const choice = (layout: WeightLayout, reason: string): LayerChoice => ({
    ...layer, ...stats, layout, relativeCost: relativeCost(layout, layer.M, stats), reason,
  });
  if (format === 'nm' && !stats.nm) {
    warn(warning('LAYOUT_FALLBACK', `weight '${layer.weight}' is not 2:4 or 4:8 sparse along its inputs; it stays dense`, { node: layer.node, value: layer.weight }, 'Prune it with --pattern 2:4 first.'));
    return choice('dense', `--format nm, but not 2:4 or 4:8 (${pct})`);
  }
  if (format !== 'auto') return choice(format, `--format ${format} (${pct})`);
  const candidates: WeightLayout[] = stats.nm ? ['dense', 'csr', 'bsr', 'nm'] : ['dense', 'csr', 'bsr'];
  let best: WeightLayout = 'dense';
  for (const l of candidates) if (relativeCost(l, layer.M, stats) < relativeCost(best, layer.M, stats)) best = l;
  const cost = relativeCost(best, layer.M, stats);
  return choice(best, `${pct}${stats.nm ? `, ${stats.nm}` : ''}: estimated ${cost.toFixed(2)}x dense time`);
}
