import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../builder.js';
import { SparsecError } from '../../diagnostics.js';
import type { Value } from '../../graph.js';
import { Tensor } from '../../tensor.js';
import { execute, ExecutionError, unsupportedNodes } from '../index.js';
import { codeOf, f32 } from './helpers.js';

/** y = relu(x * 2 + b), z = y - x: a small graph with a shared input. */
function smallGraph() {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['batch', 3]);
  const two = b.constant('two', Tensor.scalar('float32', 2));
  const bias = b.constant('bias', f32([1, -10, 0]));
  const t = b.op('Mul', [x, two], { name: 'mul' });
  const u = b.op('Add', [t, bias], { name: 'add' });
  const y = b.op('Relu', [u], { name: 'relu' });
  const z = b.op('Sub', [y, x], { name: 'sub' });
  b.output(y, z);
  return { graph: b.graph, y, z };
}

describe('execute', () => {
  it('returns graph outputs by name', () => {
    const { graph, y, z } = smallGraph();
    const out = execute(graph, { x: f32([1, 2, 3, 4, 5, 6], [2, 3]) });
    expect([...out.keys()]).toEqual([y.name, z.name]);
    expect(out.get(y.name)!.toNumbers()).toEqual([3, 0, 6, 9, 0, 12]);
    expect(out.get(z.name)!.toNumbers()).toEqual([2, -2, 3, 5, -5, 6]);
  });

  it('accepts a Map of inputs', () => {
    const { graph, y } = smallGraph();
    const out = execute(graph, new Map([['x', f32([0, 0, 0], [1, 3])]]));
    expect(out.get(y.name)!.toNumbers()).toEqual([1, 0, 0]);
  });

  it('reports every produced tensor to onValue', () => {
    const { graph } = smallGraph();
    const seen: string[] = [];
    execute(graph, { x: f32([1, 2, 3], [1, 3]) }, { onValue: (v: Value, t: Tensor) => seen.push(`${v.producer!.name}:${t.shape.join('x')}`) });
    expect(seen).toEqual(['mul:1x3', 'add:1x3', 'relu:1x3', 'sub:1x3']);
  });

  it('checks input names, dtypes, ranks and static dims', () => {
    const { graph } = smallGraph();
    expect(codeOf(() => execute(graph, {}))).toBe('BAD_INPUT');
    expect(codeOf(() => execute(graph, { x: f32([1, 2, 3], [1, 3]), extra: f32([1]) }))).toBe('BAD_INPUT');
    expect(codeOf(() => execute(graph, { x: Tensor.int64([1, 2, 3], [1, 3]) }))).toBe('BAD_INPUT');
    expect(codeOf(() => execute(graph, { x: f32([1, 2, 3]) }))).toBe('BAD_INPUT');
    expect(codeOf(() => execute(graph, { x: f32([1, 2, 3, 4], [1, 4]) }))).toBe('BAD_INPUT');
    expect(() => execute(graph, { x: f32([1, 2], [1, 2]) })).toThrow(/input 'x' has size 2 in dim 1 \(shape \[1,2\]\) \(expected float32 \[batch,3\]\)/);
  });

  it('requires one size per symbolic dim across inputs', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['n']);
    const y = b.input('y', 'float32', ['n']);
    b.output(b.op('Add', [x, y]));
    expect(() => execute(b.graph, { x: f32([1, 2]), y: f32([1, 2, 3]) })).toThrow(/binds dim 'n' to 3 but input 'x' binds it to 2/);
  });

  it('frees intermediates after their last use', () => {
    // A chain of 20 ops where each value is read once, plus one value read at the very end.
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2]);
    const a = b.op('Neg', [x]);
    let v = a;
    for (let i = 0; i < 20; i++) v = b.op('Abs', [v]);
    b.output(b.op('Add', [v, a]));
    const stats = { peakLiveValues: 0 };
    const out = execute(b.graph, { x: f32([1, -2]) }, { stats });
    expect([...out.values()][0]!.toNumbers()).toEqual([0, 4]);
    // x (until Neg has run), a, the current chain value and its successor: never more than 4.
    expect(stats.peakLiveValues).toBeLessThanOrEqual(4);
    expect(stats.peakLiveValues).toBeGreaterThanOrEqual(3);
  });

  it('lists every unsupported node with its op', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2]);
    const o1 = b.graph.addNode({ op: 'Opaque', inputs: [x], outputs: 1, opType: 'FusedThing', domain: 'com.example', opsetVersion: 3, name: 'fused' });
    const o2 = b.graph.addNode({ op: 'Opaque', inputs: [o1.outputs[0]], outputs: 1, opType: 'Other', domain: 'com.example', opsetVersion: 3, name: 'other' });
    b.output(o2.outputs[0]!);
    expect(unsupportedNodes(b.graph).map((n) => n.name)).toEqual(['fused', 'other']);
    try {
      execute(b.graph, { x: f32([1, 2]) });
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(SparsecError);
      const ds = (e as SparsecError).diagnostics;
      expect(ds.map((d) => d.code)).toEqual(['UNSUPPORTED_OP', 'UNSUPPORTED_OP']);
      expect(ds[0]!.text).toContain('com.example.FusedThing (opset 3)');
      expect(ds[1]!.location?.node).toBe('other');
    }
  });

  it('wraps internal errors with the node and keeps SparsecErrors as they are', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2]);
    // Cast to a dtype name that does not exist is a user error (UNSUPPORTED_DTYPE).
    b.output(b.op('Cast', [x], { attrs: { to: 'float99' }, name: 'cast' }));
    expect(codeOf(() => execute(b.graph, { x: f32([1, 2]) }))).toBe('UNSUPPORTED_DTYPE');

    const g = new GraphBuilder('g');
    const s = g.input('s', 'float32', [1]);
    g.output(g.op('Neg', [s], { name: 'neg' }));
    // A tensor whose storage fails to read stands in for a bug inside an op.
    const broken = f32([1]);
    Object.defineProperty(broken, 'data', { get: () => { throw new RangeError('boom'); } });
    try {
      execute(g.graph, { s: broken });
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(ExecutionError);
      expect((e as ExecutionError).node.name).toBe('neg');
      expect((e as Error).message).toBe("Neg 'neg' (Neg): boom");
    }
  });

  it('runs a subgraph that reads values captured from the enclosing graph', () => {
    const b = new GraphBuilder('g');
    const cond = b.input('cond', 'bool', []);
    const x = b.input('x', 'float32', [2]);
    const doubled = b.op('Add', [x, x]);
    const thenB = b.subgraph('then');
    thenB.output(thenB.op('Mul', [doubled, x]));
    const elseB = b.subgraph('else');
    elseB.output(elseB.op('Neg', [doubled]));
    const y = b.op('If', [cond], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph } });
    b.output(y);
    const run = (c: boolean) => execute(b.graph, { cond: Tensor.scalar('bool', c), x: f32([1, 3]) }).get(y.name)!.toNumbers();
    expect(run(true)).toEqual([2, 18]);
    expect(run(false)).toEqual([-2, -6]);
  });
});
