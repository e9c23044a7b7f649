// The coupling graph on small hand-built graphs: Concat and Slice along the channel axis move
// indices by their offsets, a constant shared with an untouched node is cloned, not edited,
// and a norm over the channel axis stops the plan. Exactness as in heads.test.ts: what is
// removed contributes nothing (its reader rows are zero), so outputs must not change.

import { describe, expect, it } from 'vitest';
import { execute } from '../../../ir/executor/index.js';
import { Graph, type Node, type Value } from '../../../ir/graph.js';
import { inferTypes } from '../../../ir/infer.js';
import { Op } from '../../../ir/ops.js';
import { Tensor } from '../../../ir/tensor.js';
import { verify } from '../../../ir/verify.js';
import { applyCoupling, layerOutputSeed, planCoupling } from '../../structure/coupling.js';
import { expectClose, seeded } from '../../test/helpers.js';

function linear(g: Graph, x: Value, k: number, n: number, seed: number, bias?: Value): Node {
  const w = g.addConstant(`w${seed}`, seeded([k, n], seed));
  return g.addNode({ op: Op.Linear, inputs: bias ? [x, w, bias] : [x, w], outputs: 1, name: `linear${seed}` });
}

/** Zero input rows `rows` of a Linear's weight. */
function zeroRows(node: Node, rows: readonly number[]): void {
  const t = node.inputs[1]!.const!;
  const data = Float32Array.from(t.toFloat32());
  const n = t.shape[1]!;
  for (const r of rows) data.fill(0, r * n, (r + 1) * n);
  node.inputs[1]!.const = new Tensor('float32', t.shape, data);
}

/**
 * x[3,8] -> A (6 outputs, bias shared with E) and B (4) -> Concat -> Relu -> C (reads 10)
 *                                                      `-> Slice [2, 9) -> D (reads 7)
 * and E (6 outputs, the same bias constant as A) -> graph output.
 */
function build() {
  const g = new Graph('g');
  const x = g.addInput('x', 'float32', [3, 8]);
  const bias = g.addConstant('bias', seeded([6], 9));
  const a = linear(g, x, 8, 6, 1, bias);
  const b = linear(g, x, 8, 4, 2);
  const cat = g.addNode({ op: Op.Concat, inputs: [a.outputs[0]!, b.outputs[0]!], outputs: 1, attrs: { axis: { kind: 'int', value: -1 } } });
  const relu = g.addNode({ op: Op.Relu, inputs: [cat.outputs[0]!], outputs: 1 });
  const c = linear(g, relu.outputs[0]!, 10, 3, 3);
  const bounds = (v: number) => g.addConstant(`b${v}`, Tensor.int64([v]));
  const slice = g.addNode({ op: Op.Slice, inputs: [cat.outputs[0]!, bounds(2), bounds(9), bounds(-1)], outputs: 1 });
  const d = linear(g, slice.outputs[0]!, 7, 2, 4);
  const e = linear(g, x, 8, 6, 5, bias);
  g.outputs = [c.outputs[0]!, d.outputs[0]!, e.outputs[0]!];
  inferTypes(g);
  return { g, a, b, c, d, e, slice };
}

describe('coupling plan', () => {
  it('moves indices through Concat and Slice offsets and edits the slice bounds', () => {
    const { g, a, b, c, d, e, slice } = build();
    // Remove A's channel 4 (concat 4, slice 2) and B's channel 3 (concat 9, outside the slice).
    zeroRows(c, [4, 9]);
    zeroRows(d, [2]);
    const input = new Map([['x', seeded([3, 8], 7)]]);
    const before = execute(g, input);
    const plan = planCoupling(g, [layerOutputSeed(a, [4]), layerOutputSeed(b, [3])]);
    expect(plan.stops).toEqual([]);
    const cat = plan.members.find((m) => m.value.producer?.op === Op.Concat)!;
    expect(cat.removed).toEqual([4, 9]);
    expect(plan.members.find((m) => m.value === slice.outputs[0])!.removed).toEqual([2]);
    applyCoupling(g, plan);
    verify(g);
    expect(a.inputs[1]!.const!.shape).toEqual([8, 5]);
    expect(b.inputs[1]!.const!.shape).toEqual([8, 3]);
    expect(c.inputs[1]!.const!.shape).toEqual([8, 3]);
    expect(d.inputs[1]!.const!.shape).toEqual([6, 2]);
    expect([slice.inputs[1]!.const!.toNumbers(), slice.inputs[2]!.const!.toNumbers()]).toEqual([[2], [8]]);
    // The bias A shares with E is cloned for A; E keeps all six entries.
    expect(a.inputs[2]!.const!.shape).toEqual([5]);
    expect(e.inputs[2]!.const!.shape).toEqual([6]);
    const after = execute(g, input);
    for (const [name, t] of before) expectClose(after.get(name)!, t, 1e-6);
  });

  it('stops at a norm over the channel axis and at a graph output, naming them', () => {
    const g = new Graph('g');
    const x = g.addInput('x', 'float32', [3, 8]);
    const a = linear(g, x, 8, 6, 1);
    const scale = g.addConstant('scale', seeded([6], 2));
    const norm = g.addNode({ op: Op.RMSNorm, inputs: [a.outputs[0]!, scale], outputs: 1, name: 'norm' });
    const c = linear(g, norm.outputs[0]!, 6, 2, 3);
    const e = linear(g, x, 8, 4, 4);
    g.outputs = [c.outputs[0]!, e.outputs[0]!];
    inferTypes(g);
    const stopped = planCoupling(g, [layerOutputSeed(a, [0])]);
    expect(stopped.edits).toEqual([]);
    expect(stopped.stops.map((s) => [s.node?.name, s.reason])).toEqual([['norm', expect.stringMatching(/normalizes over the channel axis/)]]);
    const output = planCoupling(g, [layerOutputSeed(e, [1])]);
    expect(output.stops[0]!.reason).toMatch(/graph output/);
    expect(() => applyCoupling(g, output)).toThrow(/stops/);
  });
});
