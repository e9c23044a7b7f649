import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { execute } from '../../ir/executor/index.js';
import type { Value } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { findWeights } from '../analysis/weights.js';
import { collectInputStats, runWithObserver } from '../calibration.js';
import { seeded } from './helpers.js';

/** Direct sums over the rows of X ([samples, cols], row-major). */
function direct(rows: number[][]): { colSqNorm: number[]; hessian: number[] } {
  const k = rows[0]!.length;
  const colSqNorm = new Array<number>(k).fill(0);
  const hessian = new Array<number>(k * k).fill(0);
  for (const x of rows) {
    for (let i = 0; i < k; i++) {
      colSqNorm[i]! += x[i]! * x[i]!;
      for (let j = 0; j < k; j++) hessian[i * k + j]! += x[i]! * x[j]!;
    }
  }
  return { colSqNorm, hessian };
}

function expectAllClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, -Math.log10(tol));
}

/** x -> Relu -> q, k (same input, shared stats) and a second Linear on q's output. */
function mlpGraph() {
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', ['batch', 3, 5]);
  const h = b.op('Relu', [x]);
  const q = b.op('MatMul', [h, b.constant('wq', seeded([5, 4], 1))]);
  const k = b.op('Linear', [h, b.constant('wk', seeded([5, 4], 2)), b.constant('bk', seeded([4], 3))]);
  const y = b.op('MatMul', [q, b.constant('wy', seeded([4, 2], 4))]);
  b.output(y);
  b.output(k);
  return { graph: b.graph, h };
}

describe('collectInputStats', () => {
  it('matches a direct computation over token rows, for several batches', () => {
    const { graph, h } = mlpGraph();
    const batches = [seeded([2, 3, 5], 7), seeded([1, 3, 5], 8), seeded([3, 3, 5], 9)].map((t) => new Map([['x', t]]));
    const views = findWeights(graph);
    expect(views.map((v) => v.name)).toEqual(['wq', 'wk', 'wy']);
    const progress: number[] = [];
    const stats = collectInputStats(graph, views, batches, { hessian: true, onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([1, 2, 3]);

    // The reference: record the activations themselves and sum directly.
    const seen = new Map<string, number[][]>();
    for (const batch of batches) {
      execute(graph, batch, {
        onValue: (v: Value, t: Tensor) => {
          const k = t.shape.at(-1)!;
          const data = t.toFloat32();
          const rows = seen.get(v.name) ?? [];
          for (let r = 0; r < data.length / k; r++) rows.push(Array.from(data.slice(r * k, (r + 1) * k)));
          seen.set(v.name, rows);
        },
      });
    }
    for (const view of views) {
      const rows = seen.get(view.input.name)!;
      const want = direct(rows);
      const got = stats.get(view)!;
      expect(got.samples).toBe(rows.length);
      expect(got.samples).toBe(18);
      expectAllClose(got.colSqNorm, want.colSqNorm);
      expectAllClose(got.hessian!, want.hessian);
    }
    // q and k share one input: same numbers, separate arrays.
    const [sq, sk] = [stats.get(views[0]!)!, stats.get(views[1]!)!];
    expect(views[0]!.input).toBe(h);
    expect(Array.from(sk.hessian!)).toEqual(Array.from(sq.hessian!));
    expect(sk.hessian).not.toBe(sq.hessian);
    sq.hessian![0] = 1e9;
    expect(sk.hessian![0]).not.toBe(1e9);
  });

  it('without hessian: column norms only', () => {
    const { graph } = mlpGraph();
    const views = findWeights(graph);
    const stats = collectInputStats(graph, views, [new Map([['x', seeded([1, 3, 5], 1)]])]);
    expect(stats.get(views[0]!)!.hessian).toBeUndefined();
    expect(stats.get(views[0]!)!.colSqNorm).toHaveLength(5);
  });

  it('Conv statistics are over im2col patches (pads, strides, groups), channel innermost', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 4, 5, 4]);
    const attrs = { group: 2, strides: [2, 1], pads: [1, 0, 0, 1], kernel_shape: [3, 2] };
    b.output(b.op('Conv', [x, b.constant('w', seeded([6, 2, 3, 2], 1))], { attrs }));
    const input = seeded([2, 4, 5, 4], 11);
    const [view] = findWeights(b.graph);
    const stats = collectInputStats(b.graph, [view!], [new Map([['x', input]])], { hessian: true }).get(view!)!;

    // Brute-force patches: for each image, group, output position: [tap (kh, kw), channel].
    const xd = input.data as Float32Array;
    const at = (n: number, c: number, i: number, j: number) => (i < 0 || i >= 5 || j < 0 || j >= 4 ? 0 : xd[((n * 4 + c) * 5 + i) * 4 + j]!);
    const outH = Math.floor((5 + 1 - 3) / 2) + 1;
    const outW = Math.floor((4 + 1 - 2) / 1) + 1;
    const rows: number[][] = [];
    for (let n = 0; n < 2; n++) for (let g = 0; g < 2; g++) for (let oh = 0; oh < outH; oh++) for (let ow = 0; ow < outW; ow++) {
      const patch: number[] = [];
      for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 2; kw++) for (let c = 0; c < 2; c++) {
        patch.push(at(n, g * 2 + c, oh * 2 - 1 + kh, ow + kw));
      }
      rows.push(patch);
    }
    const want = direct(rows);
    expect(stats.samples).toBe(rows.length);
    expectAllClose(stats.colSqNorm, want.colSqNorm);
    expectAllClose(stats.hessian!, want.hessian);
  });
});

describe('runWithObserver', () => {
  it('reports watched graph inputs and intermediate values once per batch', () => {
    const { graph, h } = mlpGraph();
    const x = graph.inputs[0]!;
    const calls: string[] = [];
    const batches = [seeded([1, 3, 5], 1), seeded([2, 3, 5], 2)].map((t) => new Map([['x', t]]));
    runWithObserver(graph, batches, new Set([x, h]), (v, t) => calls.push(`${v.name}:${t.shape[0]}`));
    expect(calls.sort()).toEqual(['x:1', 'x:2', `${h.name}:1`, `${h.name}:2`].sort());
  });
});
