// The sparsity analysis: for every weight, how sparse it is and in which patterns; what its
// dead channels make removable through the graph; zero attention heads; and, with calibration
// data, activation sparsity and expert routing. `analyzeSparsity` returns a typed report (the
// CLI prints it, writes it as JSON or HTML); the 'analyze-sparsity' pass annotates each weight
// consumer with its layer record under the 'sparsity' key.

import type { Graph, Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { definePass } from '../pass.js';
import { analyzeActivations, type ActivationSparsity, type ExpertRouting } from './activations.js';
import { findRemovableChannels, type ChannelRemoval } from './channels.js';
import { findZeroHeads, type HeadAnalysis } from './heads.js';
import {
  BLOCK_SHAPES,
  blockLabel,
  colCounts,
  countNonzeros,
  deadChannels,
  nmCompliance,
  nmLabel,
  NM_PATTERNS,
  nonzeroMask,
  rowCounts,
  zeroBlockFraction,
  zeroIndices,
} from './patterns.js';
import { findWeights, type WeightRole, type WeightView } from './weights.js';

export type { ActivationSparsity, ExpertRouting } from './activations.js';
export type { ChannelRemoval } from './channels.js';
export type { HeadAnalysis, HeadReport } from './heads.js';

export interface NMResult {
  /** 'n:m' */
  readonly pattern: string;
  /** Fraction of groups of m consecutive columns with at most n nonzeros. */
  readonly compliance: number;
}

export interface BlockResult {
  /** 'RxC': R output rows by C reduction columns. */
  readonly shape: string;
  /** Fraction of blocks that are all zero. */
  readonly zeroFraction: number;
}

export interface LayerSparsity {
  /** The weight's name, its consumer node and op. */
  readonly name: string;
  readonly node: string;
  readonly op: string;
  readonly role: WeightRole;
  readonly rows: number;
  readonly cols: number;
  readonly params: number;
  readonly nonzeros: number;
  readonly density: number;
  readonly nm: NMResult[];
  readonly blocks: BlockResult[];
  /** The block shape with the most all-zero blocks (larger blocks win ties); absent when none is zero. */
  readonly bestBlock?: BlockResult;
  /** All-zero output rows. */
  readonly deadRows: number[];
  /** All-zero input channels (matrix columns; for Conv, channels with every tap zero). */
  readonly deadCols: number[];
}

export interface SparsitySummary {
  readonly layers: number;
  readonly params: number;
  readonly nonzeros: number;
  readonly density: number;
  /** 2:4 compliance over all groups of all layers. */
  readonly compliance24: number;
  /** Layers whose every group is 2:4. */
  readonly layers24: number;
  readonly deadRows: number;
  readonly deadCols: number;
  /** Channels removable through the graph (rows and columns, counted once per layer and axis). */
  readonly removableChannels: number;
  readonly zeroHeads: number;
  /** Mean exact-zero fraction of layer inputs (with calibration). */
  readonly activationZeroFraction?: number;
}

export interface SparsityReport {
  readonly layers: LayerSparsity[];
  readonly removable: ChannelRemoval[];
  readonly heads: HeadAnalysis;
  /** With calibration data only. */
  readonly activations?: ActivationSparsity[];
  readonly routing?: ExpertRouting[];
  readonly calibrationBatches?: number;
  readonly summary: SparsitySummary;
}

export interface AnalyzeOptions {
  /** Sample batches; adds activation sparsity and expert routing. */
  calibration?: Iterable<ReadonlyMap<string, Tensor>>;
}

export function analyzeSparsity(graph: Graph, opts: AnalyzeOptions = {}): SparsityReport {
  const views = findWeights(graph);
  const rowNonzeros = new Map<WeightView, Int32Array>();
  const dead = new Map<WeightView, { rows: number[]; cols: number[] }>();
  const layers = views.map((view) => {
    const { layer, rowCount } = analyzeLayer(view);
    rowNonzeros.set(view, rowCount);
    dead.set(view, { rows: layer.deadRows, cols: layer.deadCols });
    return layer;
  });
  const removable = findRemovableChannels(views, dead);
  const heads = findZeroHeads(graph, views, rowNonzeros);
  let batches = 0;
  const counted = opts.calibration && (function* (source) {
    for (const b of source) {
      batches++;
      yield b;
    }
  })(opts.calibration);
  const dynamic = counted ? analyzeActivations(graph, views, counted) : undefined;
  const report = {
    layers,
    removable,
    heads,
    ...(dynamic ? { activations: dynamic.activations, routing: dynamic.routing, calibrationBatches: batches } : {}),
  };
  return { ...report, summary: summarize(report) };
}

/** The per-weight record, and nonzeros per row (for head detection). */
export function analyzeLayer(view: WeightView): { layer: LayerSparsity; rowCount: Int32Array } {
  const { rows, cols } = view;
  const mask = nonzeroMask(view.read());
  const nonzeros = countNonzeros(mask);
  const nm = NM_PATTERNS.map((p) => ({ pattern: nmLabel(p), compliance: nmCompliance(mask, rows, cols, p) }));
  const blocks = BLOCK_SHAPES.map((b) => ({ shape: blockLabel(b), zeroFraction: zeroBlockFraction(mask, rows, cols, b) }));
  const area = (s: string) => s.split('x').reduce((a, d) => a * Number(d), 1);
  const best = blocks
    .filter((b) => b.zeroFraction > 0)
    .sort((a, b) => b.zeroFraction - a.zeroFraction || area(b.shape) - area(a.shape))[0];
  const rowCount = rowCounts(mask, rows, cols);
  const layer: LayerSparsity = {
    name: view.name,
    node: view.node.name,
    op: view.node.op,
    role: view.role,
    rows,
    cols,
    params: rows * cols,
    nonzeros,
    density: rows * cols ? nonzeros / (rows * cols) : 0,
    nm,
    blocks,
    ...(best ? { bestBlock: best } : {}),
    deadRows: zeroIndices(rowCount),
    deadCols: deadChannels(colCounts(mask, rows, cols), view.colChannel),
  };
  return { layer, rowCount };
}

function summarize(r: Omit<SparsityReport, 'summary'>): SparsitySummary {
  let params = 0;
  let nonzeros = 0;
  let groups = 0;
  let ok24 = 0;
  for (const l of r.layers) {
    params += l.params;
    nonzeros += l.nonzeros;
    const g = l.rows * Math.ceil(l.cols / 4);
    groups += g;
    ok24 += g * (l.nm.find((p) => p.pattern === '2:4')?.compliance ?? 0);
  }
  const acts = r.activations;
  return {
    layers: r.layers.length,
    params,
    nonzeros,
    density: params ? nonzeros / params : 0,
    compliance24: groups ? ok24 / groups : 1,
    layers24: r.layers.filter((l) => l.nm.find((p) => p.pattern === '2:4')?.compliance === 1).length,
    deadRows: r.layers.reduce((n, l) => n + l.deadRows.length, 0),
    deadCols: r.layers.reduce((n, l) => n + l.deadCols.length, 0),
    removableChannels: r.removable.reduce((n, x) => n + x.channels.length, 0),
    zeroHeads: r.heads.projections.reduce((n, h) => n + h.zeroHeads.length, 0),
    ...(acts && acts.length ? { activationZeroFraction: acts.reduce((s, a) => s + a.zeroFraction, 0) / acts.length } : {}),
  };
}

/** Annotate each weight consumer with its layer record ('sparsity'); changes nothing else. */
export const analyzeSparsityPass = definePass({
  name: 'analyze-sparsity',
  summary: 'Annotate every weight consumer with its sparsity: density, N:M compliance, zero blocks, dead channels.',
  run(model, ctx) {
    const report = analyzeSparsity(model.graph, ctx.calibration ? { calibration: ctx.calibration } : {});
    const byNode = new Map<string, Node>(model.graph.nodes.map((n) => [n.name, n]));
    for (const layer of report.layers) byNode.get(layer.node)?.annotations.set('sparsity', layer);
    const s = report.summary;
    return {
      changed: false,
      stats: { layers: s.layers, params: s.params, nonzeros: s.nonzeros, deadRows: s.deadRows, deadCols: s.deadCols, zeroHeads: s.zeroHeads },
    };
  },
});
