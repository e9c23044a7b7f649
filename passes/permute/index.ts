// N:M channel permutation: for every channel group (coupling.ts), search one permutation of its
// channels that makes N:M pruning of the group's readers keep the most magnitude (search.ts),
// and fold it into the graph's constants (fold.ts). The model computes the same function
// afterwards; pruning it to N:M then loses less.
//
// The readers of a group share one permutation, so the objective is the sum of theirs: their
// |W| matrices stacked along rows, each scaled so that what permutation can win on it is 1
// (score.ts scaledToRoom): the search then maximizes the mean of the layers' efficacies, and a
// large layer does not drown a small one. Readers the pruner leaves dense by default (the
// output head, a tied embedding) are permuted with their group but do not steer the search.
// Efficacy is reported per layer on its own matrix.

import { warning, type Diagnostic } from '../../ir/diagnostics.js';
import type { Model, Node } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import { findWeights, type WeightView } from '../analysis/weights.js';
import { definePass } from '../pass.js';
import { compileGlobs } from '../prune/glob.js';
import { findChannelGroups, type ChannelGroup, type Stop } from './coupling.js';
import { foldPermutation } from './fold.js';
import { linearLayer } from './layers.js';
import { efficacyOf, magnitudeColumns, scaledToRoom, stackRows, type ColumnMatrix } from './score.js';
import { searchPermutation, type SearchStrategy } from './search.js';

export interface PermuteOptions {
  readonly n: number;
  readonly m: number;
  /** Globs on layer (node) or weight names: only groups with a matching reader are searched. */
  readonly only?: readonly string[];
  /** Time for the whole model's search; each group gets an equal share of what is left. */
  readonly timeLimitMs?: number;
  readonly seed?: number;
  readonly strategy?: SearchStrategy;
  readonly stripesPerGroup?: 2 | 3;
  readonly escapeAttempts?: number;
  /** Let the output head and tied embeddings steer the search (when they are pruned too). */
  readonly includeHead?: boolean;
  readonly includeEmbeddings?: boolean;
}

export interface LayerEfficacy {
  /** The reader's node name. */
  readonly layer: string;
  readonly weight: string;
  /** Rows of its channel matrix (output channels x kernel taps) and its channels. */
  readonly rows: number;
  readonly channels: number;
  readonly lostDefault: number;
  readonly lostPermuted: number;
  readonly lostUnstructured: number;
  readonly efficacy: number;
}

export type GroupStatus = 'permuted' | 'unchanged' | 'skipped' | 'not-selected';

export interface GroupReport {
  readonly status: GroupStatus;
  readonly channels: number;
  readonly readers: readonly string[];
  readonly writers: readonly string[];
  /** Why a group was skipped; `stop` names the node that stopped it. */
  readonly reason?: string;
  readonly stop?: { readonly node?: string; readonly opType?: string; readonly value?: string };
  /** Efficacy on the stacked objective of all readers. */
  readonly efficacy?: number;
  readonly layers: readonly LayerEfficacy[];
  readonly searchMs: number;
  readonly timedOut: boolean;
  /** New channel i is old channel permutation[i] (permuted groups only). */
  readonly permutation?: Int32Array;
}

export interface PermuteReport {
  readonly n: number;
  readonly m: number;
  readonly groups: readonly GroupReport[];
  /** Mean efficacy over the layers of permuted groups. */
  readonly meanEfficacy: number;
  readonly layersPermuted: number;
  readonly totalSearchMs: number;
  /** One warning per skipped group, naming the node that stopped it. */
  readonly warnings: readonly Diagnostic[];
}

/** Search and fold N:M channel permutations into `model` (in place). */
export function permuteForNM(model: Model, opts: PermuteOptions): PermuteReport {
  const graph = model.graph;
  inferTypes(graph);
  const views = new Map<Node, WeightView>(findWeights(graph).map((v) => [v.node, v]));
  const readers = graph.nodes.filter((n) => linearLayer(n) && !linearLayer(n)!.channelwise);
  const selected = opts.only?.length ? compileGlobs(opts.only) : undefined;
  const groups = findChannelGroups(graph, readers, { granularity: opts.m });
  const deadline = opts.timeLimitMs === undefined ? Infinity : performance.now() + opts.timeLimitMs;
  const reports: GroupReport[] = [];
  let searchable = groups.filter((g) => g.stops.length === 0).length;
  for (const group of groups) {
    const base = { channels: group.channels, readers: group.readers.map((r) => r.name), writers: group.writers.map((w) => w.name), layers: [], searchMs: 0, timedOut: false };
    if (group.stops.length > 0) {
      reports.push({ ...base, status: 'skipped', ...describeStop(group.stops[0]!) });
      continue;
    }
    searchable--;
    const isSelected = !selected || group.readers.some((r) => selected(r.name) || selected(r.inputs[1]!.name));
    if (!isSelected) {
      reports.push({ ...base, status: 'not-selected' });
      continue;
    }
    if (group.channels % opts.m !== 0) {
      reports.push({ ...base, status: 'skipped', reason: `${group.channels} channels are not a multiple of M=${opts.m}` });
      continue;
    }
    const budget = (deadline - performance.now()) / (searchable + 1);
    reports.push(permuteGroup(model, group, views, opts, Math.max(0, budget)));
  }
  return summarize(opts, reports);
}

function describeStop(stop: Stop): Pick<GroupReport, 'reason' | 'stop'> {
  const node = stop.node;
  const at = node ? ` at ${node.describe()}` : stop.value ? ` at ${stop.value}` : '';
  return {
    reason: `${stop.reason}${at}`,
    stop: { node: node?.name, opType: node?.opType, value: stop.value?.name },
  };
}

/**
 * The reader's |W| over the group's channels: rows are output channels (times kernel taps,
 * times blocks). Columns run (tap, input channel) with the channel innermost, and the input
 * channels run (block, channel), so [rows, taps*blocks*C] is [rows*taps*blocks, C]; N:M groups
 * of consecutive columns stay within one block since C is a multiple of M.
 */
function channelMatrix(view: WeightView, inputChannels: number, channels: number): ColumnMatrix | undefined {
  const { rows, cols, colChannel } = view;
  if (cols % inputChannels !== 0 || inputChannels % channels !== 0) return undefined;
  for (let j = 0; j < cols; j++) if (colChannel[j] !== j % inputChannels) return undefined;
  return magnitudeColumns(view.read(), (rows * cols) / channels, channels);
}

function permuteGroup(model: Model, group: ChannelGroup, views: Map<Node, WeightView>, opts: PermuteOptions, budgetMs: number): GroupReport {
  const base = { channels: group.channels, readers: group.readers.map((r) => r.name), writers: group.writers.map((w) => w.name) };
  const matrices = group.readers.map((r) => {
    const view = views.get(r);
    const layer = linearLayer(r)!;
    const inputChannels = r.inputs[layer.weightIndex]!.const!.shape[layer.weightInAxis]!;
    return { reader: r, view, matrix: view && channelMatrix(view, inputChannels, group.channels) };
  });
  const pruned = (view: WeightView) => view.role === 'hidden' || (view.role === 'head' ? !!opts.includeHead : !!opts.includeEmbeddings);
  const usable = matrices.filter((x) => x.matrix && pruned(x.view!));
  if (usable.length === 0) {
    if (matrices.some((x) => x.matrix)) return { ...base, status: 'not-selected', reason: 'its readers (output head, tied embedding) stay dense', layers: [], searchMs: 0, timedOut: false };
    return { ...base, status: 'skipped', reason: 'no reader has a weight matrix over these channels', layers: [], searchMs: 0, timedOut: false };
  }
  const parts = usable.map((x) => scaledToRoom(x.matrix!, opts.n, opts.m)).filter((x) => x !== undefined);
  if (parts.length === 0) return { ...base, status: 'unchanged', layers: [], searchMs: 0, timedOut: false };
  const objective = stackRows(parts);
  const result = searchPermutation(objective, {
    n: opts.n,
    m: opts.m,
    seed: opts.seed,
    timeLimitMs: Number.isFinite(budgetMs) ? budgetMs : undefined,
    strategy: opts.strategy,
    stripesPerGroup: opts.stripesPerGroup,
    escapeAttempts: opts.escapeAttempts,
  });
  const perm = result.permutation;
  const layers = usable.map(({ reader, view, matrix }) => ({
    layer: reader.name,
    weight: view!.name,
    rows: matrix!.rows,
    channels: group.channels,
    ...efficacyOf(matrix!, perm, opts.n, opts.m),
  }));
  const overall = efficacyOf(objective, perm, opts.n, opts.m);
  const changed = overall.lostPermuted < overall.lostDefault && perm.some((p, i) => p !== i);
  if (changed) foldPermutation(model.graph, group, perm);
  return {
    ...base,
    status: changed ? 'permuted' : 'unchanged',
    efficacy: overall.efficacy,
    layers: changed ? layers : [],
    searchMs: result.ms,
    timedOut: result.timedOut,
    permutation: changed ? perm : undefined,
  };
}

function summarize(opts: PermuteOptions, groups: GroupReport[]): PermuteReport {
  const layers = groups.flatMap((g) => g.layers);
  const meanEfficacy = layers.length ? layers.reduce((a, l) => a + l.efficacy, 0) / layers.length : 0;
  const warnings = groups
    .filter((g) => g.status === 'skipped')
    .map((g) =>
      warning(
        'PERMUTATION_SKIPPED',
        `channel group of ${g.readers.join(', ')} (${g.channels} channels) was not permuted: ${g.reason}`,
        g.stop?.node !== undefined ? { node: g.stop.node, opType: g.stop.opType } : undefined,
      ),
    );
  return {
    n: opts.n,
    m: opts.m,
    groups,
    meanEfficacy,
    layersPermuted: layers.length,
    totalSearchMs: groups.reduce((a, g) => a + g.searchMs, 0),
    warnings,
  };
}

export const permuteNMPass = definePass({
  name: 'permute-nm',
  summary: 'Permute input channels (folded into producers) so N:M pruning keeps more magnitude.',
  options: {
    n: { type: 'int', default: 2, min: 1, description: 'weights kept per group (N of N:M)' },
    m: { type: 'int', default: 4, min: 2, description: 'group size (M of N:M)' },
    seed: { type: 'int', default: 1, description: 'seed of the random escape moves' },
    timeLimitMs: { type: 'int', default: 0, min: 0, description: 'time for the whole search in ms (0: no limit)' },
    only: { type: 'string', default: '', description: 'comma-separated globs on layer or weight names' },
  },
  run(model, ctx) {
    const o = ctx.options;
    const only = o.only ? o.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const report = permuteForNM(model, { n: o.n, m: o.m, seed: o.seed, timeLimitMs: o.timeLimitMs || undefined, only });
    for (const w of report.warnings) ctx.warn(w);
    const count = (s: GroupStatus) => report.groups.filter((g) => g.status === s).length;
    return {
      changed: count('permuted') > 0,
      stats: {
        groupsPermuted: count('permuted'),
        groupsSkipped: count('skipped'),
        layersPermuted: report.layersPermuted,
        meanEfficacyPercent: Math.round(report.meanEfficacy * 1000) / 10,
        searchMs: Math.round(report.totalSearchMs),
      },
    };
  },
});
