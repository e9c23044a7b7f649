// Recombining what dropped experts did into the kept ones, by least squares: the block output
// is sum_j w_j(x) * down_j(h_j(x)), linear in the kept experts' down projections. So with the
// kept experts' hidden activations h_j and routing weights w_j observed on calibration tokens
// (in the model as pruned so far) and the unpruned block's output as the target, the down
// projections that bring the pruned block closest to the original solve one ridge regression
// (features: w_j h_j of every kept expert side by side, plus w_j where the down projection has
// a bias). Only the kept experts' down weights change: no parameters are added.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import type { WeightView } from '../analysis/weights.js';
import { runWithObserver } from '../calibration.js';
import { cholesky } from '../prune/linalg.js';
import { linearLayer } from '../permute/layers.js';
import type { Expert } from '../structure/types.js';

/** Ridge damping, as a fraction of the mean diagonal of F^T F. */
const DAMPING = 1e-3;

interface Column {
  readonly expert: Expert;
  readonly view: WeightView;
  /** Offset of this expert's features in a row of F. */
  readonly at: number;
  readonly hidden: number;
  readonly bias?: Value;
}

/**
 * Refit the down projections of `kept` experts so that their weighted sum matches `targets`
 * (the unpruned block output per batch, [tokens, width]) on `batches`. Returns a function that
 * restores the old weights, or a reason when it cannot refit.
 */
export function refitDownProjections(
  graph: Graph,
  kept: readonly Expert[],
  batches: readonly ReadonlyMap<string, Tensor>[],
  targets: readonly Float32Array[],
  viewOf: (n: Node) => WeightView | undefined,
): (() => void) | string {
  const columns: Column[] = [];
  let width = 0;
  let features = 0;
  for (const x of kept) {
    const view = viewOf(x.down);
    const layer = linearLayer(x.down);
    if (!view || !layer || !x.weight || view.node.inputs[0] === undefined) return `expert ${x.index} has no plain down projection and routing weight`;
    const bias = layer.biasIndex !== undefined ? x.down.inputs[layer.biasIndex] : undefined;
    if (bias && (bias.const?.dtype !== 'float32' || bias.uses.length !== 1)) return `expert ${x.index}'s down projection bias is not its own float32 constant`;
    if (width && view.rows !== width) return 'the experts\' outputs differ in width';
    width = view.rows;
    columns.push({ expert: x, view, at: features, hidden: view.cols, ...(bias ? { bias } : {}) });
    features += view.cols + (bias ? 1 : 0);
  }

  const gram = new Float64Array(features * features);
  const cross = new Float64Array(features * width);
  accumulate(graph, columns, batches, targets, features, width, gram, cross);
  const solution = solveRidge(gram, cross, features, width);
  if (!solution) return 'the least-squares system is singular';

  const saved = columns.map((c) => ({ c, weights: c.view.read(), bias: c.bias?.const }));
  for (const c of columns) {
    // The view is [rows = width, cols = hidden]; the solution holds [feature, width].
    const m = new Float32Array(width * c.hidden);
    for (let r = 0; r < width; r++) for (let h = 0; h < c.hidden; h++) m[r * c.hidden + h] = solution[(c.at + h) * width + r]!;
    c.view.write(m);
    if (c.bias) {
      const values = Array.from({ length: width }, (_, r) => solution[(c.at + c.hidden) * width + r]!);
      c.bias.const = new Tensor('float32', c.bias.const!.shape, Float32Array.from(values));
    }
  }
  return () => {
    for (const s of saved) {
      s.c.view.write(s.weights);
      if (s.c.bias && s.bias) s.c.bias.const = s.bias;
    }
  };
}

/** F^T F and F^T Y over all tokens; per token only the experts it was routed to contribute. */
function accumulate(
  graph: Graph,
  columns: readonly Column[],
  batches: readonly ReadonlyMap<string, Tensor>[],
  targets: readonly Float32Array[],
  features: number,
  width: number,
  gram: Float64Array,
  cross: Float64Array,
): void {
  const watch = new Map<Value, { column: number; kind: 'weight' | 'hidden' }>();
  columns.forEach((c, i) => {
    watch.set(c.expert.weight!, { column: i, kind: 'weight' });
    watch.set(c.view.node.inputs[0]!, { column: i, kind: 'hidden' });
  });
  let seen = new Map<string, Float32Array>();
  let batch = 0;
  const row = new Float64Array(features);
  const flush = () => {
    const weights = columns.map((_, i) => seen.get(`weight${i}`)!);
    const hidden = columns.map((_, i) => seen.get(`hidden${i}`)!);
    const y = targets[batch]!;
    const tokens = y.length / width;
    for (let t = 0; t < tokens; t++) {
      const active: number[] = [];
      columns.forEach((c, i) => {
        const w = weights[i]![t]!;
        if (w === 0) return;
        active.push(i);
        for (let h = 0; h < c.hidden; h++) row[c.at + h] = w * hidden[i]![t * c.hidden + h]!;
        if (c.bias) row[c.at + c.hidden] = w;
      });
      const spans = active.map((i) => [columns[i]!.at, columns[i]!.at + columns[i]!.hidden + (columns[i]!.bias ? 1 : 0)] as const);
      for (const [a0, a1] of spans) {
        for (let a = a0; a < a1; a++) {
          const ra = row[a]!;
          if (ra === 0) continue;
          for (const [b0, b1] of spans) for (let b = b0; b < b1; b++) gram[a * features + b]! += ra * row[b]!;
          for (let d = 0; d < width; d++) cross[a * width + d]! += ra * y[t * width + d]!;
        }
      }
    }
    seen = new Map();
    batch++;
  };
  runWithObserver(graph, batches, new Set(watch.keys()), (v, t) => {
    const w = watch.get(v)!;
    seen.set(`${w.kind}${w.column}`, t.toFloat32());
    if (seen.size === 2 * columns.length) flush();
  });
}

/** (G + damping I)^-1 C by Cholesky, or undefined. */
function solveRidge(gram: Float64Array, cross: Float64Array, n: number, m: number): Float64Array | undefined {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += gram[i * n + i]!;
  const lambda = (DAMPING * trace) / n || DAMPING;
  const a = gram.slice();
  for (let i = 0; i < n; i++) a[i * n + i]! += lambda;
  const l = cholesky(a, n);
  if (!l) return undefined;
  const x = new Float64Array(n * m);
  for (let c = 0; c < m; c++) {
    // L z = b, then L^T x = z.
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = cross[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * z[k]!;
      z[i] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = z[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k * m + c]!;
      x[i * m + c] = s / l[i * n + i]!;
    }
  }
  return x;
}
