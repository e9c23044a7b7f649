import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { SparsecError } from './diagnostics.js';
import { inferTypes } from './infer.js';
import { Tensor } from './tensor.js';

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof SparsecError ? `${e.diagnostic.code} ${e.diagnostic.location?.node}` : String(e);
  }
  return undefined;
};

describe('inferTypes', () => {
  it('carries symbolic dims through broadcasting and MatMul', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['batch', 'seq', 768]);
    const mask = b.input('mask', 'float32', ['batch', 1, 768]);
    const w = b.constant('w', Tensor.zeros('float32', [768, 3072]));
    const bias = b.constant('bias', Tensor.zeros('float32', [3072]));
    const h = b.op('Mul', [x, mask]);
    const y = b.op('MatMul', [h, w]);
    const z = b.op('Add', [y, bias]);
    const s = b.op('ReduceSum', [z, b.constant('axes', Tensor.int64([-1]))], { attrs: { keepdims: 0 } });
    const c = b.op('Less', [s, b.constant('zero', Tensor.scalar('float32', 0))]);
    b.output(c);
    inferTypes(b.graph);
    expect(h.shape).toEqual(['batch', 'seq', 768]);
    expect(y.shape).toEqual(['batch', 'seq', 3072]);
    expect(z.dtype).toBe('float32');
    expect(z.shape).toEqual(['batch', 'seq', 3072]);
    expect(s.shape).toEqual(['batch', 'seq']);
    expect(c.dtype).toBe('bool');
  });

  it('a symbol broadcast against a number takes the number', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['n', 4]);
    const y = b.input('y', 'float32', [3, 1]);
    const z = b.op('Add', [x, y]);
    inferTypes(b.graph);
    expect(z.shape).toEqual([3, 4]);
  });

  it('merges with declared shapes: numbers beat symbols, declared symbols are kept', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['batch', 8]);
    const y = b.op('Relu', [x], { types: [{ dtype: 'float32', shape: [2, 'features'] }] });
    const z = b.op('Neg', [x], { types: [{ shape: ['rows', 8] }] });
    inferTypes(b.graph);
    expect(y.shape).toEqual([2, 8]);
    expect(z.shape).toEqual(['rows', 8]);
    expect(z.dtype).toBe('float32');
  });

  it('conflicting numbers are a SHAPE_MISMATCH naming the node; overwrite replaces instead', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2, 3]);
    const y = b.op('Relu', [x], { types: [{ shape: [2, 4] }], name: 'act' });
    expect(codeOf(() => inferTypes(b.graph))).toBe('SHAPE_MISMATCH act');
    inferTypes(b.graph, { overwrite: true });
    expect(y.shape).toEqual([2, 3]);
  });

  it('a declared dtype that differs is a TYPE_MISMATCH', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2]);
    b.op('Cast', [x], { attrs: { to: 'int64' }, types: [{ dtype: 'int32' }], name: 'cast' });
    expect(codeOf(() => inferTypes(b.graph))).toBe('TYPE_MISMATCH cast');
  });

  it('mixed input dtypes are a TYPE_MISMATCH', () => {
    const b = new GraphBuilder('g');
    b.op('Add', [b.input('x', 'float32', [2]), b.input('y', 'int64', [2])], { name: 'add' });
    expect(codeOf(() => inferTypes(b.graph))).toBe('TYPE_MISMATCH add');
  });

  it('evaluates small constant computations so Reshape sees its target shape', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [12]);
    const half = b.constant('half', Tensor.int64([1, 3]));
    const target = b.op('Add', [half, half]);
    const y = b.op('Reshape', [x, target]);
    inferTypes(b.graph);
    expect(target.shape).toEqual([2]);
    expect(y.shape).toEqual([2, 6]);
  });

  it('leaves outputs of unknown ops unknown without failing', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2]);
    const n = b.graph.addNode({ op: 'Opaque', inputs: [x], outputs: 1, opType: 'Custom', domain: 'com.example' });
    const y = b.op('Relu', [n.outputs[0]!]);
    inferTypes(b.graph);
    expect(n.outputs[0]!.shape).toBeUndefined();
    expect(y.shape).toBeUndefined();
  });

  it('fresh dims are unique and never reuse a symbol the graph has', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['n', 3, 'h', 'w']);
    b.input('taken', 'float32', ['h_out_0', 'h_out_1']);
    const w = b.constant('w', Tensor.zeros('float32', [4, 3, 3, 3]));
    const y1 = b.op('Conv', [x, w]);
    const y2 = b.op('Conv', [x, w]);
    inferTypes(b.graph);
    const syms = [...y1.shape!.slice(2), ...y2.shape!.slice(2)];
    expect(syms.every((d) => typeof d === 'string')).toBe(true);
    expect(new Set(syms).size).toBe(4);
    expect(syms).not.toContain('h_out_0');
    expect(syms).not.toContain('h_out_1');
    expect(y1.shape!.slice(0, 2)).toEqual(['n', 4]);
  });

  it('infers inside subgraphs', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['n', 2]);
    const cond = b.input('c', 'bool', []);
    const thenB = b.subgraph('then');
    const inner = thenB.op('Sigmoid', [x]);
    thenB.output(inner);
    const elseB = b.subgraph('else');
    const other = elseB.op('Neg', [x]);
    elseB.output(other);
    b.op('If', [cond], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph } });
    inferTypes(b.graph);
    expect(inner.shape).toEqual(['n', 2]);
    expect(other.dtype).toBe('float32');
  });
});
