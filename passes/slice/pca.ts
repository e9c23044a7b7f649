// Step 2 of SliceGPT: the principal directions of each residual stream state. Calibration
// batches stream through the reference executor; for each watched state X (every token a row)
// H += X^T X accumulates in float64. The eigenvectors of H (damped) sorted by eigenvalue give
// the rotation whose leading columns keep the most of the stream's energy.

import type { Graph, Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { runWithObserver } from '../calibration.js';
import { symmetricEigen } from './eigen.js';
import { matrix, type Matrix } from './matrix.js';

export interface StateCovariance {
  /** Tokens seen. */
  samples: number;
  /** [width, width] sum of x^T x, symmetric. */
  readonly h: Float64Array;
}

/** Tokens folded into H per update (transposed into a column-major chunk first). */
const CHUNK = 64;

/** H for each state over all batches (one executor run per batch). */
export function collectCovariances(
  graph: Graph,
  states: readonly Value[],
  width: number,
  batches: Iterable<ReadonlyMap<string, Tensor>>,
  onBatch?: (done: number) => void,
): Map<Value, StateCovariance> {
  const accumulators = new Map(states.map((s) => [s, new CovarianceAccumulator(width)]));
  let done = 0;
  const counted = (function* () {
    for (const b of batches) {
      yield b;
      onBatch?.(++done);
    }
  })();
  runWithObserver(graph, counted, new Set(states), (v, t) => accumulators.get(v)!.observe(t, v.name));
  return new Map([...accumulators].map(([v, acc]) => [v, acc.result()]));
}

class CovarianceAccumulator {
  private readonly h: Float64Array;
  private readonly chunk: Float64Array;
  private filled = 0;
  private samples = 0;

  constructor(private readonly width: number) {
    this.h = new Float64Array(width * width);
    this.chunk = new Float64Array(width * CHUNK);
  }

  observe(t: Tensor, name: string): void {
    const d = this.width;
    if (t.shape[t.shape.length - 1] !== d) throw new Error(`slice calibration: '${name}' has shape [${t.shape.join(',')}], expected [..., ${d}]`);
    const x = t.toFloat32();
    const rows = x.length / d;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) this.chunk[j * CHUNK + this.filled] = x[r * d + j]!;
      if (++this.filled === CHUNK) this.flush();
    }
    this.samples += rows;
  }

  private flush(): void {
    const d = this.width;
    const m = this.filled;
    const x = this.chunk;
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        let s = 0;
        for (let b = 0; b < m; b++) s += x[i * CHUNK + b]! * x[j * CHUNK + b]!;
        this.h[i * d + j]! += s;
      }
    }
    this.filled = 0;
  }

  result(): StateCovariance {
    this.flush();
    const d = this.width;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) this.h[j * d + i] = this.h[i * d + j]!;
    return { samples: this.samples, h: this.h };
  }
}

/** A rotation of the stream: Q's columns are the new basis, most important first. */
export interface Basis {
  readonly q: Matrix;
  /** Eigenvalues of the (damped) H, descending. */
  readonly energy: Float64Array;
}

/**
 * The eigenvectors of H + damping * mean(diag H) * I. The damping does not move eigenvectors;
 * it keeps a rank-deficient H (a dead channel, few samples) from producing an ill-defined order
 * among zero eigenvalues.
 */
export function principalBasis(h: Float64Array, width: number, damping: number): Basis {
  const damped = Float64Array.from(h);
  let trace = 0;
  for (let i = 0; i < width; i++) trace += h[i * width + i]!;
  const lambda = (damping * trace) / width;
  for (let i = 0; i < width; i++) damped[i * width + i]! += lambda;
  const e = symmetricEigen(damped, width);
  return { q: matrix(width, width, Float64Array.from(e.vectors)), energy: e.values };
}

/** Fraction of H's energy (trace) inside the first `kept` basis vectors: sum_j<kept q_j^T H q_j / tr H. */
export function retainedEnergy(h: Float64Array, basis: Basis, kept: number): number {
  const d = basis.q.cols;
  const q = basis.q.data;
  let inside = 0;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += h[i * d + i]!;
  const hq = new Float64Array(d);
  for (let j = 0; j < kept; j++) {
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += h[r * d + c]! * q[c * d + j]!;
      hq[r] = s;
    }
    for (let r = 0; r < d; r++) inside += q[r * d + j]! * hq[r]!;
  }
  return trace > 0 ? inside / trace : 1;
}
