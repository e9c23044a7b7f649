// The layout cost model: which storage each Linear weight gets. Estimates are relative to our
// dense kernel's time on the same product, fitted to measurements of 768x3072 on this machine
// (bench/results.json; CPU time of interleaved rounds): the unstructured kernels took about
// 1.45x density of the dense time at 64 tokens (50%: 0.71x, 70%: 0.44x, 90%: 0.14x, with the
// 6-vector strips of strips.ts) and about 2.8x density at one token (90%: 0.28x dense wall time
// in npm run bench, with spmv.ts's channel pairs of offset groups, 1.04-1.06x the previous
// kernel's speed by bench/spmv-ab.ts, which fitted 3x), so unstructured pays below about 70%
// density for many tokens and about 35% for one. N:M (2:4, 4:8) runs at about
// 0.67x dense time at 64 tokens (the L1-blocked row-step kernel of nm.ts) and about 0.75x at
// one token (the selection-table kernel of nm-gemv.ts: 1.3-1.45x dense speed in CPU time on
// 1x768x3072 and 1x3072x768 in bench/nm-one-token.ts, 1.5x in wall time in npm run bench),
// so `auto` takes it at any token count.
// Block-sparse weights (bsr.ts) cost about a constant times their block density, the constant
// depending on the block shape (BSR_COST_PER_BLOCK_DENSITY); `bsr` takes the shape of least
// estimated cost among those the weight's zeros fit.

import { warning, type Diagnostic } from '../ir/diagnostics.js';
import { BLOCK_SHAPES, blockShape, blockStats, type BlockLabel } from './wasm/kernels/bsr-format.js';
import { nmPatternOf } from './wasm/kernels/nm.js';
import type { FormatOption, LayerChoice, WeightLayout } from './schedule.js';

const CSR_COST_PER_DENSITY = { tokens: 1.45, oneToken: 2.8 };
const NM_COST = { tokens: 0.67, oneToken: 0.75 };
/**
 * Time over dense time per block density, fitted to 768x3072 with 80% of its blocks zero
 * (bench/bsr-shapes.ts: CPU-time medians of interleaved rounds; four runs at load 10-12 on 2
 * cores; 64 tokens / 1 token): 4x1 1.13-1.29 / 1.30-1.46, 8x1 1.13-1.28 / 1.02-1.12, 1x4
 * 1.52-1.66 / 1.33-1.52, 4x4 1.11-1.25 / 1.04-1.05 (one load and shuffles for x). Within a
 * run the ratios between shapes held (one token: 8x1 and 4x4 about 0.78x of 4x1's time; 64
 * tokens: 8x1 and 4x4 0.97-0.99x, 1x4 1.3x). Eight-row and 4x4 blocks take one index load
 * per 8 or 16 weights instead of 4; 1x4 blocks share no activation load between channels.
 */
const BSR_COST_PER_BLOCK_DENSITY: Record<BlockLabel, { tokens: number; oneToken: number }> = {
  '4x1': { tokens: 1.2, oneToken: 1.4 },
  '8x1': { tokens: 1.18, oneToken: 1.1 },
  '1x4': { tokens: 1.55, oneToken: 1.45 },
  '4x4': { tokens: 1.16, oneToken: 1.08 },
};
/** Shapes by decreasing block size: on equal estimates the larger block wins (fewer index bytes). */
const BY_BLOCK_SIZE = [...BLOCK_SHAPES].sort((a, b) => blockArea(b) - blockArea(a));

function blockArea(label: BlockLabel): number {
  const { rows, cols } = blockShape(label);
  return rows * cols;
}

export interface WeightStats {
  density: number;
  is2of4: boolean;
  /** The N:M pattern (2:4 first, else 4:8) every group of the weight fits, if any: the layout `nm` takes it. */
  nm?: string;
  /** Fraction of blocks holding a nonzero, per block shape (rows = output channels x cols = inputs). */
  blockDensities: Record<BlockLabel, number>;
}

/** Density of W [K,N] and whether every group of 4 consecutive inputs (along K) keeps at most 2. */
export function weightStats(W: Float32Array, K: number, N: number): WeightStats {
  let nnz = 0;
  for (let i = 0; i < W.length; i++) if (W[i] !== 0) nnz++;
  const p = nmPatternOf(W, K, N);
  const nm = p ? (`${p.n}:${p.m}` as const) : undefined;
  return { density: W.length === 0 ? 1 : nnz / W.length, is2of4: nm === '2:4', ...(nm ? { nm } : {}), blockDensities: blockDensities(W, K, N) };
}

function blockDensities(W: Float32Array, K: number, N: number): Record<BlockLabel, number> {
  const out = {} as Record<BlockLabel, number>;
  for (const label of BLOCK_SHAPES) out[label] = blockStats(W, K, N, label).blockDensity;
  return out;
}

/** The block shape of least estimated cost for the weight, and that cost relative to dense. */
export function bestBlock(M: number, stats: WeightStats): { block: BlockLabel; cost: number } {
  const costOf = (label: BlockLabel) => stats.blockDensities[label] * BSR_COST_PER_BLOCK_DENSITY[label][M === 1 ? 'oneToken' : 'tokens'];
  let block = BY_BLOCK_SIZE[0]!;
  for (const label of BY_BLOCK_SIZE) if (costOf(label) < costOf(block)) block = label;
  return { block, cost: costOf(block) };
}

export function relativeCost(layout: WeightLayout, M: number, stats: WeightStats): number {
  if (layout === 'dense') return 1;
  if (layout === 'csr') return stats.density * (M === 1 ? CSR_COST_PER_DENSITY.oneToken : CSR_COST_PER_DENSITY.tokens);
  if (layout === 'bsr') return bestBlock(M, stats).cost;
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
  const { block } = bestBlock(layer.M, stats);
  const blockDensity = stats.blockDensities[block];
  const blocks = blockDensity < 1 ? `, ${(blockDensity * 100).toFixed(1)}% of ${block} blocks` : '';
  const pct = `${(stats.density * 100).toFixed(1)}% dense${blocks}`;
  const choice = (layout: WeightLayout, reason: string): LayerChoice => ({
    ...layer, ...stats, layout, ...(layout === 'bsr' ? { block } : {}), relativeCost: relativeCost(layout, layer.M, stats), reason,
  });
  if (format === 'nm' && !stats.nm) {
    warn(warning('LAYOUT_FALLBACK', `weight '${layer.weight}' is not 2:4 or 4:8 sparse along its inputs; it stays dense`, { node: layer.node, value: layer.weight }, 'Prune it with --pattern 2:4 first.'));
    return choice('dense', `--format nm, but not 2:4 or 4:8 (${pct})`);
  }
  if (format !== 'auto') return choice(format, `--format ${format} (${pct})`);
  let best: WeightLayout = 'dense';
  for (const l of layoutCandidates(stats)) if (relativeCost(l, layer.M, stats) < relativeCost(best, layer.M, stats)) best = l;
  const cost = relativeCost(best, layer.M, stats);
  return choice(best, `${pct}${stats.nm ? `, ${stats.nm}` : ''}: estimated ${cost.toFixed(2)}x dense time`);
}

/** The layouts `auto` weighs for a weight: N:M only where a pattern fits it. */
function layoutCandidates(stats: WeightStats): WeightLayout[] {
  return stats.nm ? ['dense', 'csr', 'bsr', 'nm'] : ['dense', 'csr', 'bsr'];
}

/** The layouts estimated within `factor` of the best estimate, best first: the ones worth timing (build --tune). */
export function layoutsNearBest(M: number, stats: WeightStats, factor = 2): WeightLayout[] {
  const costs = layoutCandidates(stats).map((layout) => ({ layout, cost: relativeCost(layout, M, stats) }));
  const best = Math.min(...costs.map((c) => c.cost));
  return costs.filter((c) => c.cost <= best * factor).sort((a, b) => a.cost - b.cost).map((c) => c.layout);
}
