import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { any, constant, op, pattern } from '../pattern.js';
import { applyRules, matcher, rule } from '../rewrite.js';
import { histogram } from './helpers.js';

const f32 = (shape: number[]) => ({ types: [{ dtype: 'float32' as const, shape }] });

/** Neg(Neg(x)) -> x */
const doubleNeg = rule('double-neg', pattern(op(Op.Neg, [op(Op.Neg, [any('x')])])), (m) => m.v.x!);

describe('pattern matching', () => {
  it('binds repeated names to the same value and tries commutative orders', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [4]);
    const y = b.input('y', 'float32', [4]);
    const c = b.constant('c', Tensor.float32([2]));
    const sq = b.op('Mul', [x, x], f32([4]));
    const notSq = b.op('Mul', [x, y], f32([4]));
    const scaled = b.op('Mul', [c, x], f32([4]));
    const square = pattern(op(Op.Mul, [any('a'), any('a')]));
    const timesConst = pattern(op(Op.Mul, [any('a'), constant('k')], { commutative: true }));
    expect(square.match(sq.producer!)?.v.a).toBe(x);
    expect(square.match(notSq.producer!)).toBeUndefined();
    const m = timesConst.match(scaled.producer!)!;
    expect(m.v.a).toBe(x);
    expect(m.v.k).toBe(c);
    expect(timesConst.match(notSq.producer!)).toBeUndefined();
  });

  it('rejects a match whose interior is used outside it', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [4]);
    const n1 = b.op('Neg', [x], f32([4]));
    const n2 = b.op('Neg', [n1], f32([4]));
    b.output(n2, b.op('Relu', [n1], f32([4])));
    expect(doubleNeg.pattern.match(n2.producer!)).toBeUndefined();
  });
});

describe('applyRules', () => {
  it('reaches a fixpoint through requeued users and erases dead nodes', () => {
    const b = new GraphBuilder('main');
    let v: Value = b.input('x', 'float32', [4]);
    for (let i = 0; i < 8; i++) v = b.op('Neg', [v], f32([4]));
    b.output(b.op('Relu', [v], f32([4])));
    const r = applyRules(b.graph, [doubleNeg], { failIfNotConverged: true });
    expect(r.converged).toBe(true);
    expect(r.changed).toBe(true);
    expect(r.counts['double-neg']).toBe(4);
    expect(histogram(b.graph)).toEqual({ Relu: 1 });
    expect(b.graph.nodes[0]!.inputs[0]).toBe(b.graph.inputs[0]);
  });

  it('reports no change on a graph without matches', () => {
    const b = new GraphBuilder('main');
    b.output(b.op('Neg', [b.input('x', 'float32', [4])], f32([4])));
    const r = applyRules(b.graph, [doubleNeg]);
    expect(r).toMatchObject({ changed: false, converged: true, iterations: 1 });
  });

  it('prefers the rule with the higher benefit', () => {
    const make = () => {
      const b = new GraphBuilder('main');
      b.output(b.op('Neg', [b.input('x', 'float32', [4])], f32([4])));
      return b.graph;
    };
    const toAbs = (benefit: number) => rule('to-abs', matcher(Op.Neg, (n) => n), (n, rw) => rw.op(Op.Abs, [n.inputs[0]!]), benefit);
    const toRelu = (benefit: number) => rule('to-relu', matcher(Op.Neg, (n) => n), (n, rw) => rw.op(Op.Relu, [n.inputs[0]!]), benefit);
    const g1 = make();
    applyRules(g1, [toAbs(1), toRelu(2)]);
    expect(histogram(g1)).toEqual({ Relu: 1 });
    const g2 = make();
    applyRules(g2, [toAbs(2), toRelu(1)]);
    expect(histogram(g2)).toEqual({ Abs: 1 });
  });

  it('stops rule cycles at the cap; the test switch turns that into an error', () => {
    const make = () => {
      const b = new GraphBuilder('main');
      const x = b.input('x', 'float32', [4]);
      b.output(b.op('Add', [x, b.input('y', 'float32', [4])], f32([4])));
      return b.graph;
    };
    // Swapping the operands of Add forever: a cycle.
    const swap = rule('swap-add', matcher(Op.Add, (n) => n), (n, rw) => rw.op(Op.Add, [n.inputs[1]!, n.inputs[0]!]));
    const r = applyRules(make(), [swap], { maxIterations: 3 });
    expect(r.converged).toBe(false);
    expect(() => applyRules(make(), [swap], { maxIterations: 3, failIfNotConverged: true })).toThrow(/did not converge/);
  });

  it('rewrites inside subgraphs and keeps values a subgraph captures', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [4]);
    const cond = b.input('c', 'bool', []);
    const captured = b.op('Neg', [b.op('Neg', [x], f32([4]))], f32([4]));
    const thenB = b.subgraph('then');
    thenB.output(thenB.op('Neg', [thenB.op('Neg', [captured], f32([4]))], f32([4])));
    const elseB = b.subgraph('else');
    elseB.output(captured);
    b.output(b.op('If', [cond], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph }, ...f32([4]) }));
    const r = applyRules(b.graph, [doubleNeg], { failIfNotConverged: true });
    expect(r.counts['double-neg']).toBe(2);
    // The then branch returns the outer x through an Identity; the else branch names x itself.
    expect(histogram(b.graph)).toEqual({ If: 1, Identity: 1 });
    expect(elseB.graph.outputs[0]).toBe(x);
    expect(thenB.graph.nodes[0]!.inputs[0]).toBe(x);
  });
});
