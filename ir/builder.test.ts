import { describe, expect, it } from 'vitest';
import { floatAttr, GraphBuilder, toAttr } from './builder.js';
import { Graph } from './graph.js';
import { Tensor } from './tensor.js';
import { verify } from './verify.js';

describe('GraphBuilder', () => {
  it('infers attribute kinds from JS values', () => {
    expect(toAttr('a', 1)).toEqual({ kind: 'int', value: 1 });
    expect(toAttr('a', 0.5)).toEqual({ kind: 'float', value: 0.5 });
    expect(toAttr('a', [1, 2])).toEqual({ kind: 'ints', value: [1, 2] });
    expect(toAttr('a', [1, 2.5])).toEqual({ kind: 'floats', value: [1, 2.5] });
    expect(toAttr('a', ['x'])).toEqual({ kind: 'strings', value: ['x'] });
    expect(toAttr('a', 'x')).toEqual({ kind: 'string', value: 'x' });
    expect(floatAttr(1)).toEqual({ kind: 'float', value: 1 });
    expect(toAttr('a', Tensor.float32([1])).kind).toBe('tensor');
    expect(toAttr('a', new Graph('g')).kind).toBe('graph');
    expect(() => toAttr('a', [1, 'x'] as unknown as number[])).toThrow(/mixes numbers and strings/);
  });

  it('builds graphs with exact use lists and declared output types', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2]);
    const y = b.op('Relu', [x], { name: 'r', types: [{ dtype: 'float32', shape: [2] }] });
    const z = b.op('Add', [y, x]);
    b.output(z);
    expect(x.uses.map((u) => [u.node.name, u.index])).toEqual([['r', 0], ['add', 1]]);
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([2]);
    expect(b.graph.outputs).toEqual([z]);
    expect(() => verify(b.graph)).not.toThrow();
  });
});
