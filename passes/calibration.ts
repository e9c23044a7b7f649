// Calibration statistics: run sample batches through the reference executor and reduce each
// weight's input activation to what pruning needs, as the activations stream past. Nothing
// is kept between batches but the running sums, so memory is the executor's live set plus
// the statistics (cols doubles per weight, cols^2 with a Hessian).
//
// A sample is one row of the matrix X the weight multiplies: a token's feature vector for
// Linear/MatMul/Gemm, an im2col patch (taps x channels, channel innermost, as in the weight
// view's column order) for Conv. Zero padding counts as zeros in a patch.

import { execute } from '../ir/executor/index.js';
import { gatherMap, readWindowAttrs, resolveWindow } from '../ir/executor/ops/conv-geometry.js';
import type { Graph, Value } from '../ir/graph.js';
import { Op } from '../ir/ops.js';
import type { Tensor } from '../ir/tensor.js';
import type { WeightView } from './analysis/weights.js';

export interface InputStats {
  /** Rows of X seen (tokens, or output pixels x batch x groups for conv patches). */
  samples: number;
  /** Sum over samples of x_col^2, per weight column (Wanda's ||X_j||^2). */
  colSqNorm: Float64Array;
  /** [cols, cols] sum of x x^T in float64, when requested (SparseGPT); symmetric. */
  hessian?: Float64Array;
}

export interface CollectOptions {
  /** Also accumulate X^T X, for views with at most MAX_HESSIAN_COLS columns. */
  hessian?: boolean;
  /** Called after each batch with the number of batches done. */
  onProgress?: (done: number) => void;
}

/** Widest weight that gets a Hessian: 4096^2 doubles are 128 MiB; wider ones get none. */
export const MAX_HESSIAN_COLS = 4096;

/** Samples transposed into one chunk before the X^T X update (column-major, float64). */
const CHUNK = 64;

/**
 * Run every batch through `graph`, calling `observe` with each watched value's tensor (graph
 * inputs included). Batches are consumed one at a time; nothing is kept between them.
 */
export function runWithObserver(
  graph: Graph,
  batches: Iterable<ReadonlyMap<string, Tensor>>,
  watch: ReadonlySet<Value>,
  observe: (v: Value, t: Tensor) => void,
): void {
  const watchedInputs = graph.inputs.filter((v) => watch.has(v));
  for (const batch of batches) {
    execute(graph, batch, { onValue: (v, t) => watch.has(v) && observe(v, t) });
    for (const v of watchedInputs) {
      const t = batch.get(v.name);
      if (t) observe(v, t);
    }
  }
}

/**
 * Input statistics of each view over all batches. Views that multiply the same activation the
 * same way (q/k/v projections of one input) are accumulated once; each view still gets its own
 * arrays, so a caller may modify them (e.g. damp a Hessian's diagonal) without affecting others.
 * For grouped convs a column's statistics sum over all groups' channels at that position.
 */
export function collectInputStats(
  graph: Graph,
  weights: readonly WeightView[],
  batches: Iterable<ReadonlyMap<string, Tensor>>,
  opts: CollectOptions = {},
): Map<WeightView, InputStats> {
  const accumulators = new Map<string, Accumulator>();
  const byInput = new Map<Value, Accumulator[]>();
  const ofView = new Map<WeightView, Accumulator>();
  for (const w of weights) {
    const key = w.node.op === Op.Conv ? `conv:${w.node.id}` : `matrix:${w.input.id}:${w.cols}`;
    let acc = accumulators.get(key);
    if (!acc) {
      acc = new Accumulator(w, opts.hessian === true && w.cols <= MAX_HESSIAN_COLS);
      accumulators.set(key, acc);
      byInput.set(w.input, [...(byInput.get(w.input) ?? []), acc]);
    }
    ofView.set(w, acc);
  }
  let done = 0;
  const counted = (function* () {
    for (const b of batches) {
      yield b;
      opts.onProgress?.(++done);
    }
  })();
  runWithObserver(graph, counted, new Set(byInput.keys()), (v, t) => {
    for (const acc of byInput.get(v)!) acc.observe(t);
  });

  const out = new Map<WeightView, InputStats>();
  const handedOut = new Set<Accumulator>();
  for (const [view, acc] of ofView) {
    const fresh = !handedOut.has(acc);
    handedOut.add(acc);
    out.set(view, acc.result(fresh));
  }
  return out;
}

/** Running sums for one (activation, weight geometry). */
class Accumulator {
  samples = 0;
  readonly cols: number;
  readonly colSqNorm: Float64Array;
  readonly hessian: Float64Array | undefined;
  private readonly chunk: Float64Array;
  private filled = 0;
  private finished = false;
  private maps = new Map<string, Int32Array>();

  constructor(
    private readonly view: WeightView,
    withHessian: boolean,
  ) {
    this.cols = view.cols;
    this.colSqNorm = new Float64Array(view.cols);
    this.hessian = withHessian ? new Float64Array(view.cols * view.cols) : undefined;
    this.chunk = new Float64Array(view.cols * CHUNK);
  }

  observe(t: Tensor): void {
    if (this.view.node.op === Op.Conv) this.observeConv(t);
    else this.observeMatrix(t);
  }

  /** x [..., K]: every leading index is a sample. */
  private observeMatrix(t: Tensor): void {
    const k = this.cols;
    if (t.shape[t.shape.length - 1] !== k) {
      throw new Error(`calibration: '${this.view.input.name}' has shape [${t.shape.join(',')}], expected [..., ${k}]`);
    }
    const x = t.toFloat32();
    const rows = x.length / k;
    for (let r = 0; r < rows; r++) {
      const base = r * k;
      for (let j = 0; j < k; j++) this.chunk[j * CHUNK + this.filled] = x[base + j]!;
      this.push();
    }
    this.samples += rows;
  }

  /** x [N, C, spatial...]: every (image, group, output position) is a sample (one patch). */
  private observeConv(t: Tensor): void {
    const node = this.view.node;
    const wShape = this.view.value.const!.shape;
    const cg = wShape[1]!;
    const group = node.attrInt('group', 1);
    const [n, c] = t.shape as [number, number];
    const inSizes = t.shape.slice(2);
    const mapKey = inSizes.join('x');
    let map = this.maps.get(mapKey);
    if (!map) {
      map = gatherMap(resolveWindow(node, readWindowAttrs(node, inSizes.length, wShape.slice(2)), inSizes));
      this.maps.set(mapKey, map);
    }
    const taps = this.cols / cg;
    const positions = map.length / taps;
    const inSize = inSizes.reduce((a, b) => a * b, 1);
    const x = t.toFloat32();
    for (let b = 0; b < n; b++) {
      for (let g = 0; g < group; g++) {
        const channelBase = (b * c + g * cg) * inSize;
        for (let p = 0; p < positions; p++) {
          for (let k = 0; k < taps; k++) {
            const offset = map[k * positions + p]!;
            for (let ch = 0; ch < cg; ch++) {
              this.chunk[(k * cg + ch) * CHUNK + this.filled] = offset < 0 ? 0 : x[channelBase + ch * inSize + offset]!;
            }
          }
          this.push();
        }
      }
    }
    this.samples += n * group * positions;
  }

  /** One sample was written into the chunk's next slot; fold the chunk in when it is full. */
  private push(): void {
    if (++this.filled === CHUNK) this.flush();
  }

  private flush(): void {
    const m = this.filled;
    if (m === 0) return;
    const k = this.cols;
    const x = this.chunk;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let b = 0; b < m; b++) s += x[j * CHUNK + b]! * x[j * CHUNK + b]!;
      this.colSqNorm[j]! += s;
    }
    const h = this.hessian;
    if (h) {
      // Upper triangle only; mirrored once at the end.
      for (let i = 0; i < k; i++) {
        const oi = i * CHUNK;
        for (let j = i; j < k; j++) {
          const oj = j * CHUNK;
          let s = 0;
          for (let b = 0; b < m; b++) s += x[oi + b]! * x[oj + b]!;
          h[i * k + j]! += s;
        }
      }
    }
    this.filled = 0;
  }

  /** The statistics; `owned` hands out the accumulator's own arrays, otherwise copies. */
  result(owned: boolean): InputStats {
    if (!this.finished) {
      this.flush();
      this.mirror();
      this.finished = true;
    }
    const stats: InputStats = { samples: this.samples, colSqNorm: owned ? this.colSqNorm : this.colSqNorm.slice() };
    if (this.hessian) stats.hessian = owned ? this.hessian : this.hessian.slice();
    return stats;
  }

  private mirror(): void {
    const h = this.hessian;
    if (!h) return;
    const k = this.cols;
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) h[j * k + i] = h[i * k + j]!;
  }
}
