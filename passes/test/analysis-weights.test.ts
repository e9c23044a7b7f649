import { describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { GraphBuilder } from '../../ir/builder.js';
import { Tensor } from '../../ir/tensor.js';
import { findWeights } from '../analysis/weights.js';
import { canonicalizePass } from '../canonicalize/index.js';
import { seeded } from './helpers.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

describe('findWeights on the fixtures', () => {
  it('gpt2: every projection, the head, no embeddings (wte only feeds a Gather)', async () => {
    const model = await loadModel(`${FIXTURES}gpt2/model.onnx`);
    const views = findWeights(model.graph);
    expect(views).toHaveLength(4 * 4 + 1);
    expect(views.every((v) => v.node.op === 'MatMul')).toBe(true);
    const byNode = new Map(views.map((v) => [v.node.name, v]));
    const qkv = byNode.get('/blocks.0/attn/qkv/MatMul')!;
    expect([qkv.rows, qkv.cols, qkv.role]).toEqual([192, 64, 'hidden']);
    expect(qkv.input.name).toBe('/blocks.0/ln_1/Add_1_output_0');
    const fc2 = byNode.get('/blocks.3/mlp/mlp.2/MatMul')!;
    expect([fc2.rows, fc2.cols, fc2.role]).toEqual([64, 256, 'hidden']);
    const head = byNode.get('/lm_head/MatMul')!;
    expect([head.rows, head.cols, head.role]).toEqual([256, 64, 'head']);
    expect(views.at(-1)).toBe(head);
    expect(views.filter((v) => v.role === 'head')).toHaveLength(1);
    expect(head.name).toBe(head.value.name);
    expect(Array.from(head.colChannel.slice(0, 4))).toEqual([0, 1, 2, 3]);
  });

  it('gpt2 canonicalized: the same weights as Linear nodes', async () => {
    const model = await loadModel(`${FIXTURES}gpt2/model.onnx`);
    const before = findWeights(model.graph).map((v) => [v.value.name, v.rows, v.cols, v.role]);
    canonicalizePass.run(model, { options: canonicalizePass.defaultOptions(), warn: () => {} });
    const views = findWeights(model.graph);
    expect(views.filter((v) => v.node.op === 'Linear').length).toBeGreaterThanOrEqual(16);
    expect(views.map((v) => [v.value.name, v.rows, v.cols, v.role])).toEqual(before);
  });

  it('mobilenet: convs (full and depthwise) in (tap, channel) column order, Gemm head', async () => {
    const model = await loadModel(`${FIXTURES}mobilenet/model.onnx`);
    const views = findWeights(model.graph);
    const convs = views.filter((v) => v.node.op === 'Conv');
    expect(convs).toHaveLength(model.graph.nodes.filter((n) => n.op === 'Conv').length);
    const stem = convs[0]!;
    expect([stem.rows, stem.cols, stem.role]).toEqual([16, 27, 'hidden']);
    expect(stem.input.isGraphInput).toBe(true);
    expect(Array.from(stem.colChannel.slice(0, 6))).toEqual([0, 1, 2, 0, 1, 2]);
    const depthwise = views.find((v) => v.value.name === 'features.1.body.0.0.weight')!;
    expect([depthwise.rows, depthwise.cols]).toEqual([16, 9]);
    expect(Array.from(depthwise.colChannel)).toEqual(new Array(9).fill(0));
    const pointwise = views.find((v) => v.value.name === 'features.2.body.2.0.weight')!;
    expect([pointwise.rows, pointwise.cols]).toEqual([24, 64]);
    const head = views.at(-1)!;
    expect([head.node.op, head.rows, head.cols, head.role]).toEqual(['Gemm', 10, 128, 'head']);
    expect(views.filter((v) => v.role === 'head')).toHaveLength(1);
  });
});

describe('WeightView read/write', () => {
  it('reads a Conv weight as [M, taps*Cg] with the channel innermost, and writes it back', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [1, 4, 5, 5]);
    const w = b.constant('w', seeded([3, 2, 2, 3], 3));
    b.output(b.op('Conv', [x, w], { attrs: { group: 2 } }));
    const [view] = findWeights(b.graph);
    expect([view!.rows, view!.cols]).toEqual([3, 12]);
    const m = view!.read();
    const wd = w.const!.data as Float32Array;
    // view[r, tap * Cg + c] = W[r, c, tap] with taps = 2*3
    for (let r = 0; r < 3; r++) for (let c = 0; c < 2; c++) for (let t = 0; t < 6; t++) {
      expect(m[r * 12 + t * 2 + c]).toBe(wd[(r * 2 + c) * 6 + t]);
    }
    const original = new Float32Array(wd);
    view!.write(m);
    expect(w.const).not.toBe(undefined);
    expect(Array.from(w.const!.data as Float32Array)).toEqual(Array.from(original));
    m[1 * 12 + 5] = 42; // row 1, tap 2, channel 1
    view!.write(m);
    expect((w.const!.data as Float32Array)[(1 * 2 + 1) * 6 + 2]).toBe(42);
    expect(w.const!.shape).toEqual([3, 2, 2, 3]);
  });

  it('transposes [K, N] weights, keeps Gemm transB ones, and rounds float16 on write', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3]);
    const wKN = b.constant('kn', Tensor.float32([1, 2, 3, 4, 5, 6], [3, 2]));
    const h = b.op('MatMul', [x, wKN]);
    const half = Tensor.zeros('float16', [4, 2]);
    for (let i = 0; i < 8; i++) half.set(i, i + 0.5);
    const wNK = b.constant('nk', half);
    b.output(b.op('Gemm', [b.op('Relu', [h]), wNK], { attrs: { transB: 1 } }));
    const [mm, gemm] = findWeights(b.graph);
    expect([mm!.rows, mm!.cols]).toEqual([2, 3]);
    expect(Array.from(mm!.read())).toEqual([1, 3, 5, 2, 4, 6]);
    expect([gemm!.rows, gemm!.cols, gemm!.role]).toEqual([4, 2, 'head']);
    expect(Array.from(gemm!.read())).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
    gemm!.write(Float32Array.from([0.1, 0, 0, 0, 0, 0, 0, 1000.3]));
    expect(wNK.const!.dtype).toBe('float16');
    expect(wNK.const!.get(0)).toBeCloseTo(0.1, 3);
    expect(wNK.const!.get(7)).toBe(1000.5);
    expect(() => gemm!.write(new Float32Array(3))).toThrow(/4x2/);
  });

  it('marks tied embeddings, and skips weights it cannot view', () => {
    const b = new GraphBuilder('main');
    const ids = b.input('ids', 'int64', [1, 4]);
    const table = b.constant('wte', seeded([10, 6], 1));
    const h = b.op('Gather', [table, ids]);
    const hidden = b.constant('fc', seeded([6, 6], 2));
    const y = b.op('Relu', [b.op('MatMul', [h, hidden])]);
    const logits = b.op('Gemm', [b.op('Reshape', [y, b.constant('s', Tensor.int64([4, 6]))]), table], { attrs: { transB: 1 } });
    b.output(b.op('Add', [logits, b.constant('bias', seeded([10], 4))]));
    // Not weights: a constant A, a Gemm with transA, a batched constant B.
    const other = b.input('o', 'float32', [6, 6]);
    b.output(b.op('MatMul', [hidden, other]));
    b.output(b.op('Gemm', [other, hidden], { attrs: { transA: 1 } }));
    b.output(b.op('MatMul', [other, b.constant('batched', seeded([2, 6, 6], 5))]));
    const views = findWeights(b.graph);
    expect(views.map((v) => [v.name, v.role, v.rows, v.cols])).toEqual([
      ['fc', 'hidden', 6, 6],
      ['wte', 'embedding', 10, 6],
    ]);
  });

  it('a layer followed by a residual add of another activation is not the head', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 4]);
    const y = b.op('MatMul', [x, b.constant('w', seeded([4, 4], 1))]);
    b.output(b.op('Add', [y, x]));
    expect(findWeights(b.graph)[0]!.role).toBe('hidden');
  });
});
