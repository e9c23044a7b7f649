// Builders for the decomposed forms exporters write, and a "canonicalize and compare" check.

import { expect } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import type { DType } from '../../ir/dtype.js';
import type { Graph, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import { Tensor } from '../../ir/tensor.js';
import { canonicalizeRules } from '../canonicalize/index.js';
import { eliminateDeadCode } from '../dce.js';
import { applyRules } from '../rewrite.js';
import { expectSameOutputs, histogram } from './helpers.js';

export const scalarF32 = (b: GraphBuilder, name: string, v: number) => b.constant(name, Tensor.float32([v], []));
export const axes = (b: GraphBuilder, name: string, a: number[]) => b.constant(name, Tensor.int64(a));

/** Cast to a dtype (dtype attributes hold DType names). */
export const cast = (b: GraphBuilder, x: Value, to: DType) => b.op('Cast', [x], { attrs: { to } });

export function toFloat16(t: Tensor): Tensor {
  const out = Tensor.zeros('float16', t.shape);
  for (let i = 0; i < t.size; i++) out.set(i, t.get(i));
  return out;
}

/**
 * Canonicalize `graph` (after type inference), check the outputs did not change beyond `tol`
 * and return the op histogram after.
 */
export function canonicalizeAndCompare(graph: Graph, inputs: Record<string, Tensor>, tol = 1e-5): Record<string, number> {
  inferTypes(graph);
  expectSameOutputs(graph, inputs, () => {
    const r = applyRules(graph, canonicalizeRules, { failIfNotConverged: true });
    expect(r.converged).toBe(true);
    eliminateDeadCode(graph);
  }, tol);
  return histogram(graph);
}
