import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { Tensor } from '../../ir/tensor.js';
import { eliminateDeadCode } from '../dce.js';
import { histogram } from './helpers.js';

describe('dce', () => {
  it('removes dead chains and unused constants, keeps outputs', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [3]);
    const c = b.constant('c', Tensor.float32([1, 2, 3]));
    b.constant('unused', Tensor.float32([4]));
    const dead = b.op('Relu', [b.op('Add', [x, c])]);
    b.op('Neg', [dead]);
    b.output(b.op('Abs', [x]));
    expect(eliminateDeadCode(b.graph)).toEqual({ nodes: 3, constants: 2 });
    expect(histogram(b.graph)).toEqual({ Abs: 1 });
    expect([...b.graph.constants.keys()]).toEqual([]);
  });

  it('treats values used or returned by subgraphs as live, and cleans subgraphs', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [3]);
    const cond = b.input('cond', 'bool', []);
    const usedInside = b.op('Neg', [x], { name: 'used_inside' });
    const returned = b.op('Abs', [x], { name: 'returned' });
    const thenB = b.subgraph('then');
    thenB.op('Sin', [x], { name: 'dead_inside' });
    thenB.output(thenB.op('Relu', [usedInside]));
    const elseB = b.subgraph('else');
    elseB.output(returned);
    b.output(b.op('If', [cond], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph } }));
    b.op('Cos', [x], { name: 'dead_outside' });
    expect(eliminateDeadCode(b.graph).nodes).toBe(2);
    expect(b.graph.nodes.map((n) => n.name)).toEqual(['used_inside', 'returned', b.graph.nodes[2]!.name]);
    expect(histogram(thenB.graph)).toEqual({ Relu: 1 });
  });
});
