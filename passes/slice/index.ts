// SliceGPT (Ashkboos et al. 2024) on a recognized pre-norm transformer, in place:
//
//   sliceModel(model, recognizeStructure(model.graph), {ratio: 0.25, calib})
//
// fold.ts makes the norms plain RMS norms (gamma/beta into the readers, LayerNorm models'
// writers mean-centered); pca.ts measures each stream state's covariance on calibration data
// and takes its eigenvectors; rotate.ts rotates every reader and writer of the stream and
// keeps the leading `kept` coordinates, with shortcut matrices on residual connections whose
// two sides use different bases; tied-head.ts keeps a tied head tied to the sliced table;
// width-shapes.ts repairs Shape nodes and Reshape targets around sliced values.
//
// Which states share a basis is the `scope`: 'sublayer' is the paper's scheme (a Q per
// sublayer input, a d'xd' shortcut matrix on every residual connection), 'layer' shares one Q
// within a transformer layer (shortcuts only between layers), 'model' uses one Q for the whole
// stream (no shortcut matrices at all, so the residual Adds stay plain and the parameter count
// drops by the full slice). 'model' is the default: on the fixture language models at 25% all
// three cost under 1.5% perplexity while only 'model' removes the full 25% of parameters; at
// 50% the per-sublayer bases keep clearly more quality (llama: +5% against +14%).

import { error } from '../../ir/diagnostics.js';
import type { Model, Node, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import type { Tensor } from '../../ir/tensor.js';
import { countParameters } from '../analysis/parameters.js';
import type { ModelStructure } from '../structure/types.js';
import { foldNorms } from './fold.js';
import { matrix } from './matrix.js';
import { collectCovariances, principalBasis, retainedEnergy, type Basis, type StateCovariance } from './pca.js';
import { planSlicing, type SlicePlan } from './plan.js';
import { rotateAndSlice } from './rotate.js';
import { tieHead } from './tied-head.js';
import { narrowReshapeTargets, pinWidthShapes } from './width-shapes.js';

export type BasisScope = 'sublayer' | 'layer' | 'model';
export const BASIS_SCOPES: readonly BasisScope[] = ['sublayer', 'layer', 'model'];

export interface SliceModelOptions {
  /** Fraction of the stream width to remove, in [0, 1). */
  ratio: number;
  /** The kept width is rounded down to a multiple of this (default 8). */
  multiple?: number;
  scope?: BasisScope;
  /** Calibration batches; required unless ratio is 0 (then the rotation is the identity). */
  calib?: Iterable<ReadonlyMap<string, Tensor>>;
  /**
   * A head tied to the token table stays tied, reading the sliced table through a kept x kept
   * matrix fitted by least squares (exact at ratio 0); false gives it its own rotated weight.
   * Default true.
   */
  tieHead?: boolean;
  /** Diagonal damping as a fraction of H's mean diagonal (default 0.01). */
  damping?: number;
  /** For messages. */
  file?: string;
  onProgress?: (p: { phase: 'calibrate' | 'rotate'; done: number }) => void;
}

export interface SublayerReport {
  readonly name: string;
  readonly readers: number;
  readonly writers: number;
  /** A shortcut matrix sits on this sublayer's residual connection. */
  readonly shortcut: boolean;
  /** Fraction of the input state's energy inside the kept coordinates (with calibration). */
  readonly retained?: number;
}

export interface SliceReport {
  readonly width: number;
  readonly kept: number;
  readonly scope: BasisScope;
  readonly normKind: 'layernorm' | 'rmsnorm';
  /** LayerNorm model: writers were mean-centered and the norms became RMSNorm. */
  readonly centered: boolean;
  /** Learned parameters (analysis/parameters.ts: a tied table once, shortcut matrices included). */
  readonly parametersBefore: number;
  readonly parametersAfter: number;
  /** Elements of the shortcut matrices (included in parametersAfter). */
  readonly shortcutParameters: number;
  readonly shortcuts: number;
  /**
   * What became of a head tied to the token table: 'kept' (it reads the sliced table through a
   * small fitted matrix), 'untied' (it has its own rotated weight); 'none' if it was not tied.
   */
  readonly headTie: 'kept' | 'untied' | 'none';
  readonly sublayers: readonly SublayerReport[];
  /** Retained energy of the final norm's input. */
  readonly finalRetained?: number;
  /** Shape nodes of sliced values rebuilt to report the original width. */
  readonly pinnedShapes: number;
  readonly calibrationSamples: number;
  readonly ms: number;
}

export function targetWidth(width: number, ratio: number, multiple = 8): number {
  const kept = Math.floor(((1 - ratio) * width + 1e-9) / multiple) * multiple;
  return Math.min(width, Math.max(multiple, kept));
}

export function checkSliceOptions(opts: { ratio: number; multiple?: number; scope?: string; hasCalib: boolean }): void {
  if (!(opts.ratio >= 0 && opts.ratio < 1)) throw error('BAD_OPTION', `--ratio must be in [0, 1), not ${opts.ratio}`);
  const multiple = opts.multiple ?? 8;
  if (!Number.isInteger(multiple) || multiple < 1) throw error('BAD_OPTION', `--multiple must be a positive integer, not ${multiple}`);
  if (opts.scope !== undefined && !BASIS_SCOPES.includes(opts.scope as BasisScope)) {
    throw error('BAD_OPTION', `--basis must be one of ${BASIS_SCOPES.join(', ')}, not '${opts.scope}'`);
  }
  if (opts.ratio > 0 && !opts.hasCalib) throw error('BAD_OPTION', 'slicing needs calibration data: the rotation comes from its activations', undefined, 'Add --calib tokens.npy.');
}

export function sliceModel(model: Model, structure: ModelStructure, opts: SliceModelOptions): SliceReport {
  const start = performance.now();
  checkSliceOptions({ ...opts, hasCalib: opts.calib !== undefined });
  const graph = model.graph;
  const plan = planSlicing(graph, structure, opts.file);
  const scope = opts.scope ?? 'model';
  const width = plan.width;
  const kept = targetWidth(width, opts.ratio, opts.multiple);
  // countParameters counts a head stored as the transposed token table once.
  const parametersBefore = countParameters(graph);

  const tableMeans = foldNorms(plan);
  let covariances: Map<Value, StateCovariance> | undefined;
  if (opts.calib) {
    covariances = collectCovariances(graph, plan.states, width, opts.calib, (done) => opts.onProgress?.({ phase: 'calibrate', done }));
  }
  const bases = chooseBases(plan, structure, scope, covariances, opts.damping ?? 0.01);
  opts.onProgress?.({ phase: 'rotate', done: 0 });
  const branches = plan.sublayers.flatMap((s) => branchValues(s.writers, s.add));
  const { shortcuts, normOutputs } = rotateAndSlice(plan, bases, kept);
  const shortcutIds = new Set(shortcuts.map((s) => s.add));
  const headTie = !plan.tiedHead ? 'none' : opts.tieHead === false ? 'untied' : 'kept';
  const embedded = headTie === 'kept' ? tieHead(plan, structure.head!.node, tableMeans.get(plan.tables[0]!)) : undefined;
  narrowReshapeTargets(graph, branches, width, kept);
  inferTypes(graph, { overwrite: true });
  const sliced = [
    ...plan.states, ...plan.tables.map((g) => g.outputs[0]!), ...normOutputs, ...branches,
    ...shortcuts.map((s) => s.node.outputs[0]!), ...(embedded ? [embedded] : []),
  ];
  const pinned = kept < width ? pinWidthShapes(graph, sliced, width) : [];
  graph.removeUnusedConstants();
  inferTypes(graph, { overwrite: true });

  const retained = (i: number) => {
    const c = covariances?.get(plan.states[i]!);
    return c ? retainedEnergy(c.h, bases[i]!, kept) : undefined;
  };
  const shortcutParameters = shortcuts.reduce((n, s) => n + s.node.inputs[1]!.const!.size, 0);
  return {
    width, kept, scope, normKind: plan.normKind, centered: plan.normKind === 'layernorm',
    parametersBefore, parametersAfter: countParameters(graph), shortcutParameters, shortcuts: shortcuts.length,
    headTie,
    sublayers: plan.sublayers.map((s, i) => ({
      name: s.name, readers: s.readers.length, writers: s.writers.length, shortcut: shortcutIds.has(s.add),
      ...(covariances ? { retained: retained(i)! } : {}),
    })),
    ...(covariances ? { finalRetained: retained(plan.states.length - 1)! } : {}),
    pinnedShapes: pinned.length,
    calibrationSamples: covariances ? [...covariances.values()][0]?.samples ?? 0 : 0,
    ms: performance.now() - start,
  };
}

/**
 * One basis per stream state. States in one group (by scope) share the eigenvectors of their
 * summed covariances, each normalized to unit trace so that the later, larger states do not
 * decide alone. Without calibration every state keeps the identity.
 */
function chooseBases(plan: SlicePlan, s: ModelStructure, scope: BasisScope, cov: Map<Value, StateCovariance> | undefined, damping: number): Basis[] {
  const d = plan.width;
  const n = plan.states.length;
  const group = groupOfState(s, scope, n);
  const byGroup = new Map<number, Basis>();
  return plan.states.map((_, i) => {
    const key = group[i]!;
    let basis = byGroup.get(key);
    if (!basis) {
      if (!cov) {
        const q = matrix(d, d);
        for (let k = 0; k < d; k++) q.data[k * d + k] = 1;
        basis = { q, energy: new Float64Array(d).fill(1) };
      } else {
        const h = new Float64Array(d * d);
        plan.states.forEach((state, j) => {
          if (group[j] !== key) return;
          const c = cov.get(state)!.h;
          let trace = 0;
          for (let k = 0; k < d; k++) trace += c[k * d + k]!;
          const w = trace > 0 ? 1 / trace : 0;
          for (let k = 0; k < d * d; k++) h[k]! += w * c[k]!;
        });
        basis = principalBasis(h, d, damping);
      }
      byGroup.set(key, basis);
    }
    return basis;
  });
}

/** Group index per state: its own ('sublayer'), its layer's ('layer'; the final state joins the last layer), or one ('model'). */
function groupOfState(s: ModelStructure, scope: BasisScope, states: number): number[] {
  if (scope === 'model') return new Array<number>(states).fill(0);
  if (scope === 'sublayer') return Array.from({ length: states }, (_, i) => i);
  const out: number[] = [];
  for (const layer of s.layers) for (const _ of layer.sublayers) out.push(layer.index);
  out.push(out[out.length - 1] ?? 0);
  return out;
}

/** Values from a sublayer's writers up to (not including) its residual Add's output. */
function branchValues(writers: readonly Node[], add: Node): Value[] {
  const out: Value[] = [];
  const seen = new Set<Value>();
  const queue = writers.map((w) => w.outputs[0]!);
  while (queue.length > 0) {
    const v = queue.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(v);
    for (const { node } of v.uses) if (node !== add && node.outputs.length === 1 && node.op !== 'Shape') queue.push(node.outputs[0]!);
  }
  return out;
}
