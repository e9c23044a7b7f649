import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { SparsecError } from '../../ir/diagnostics.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { lower } from '../lower.js';
import { mlpModel } from './mlp.js';

const ops = (m: Model, format?: 'auto' | 'dense' | 'csr' | 'nm') => lower(m, format ? { format } : {});

describe('lowering to a kernel schedule', () => {
  test('a dense FFN: bias and ReLU fused into the first Linear, the residual Add into the second', () => {
    const { schedule } = ops(mlpModel({ tokens: 4, d: 16, hidden: 32 }));
    expect(schedule.kernels.map((k) => k.op)).toEqual(['linear', 'linear']);
    const [first, second] = schedule.kernels;
    expect(first).toMatchObject({ op: 'linear', epilogue: { activation: 'relu', residual: false }, layout: 'dense', M: 4, K: 16, N: 32 });
    expect(second).toMatchObject({ op: 'linear', epilogue: { activation: 'none', residual: true }, residual: schedule.inputs[0]!.buffer, y: schedule.outputs[0]!.buffer });
    expect(first!.op === 'linear' && first!.bias?.length).toBe(32);
    expect(schedule.layers.map((l) => l.layout)).toEqual(['dense', 'dense']);
  });

  test('Gelu (erf and tanh forms) fuses into the Linear before it; nothing fuses into a Linear whose output has other readers', () => {
    for (const [activation, fn] of [['Gelu', 'gelu'], ['GeluTanh', 'gelu_tanh']] as const) {
      const { schedule } = ops(mlpModel({ tokens: 8, d: 16, hidden: 32, activation, pruning: 0.9 }));
      expect(schedule.kernels.filter((k) => k.op === 'linear').map((k) => k.op === 'linear' && k.epilogue)).toEqual([
        { activation: fn, residual: false }, { activation: 'none', residual: true },
      ]);
    }
    // The hidden activation is also a graph output: it must be stored before the Relu.
    const m = mlpModel({ tokens: 4, d: 16, hidden: 32, residual: false });
    const hidden = m.graph.nodes.find((n) => n.op === 'Relu')!.inputs[0]!;
    m.graph.outputs.push(hidden);
    const { schedule } = ops(m);
    expect(schedule.kernels.map((k) => k.op)).toEqual(['linear', 'unary', 'linear']);
  });

  test('auto picks csr for 90% sparse weights; the activations stay transposed between the layers', () => {
    const { schedule } = ops(mlpModel({ tokens: 16, d: 16, hidden: 32, pruning: 0.9 }));
    expect(schedule.layers.map((l) => l.layout)).toEqual(['csr', 'csr']);
    expect(schedule.layers[0]!.density).toBeCloseTo(0.1, 2);
    // One transpose in (x), one out (y): the hidden layer and the residual stay transposed.
    expect(schedule.kernels.map((k) => k.op)).toEqual(['transpose', 'linear', 'linear', 'transpose']);
  });

  test('one token needs no transposes; 70% sparse goes unstructured for many tokens, at about 0.44x dense time (the cost model)', () => {
    expect(ops(mlpModel({ tokens: 1, d: 16, hidden: 32, pruning: 0.9 })).schedule.kernels.map((k) => k.op)).toEqual(['linear', 'linear']);
    const s70 = ops(mlpModel({ tokens: 16, d: 16, hidden: 32, pruning: 0.7 })).schedule;
    expect(s70.layers.map((l) => l.layout)).toEqual(['csr', 'csr']);
    expect(s70.layers.every((l) => l.relativeCost > 0.35 && l.relativeCost < 0.5)).toBe(true);
    expect(ops(mlpModel({ tokens: 16, d: 16, hidden: 32 })).schedule.layers.map((l) => l.layout)).toEqual(['dense', 'dense']);
  });

  test('--format nm uses 2:4 where the weight is 2:4 and warns (LAYOUT_FALLBACK) where not', () => {
    const nm = ops(mlpModel({ tokens: 8, d: 16, hidden: 32, pruning: '2:4' }), 'nm');
    expect(nm.schedule.layers.map((l) => [l.layout, l.is2of4])).toEqual([['nm', true], ['nm', true]]);
    expect(nm.warnings).toEqual([]);
    const dense = ops(mlpModel({ tokens: 8, d: 16, hidden: 32 }), 'nm');
    expect(dense.schedule.layers.map((l) => l.layout)).toEqual(['dense', 'dense']);
    expect(dense.warnings.map((w) => w.code)).toEqual(['LAYOUT_FALLBACK', 'LAYOUT_FALLBACK']);
  });

  test('unsupported ops: one UNSUPPORTED_OP naming every such node', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2, 8]);
    const w = b.constant('w', Tensor.float32(new Float32Array(64).fill(0.5), [8, 8]));
    const h = b.op('Softmax', [b.op('MatMul', [x, w])], { name: 'sm', attrs: { axis: 0 } });
    const c = b.op('Cos', [b.op('Sin', [h], { name: 'sin' })], { name: 'cos' });
    const y = b.op('MatMul', [c, b.op('Transpose', [c], { name: 'tr' })], { name: 'mm' });
    b.output(y);
    const m = new Model(b.graph);
    m.opsets.set('', 21);
    let err: unknown;
    try {
      lower(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SparsecError);
    const d = (err as SparsecError).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]!.code).toBe('UNSUPPORTED_OP');
    expect(d[0]!.text).toContain('cannot lower 3 nodes');
    expect(d[0]!.text).toContain("1 Softmax (softmax over an axis other than the last): 'sm'");
    expect(d[0]!.text).toContain("1 Sin (op not lowered yet): 'sin'");
    expect(d[0]!.text).toContain("1 Cos (op not lowered yet): 'cos'");
    expect(d[0]!.text).not.toContain("'mm'");
    expect(d[0]!.text).not.toContain('\n');
  });

  test('a Dropout whose mask is a graph output is refused (found by the conformance suite: test_dropout_default_mask)', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2, 8]);
    const dropout = b.node('Dropout', [x], { name: 'drop', outputs: ['y', 'mask'] });
    b.output(...dropout.outputs);
    const m = new Model(b.graph);
    m.opsets.set('', 21);
    expect(() => lower(m)).toThrow(/1 Dropout \(Dropout mask output\): 'drop'/);
  });

  test('extra outputs that are graph outputs are refused: LayerNormalization\'s mean, TopK\'s indices (found by the conformance suite)', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2, 8]);
    const norm = b.node('LayerNormalization', [x, b.constant('s', Tensor.float32(new Float32Array(8).fill(1), [8]))], { name: 'ln', outputs: ['y', 'mean'] });
    const top = b.node('TopK', [norm.outputs[0]!, b.constant('k', Tensor.int64([3]))], { name: 'top', outputs: ['values', 'indices'] });
    b.output(norm.outputs[1]!, ...top.outputs);
    const m = new Model(b.graph);
    m.opsets.set('', 21);
    let message = '';
    try {
      lower(m);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("1 LayerNormalization (mean or inverse deviation output used): 'ln'");
    expect(message).toContain("1 TopK (TopK indices as a graph output (int64)): 'top'");
  });

  test('int64 passes through a Reshape but is refused as a graph output: the runtime returns float32 outputs', () => {
    const b = new GraphBuilder('g');
    const ids = b.input('ids', 'int64', [2, 3]);
    const flat = b.op('Reshape', [ids, b.constant('s', Tensor.int64([6], [1]))], { name: 'flat' });
    b.output(flat);
    const m = new Model(b.graph);
    m.opsets.set('', 21);
    expect(() => lower(m)).toThrow(/1 Reshape \(int64 graph output 'flat_out', outputs are float32\): 'flat'/);
  });
});
