import { describe, expect, it } from 'vitest';
import { floatAttr, GraphBuilder } from './builder.js';
import { printGraph, printTensor } from './printer.js';
import { Tensor } from './tensor.js';

describe('printGraph', () => {
  it('prints a small graph in a stable form', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['batch', 64]);
    const w = new Float32Array(64 * 64);
    for (let i = 0; i < w.length; i++) w[i] = i % 4 === 0 ? 0 : i; // 25% zeros
    const wv = b.constant('w.0', new Tensor('float32', [64, 64], w));
    const perm = b.constant('perm', Tensor.int64([1, 0]));
    const y = b.op('Linear', [x, wv], { name: 'fc1', types: [{ dtype: 'float32', shape: ['batch', 64] }] });
    const n = b.op('RMSNorm', [y, b.constant('scale', Tensor.float32([1, 1]))], {
      name: 'norm',
      attrs: { epsilon: 1e-5, axis: -1 },
    });
    const s = b.node('Split', [n], { name: 'split', outputs: ['a', 'b'], attrs: { axis: 1, num_outputs: 2 } });
    const c = b.op('Clip', [s.outputs[0]!, undefined, b.constant('hi', Tensor.scalar('float32', 6))], { name: 'clip' });
    const t = b.op('Transpose', [c, perm], { name: 'odd name', attrs: { alpha: floatAttr(1), mode: 'x"y' } });
    b.output(t, s.outputs[1]!);

    expect(printGraph(b.graph)).toBe(
      [
        'graph main(%x: float32[batch,64]) {',
        '  %w.0: float32[64,64] = const <4096 values, 25% zeros>',
        '  %perm: int64[2] = const [1, 0]',
        '  %scale: float32[2] = const [1.0, 1.0]',
        '  %hi: float32[] = const 6.0',
        '  %fc1_out: float32[batch,64] = Linear(%x, %w.0)  // fc1',
        '  %norm_out: ?[?] = RMSNorm(%fc1_out, %scale) {axis = -1, epsilon = 0.00001}  // norm',
        '  %a: ?[?], %b: ?[?] = Split(%norm_out) {axis = 1, num_outputs = 2}  // split',
        '  %clip_out: ?[?] = Clip(%a, none, %hi)  // clip',
        '  %"odd name_out": ?[?] = Transpose(%clip_out, %perm) {alpha = 1.0, mode = "x\\"y"}  // odd name',
        '  return %"odd name_out", %b',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('indents subgraphs under the node that holds them', () => {
    const b = new GraphBuilder('main');
    const cond = b.input('cond', 'bool', []);
    const x = b.input('x', 'float32', [2]);
    const then = b.subgraph('then');
    then.output(then.op('Relu', [x], { name: 'r' }));
    const els = b.subgraph('else');
    els.output(els.op('Neg', [x], { name: 'n' }));
    b.output(b.op('If', [cond], { name: 'if', attrs: { then_branch: then.graph, else_branch: els.graph } }));
    expect(printGraph(b.graph)).toBe(
      [
        'graph main(%cond: bool[], %x: float32[2]) {',
        '  %if_out: ?[?] = If(%cond) {else_branch = graph else, then_branch = graph then}  // if',
        '    else_branch: graph else() {',
        '      %n_out: ?[?] = Neg(%x)  // n',
        '      return %n_out',
        '    }',
        '    then_branch: graph then() {',
        '      %r_out: ?[?] = Relu(%x)  // r',
        '      return %r_out',
        '    }',
        '  return %if_out',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('printTensor', () => {
  it('summarizes zeros without rounding to 0% or 100%', () => {
    const t = Tensor.zeros('float32', [1000]);
    expect(printTensor(t)).toBe('<1000 values, 100% zeros>');
    (t.data as Float32Array)[3] = 1;
    expect(printTensor(t)).toBe('<1000 values, >99% zeros>');
    (t.data as Float32Array).fill(1);
    (t.data as Float32Array)[3] = 0;
    expect(printTensor(t)).toBe('<1000 values, <1% zeros>');
  });

  it('prints bools and strings', () => {
    expect(printTensor(new Tensor('bool', [2], Uint8Array.from([1, 0])))).toBe('[true, false]');
    expect(printTensor(new Tensor('string', [1], ['a']))).toBe('["a"]');
  });
});
