// Shared by the pass tests: seeded inputs, op histograms, and "same outputs before and after".

import { expect } from 'vitest';
import type { Graph } from '../../ir/graph.js';
import { execute } from '../../ir/executor/index.js';
import { Tensor } from '../../ir/tensor.js';
import { walkGraphs } from '../liveness.js';

/** Deterministic pseudo-random floats in [-scale, scale). */
export function seeded(shape: readonly number[], seed = 1, scale = 1): Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, d) => a * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (((s >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return new Tensor('float32', shape, data);
}

/** Node count per op over the graph and its subgraphs. */
export function histogram(graph: Graph): Record<string, number> {
  const h: Record<string, number> = {};
  for (const g of walkGraphs(graph)) for (const n of g.nodes) h[n.op] = (h[n.op] ?? 0) + 1;
  return h;
}

export function expectClose(actual: Tensor, expected: Tensor, tol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  const a = actual.toFloat32();
  const e = expected.toFloat32();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / Math.max(1, Math.abs(e[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Run, transform, run again: the outputs must agree within `tol`. Returns the outputs after. */
export function expectSameOutputs(
  graph: Graph,
  inputs: Record<string, Tensor>,
  transform: () => void,
  tol = 1e-5,
): Map<string, Tensor> {
  const before = execute(graph, inputs);
  transform();
  const after = execute(graph, inputs);
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [name, t] of before) expectClose(after.get(name)!, t, tol);
  return after;
}
