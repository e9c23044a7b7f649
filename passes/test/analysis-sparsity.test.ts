import { describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { GraphBuilder } from '../../ir/builder.js';
import type { Graph, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import { Tensor } from '../../ir/tensor.js';
import { analyzeSparsity, analyzeSparsityPass } from '../analysis/sparsity.js';
import { findWeights } from '../analysis/weights.js';
import { seeded } from './helpers.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

/** A MatMul weight given as its [rows, cols] view (stored as [cols, rows]). */
function matmul(b: GraphBuilder, x: Value, name: string, view: number[][]): Value {
  const rows = view.length;
  const cols = view[0]!.length;
  const w = b.constant(name, Tensor.zeros('float32', [cols, rows]));
  const y = b.op('MatMul', [x, w], { name });
  const v = findWeights(b.graph).find((f) => f.value === w)!;
  v.write(Float32Array.from(view.flat()));
  return y;
}

const dense = (rows: number, cols: number, dead: { rows?: number[]; cols?: number[] } = {}) =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => (dead.rows?.includes(r) || dead.cols?.includes(c) ? 0 : 1 + ((r * cols + c) % 3))));

const layerOf = (report: ReturnType<typeof analyzeSparsity>, name: string) => report.layers.find((l) => l.name === name)!;

describe('weight patterns', () => {
  it('density, N:M compliance, zero blocks, dead rows and columns on a known matrix', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 8]);
    b.output(matmul(b, x, 'w', [
      [1, 1, 0, 0, 1, 0, 1, 0],
      [1, 1, 1, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
      [1, 1, 1, 1, 1, 1, 1, 0],
    ]));
    const layer = analyzeSparsity(b.graph).layers[0]!;
    expect([layer.rows, layer.cols, layer.params, layer.nonzeros]).toEqual([4, 8, 32, 14]);
    expect(layer.density).toBeCloseTo(14 / 32);
    const nm = Object.fromEntries(layer.nm.map((p) => [p.pattern, p.compliance]));
    expect(nm).toEqual({ '1:2': 11 / 16, '2:4': 5 / 8, '4:8': 3 / 4, '1:4': 3 / 8 });
    const blocks = Object.fromEntries(layer.blocks.map((p) => [p.shape, p.zeroFraction]));
    expect(blocks).toEqual({ '1x4': 3 / 8, '4x1': 1 / 8, '8x1': 1 / 8, '4x4': 0 });
    expect(layer.bestBlock).toEqual({ shape: '1x4', zeroFraction: 3 / 8 });
    expect(layer.deadRows).toEqual([2]);
    expect(layer.deadCols).toEqual([7]);
  });

  it('conv groups run along input channels; a dead input channel needs every tap zero', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [1, 4, 5, 5]);
    const w = seeded([2, 4, 3, 3], 1);
    const wd = w.data as Float32Array;
    // Channel 1 dead everywhere; channel 3 zero except one tap; output row 1 keeps channels 0, 2 only.
    for (let m = 0; m < 2; m++) for (let t = 0; t < 9; t++) {
      wd[(m * 4 + 1) * 9 + t] = 0;
      if (t !== 4) wd[(m * 4 + 3) * 9 + t] = 0;
    }
    b.output(b.op('Conv', [x, b.constant('w', w)], { attrs: { pads: [1, 1, 1, 1] } }));
    const layer = analyzeSparsity(b.graph).layers[0]!;
    expect([layer.rows, layer.cols]).toEqual([2, 36]);
    expect(layer.deadCols).toEqual([1]);
    // Groups of 4 columns = the 4 channels of one tap: 2 of them nonzero except at tap 4 (3).
    expect(layer.nm.find((p) => p.pattern === '2:4')!.compliance).toBeCloseTo(16 / 18);
  });
});

describe('what dead channels make removable', () => {
  it('forward through a zero bias and Relu; backward through Gelu; blocked by a nonzero bias', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 8]);
    const h1 = matmul(b, x, 'fc1', dense(6, 8, { rows: [2, 4] }));
    const bias = b.constant('b1', Tensor.float32([0.1, 0.1, 0, 0.1, 0.5, 0.1]));
    const h = b.op('Relu', [b.op('Add', [h1, bias])]);
    const h2 = b.op('Gelu', [matmul(b, h, 'fc2', dense(5, 6))]);
    b.output(matmul(b, h2, 'fc3', dense(3, 5, { cols: [1] })));
    const report = analyzeSparsity(b.graph);
    expect(layerOf(report, 'fc1').deadRows).toEqual([2, 4]);
    const removable = report.removable.map((r) => [r.layer, r.axis, r.channels]);
    expect(removable).toEqual(expect.arrayContaining([
      ['fc2', 'cols', [2]],
      ['fc1', 'rows', [2]],
      ['fc2', 'rows', [1]],
    ]));
    expect(removable).toHaveLength(3);
    expect(report.summary.removableChannels).toBe(3);
  });

  it('backward through SwiGLU (x * sigmoid(x) * up) reaches both gate and up rows', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 4]);
    const gate = matmul(b, x, 'gate', dense(6, 4));
    const up = matmul(b, x, 'up', dense(6, 4));
    const act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    b.output(matmul(b, act, 'down', dense(4, 6, { cols: [3, 5] })));
    const report = analyzeSparsity(b.graph);
    const rows = report.removable.filter((r) => r.axis === 'rows').map((r) => [r.layer, r.channels]);
    expect(rows.sort()).toEqual([['gate', [3, 5]], ['up', [3, 5]]]);
  });

  it('conv chains: forward through BatchNormalization when it maps 0 to 0, backward through BN and Clip', () => {
    const build = (beta: number) => {
      const b = new GraphBuilder('main');
      const x = b.input('x', 'float32', [1, 3, 6, 6]);
      const w1 = seeded([4, 3, 3, 3], 1);
      (w1.data as Float32Array).fill(0, 2 * 27, 3 * 27); // output channel 2 dead
      const c1 = b.op('Conv', [x, b.constant('w1', w1)], { attrs: { pads: [1, 1, 1, 1] } });
      const bnParams = (name: string, v: number[]) => b.constant(name, Tensor.float32(v));
      const bn = b.op('BatchNormalization', [c1, bnParams('scale', [1, 2, 3, 4]), bnParams('beta', [0.1, 0.2, beta, 0.3]), bnParams('mean', [0, 0, 0, 0]), bnParams('var', [1, 1, 1, 1])]);
      const act = b.op('Clip', [bn, b.constant('lo', Tensor.float32([0], [])), b.constant('hi', Tensor.float32([6], []))]);
      const w2 = seeded([5, 4, 1, 1], 2);
      (w2.data as Float32Array).forEach((_, i, a) => i % 4 === 1 && (a[i] = 0)); // input channel 1 dead
      b.output(b.op('Conv', [act, b.constant('w2', w2)]));
      return analyzeSparsity(b.graph).removable.map((r) => [r.layer, r.axis, r.channels]);
    };
    expect(build(0)).toEqual(expect.arrayContaining([['w2', 'cols', [2]], ['w1', 'rows', [2]], ['w1', 'rows', [1]]]));
    expect(build(0.5)).toEqual([['w1', 'rows', [1]]]);
  });

  it('a residual add or a second reader keeps the channel', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 4]);
    const y = matmul(b, x, 'fc1', dense(4, 4, { rows: [0] }));
    const r = b.op('Add', [y, x]);
    const z = matmul(b, r, 'fc2', dense(4, 4, { cols: [1] }));
    b.output(z);
    b.output(r);
    expect(analyzeSparsity(b.graph).removable).toEqual([]);
  });
});

describe('zero attention heads', () => {
  function attention(fused: boolean): Graph {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [1, 3, 8]);
    const batch = b.op('Unsqueeze', [b.op('Gather', [b.op('Shape', [x]), b.constant('zero', Tensor.int64([0], []))]), b.constant('axes', Tensor.int64([0]))]);
    const shape = b.op('Concat', [batch, b.constant('t', Tensor.int64([3])), b.constant('hd', Tensor.int64([-1, 4]))], { attrs: { axis: 0 } });
    let parts: Value[];
    if (fused) {
      // qkv rows 0-7 q, 8-15 k, 16-23 v; v head 0 (rows 16-19) and q head 1 (rows 4-7) are zero.
      const qkv = matmul(b, x, 'qkv', dense(24, 8, { rows: [4, 5, 6, 7, 16, 17, 18, 19] }));
      const biased = b.op('Add', [qkv, b.constant('bias', Tensor.zeros('float32', [24]))]);
      parts = b.node('Split', [biased], { attrs: { axis: -1, num_outputs: 3 }, outputs: 3 }).outputs;
    } else {
      parts = [matmul(b, x, 'q', dense(8, 8, { rows: [0, 1, 2, 3] }))];
    }
    const heads = parts.map((p) => b.op('Transpose', [b.op('Reshape', [p, shape])], { attrs: { perm: [0, 2, 1, 3] } }));
    const scores = b.op('Softmax', [b.op('MatMul', [heads[0]!, b.op('Transpose', [heads[0]!], { attrs: { perm: [0, 1, 3, 2] } })])]);
    b.output(b.op('MatMul', [scores, heads.at(-1)!]));
    return b.graph;
  }

  it('reads the head count from the Reshape after a projection', () => {
    const { heads, summary } = analyzeSparsity(attention(false));
    expect(heads.projections).toEqual([{ layer: 'q', node: expect.any(String), heads: 2, headDim: 4, zeroHeads: [0] }]);
    expect(summary.zeroHeads).toBe(1);
  });

  it('splits a fused qkv projection into parts', () => {
    const { heads } = analyzeSparsity(attention(true));
    expect(heads.projections.map((p) => [p.part, p.heads, p.headDim, p.zeroHeads])).toEqual([
      [0, 2, 4, [1]],
      [1, 2, 4, []],
      [2, 2, 4, [0]],
    ]);
    expect(heads.note).toBeUndefined();
  });

  it('says so when attention exists but no head split is recognized', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [3, 4]);
    const q = matmul(b, x, 'q', dense(4, 4));
    const s = b.op('Softmax', [b.op('MatMul', [q, b.op('Transpose', [q])])]);
    b.output(b.op('MatMul', [s, x]));
    const { heads } = analyzeSparsity(b.graph);
    expect(heads.projections).toEqual([]);
    expect(heads.note).toMatch(/not recognized/);
  });

  it('finds the heads of the gpt2, llama and bert fixtures', async () => {
    for (const [name, projections] of [['gpt2', 3 * 4], ['llama', 3 * 4], ['bert', 3 * 2]] as const) {
      const model = await loadModel(`${FIXTURES}${name}/model.onnx`);
      inferTypes(model.graph);
      const { heads, layers, summary } = analyzeSparsity(model.graph);
      expect(heads.projections, name).toHaveLength(projections);
      expect(heads.projections.every((p) => p.heads * p.headDim === 64 || (name === 'llama' && p.headDim === 16)), name).toBe(true);
      expect(summary.density, name).toBeCloseTo(1, 3);
      expect(layers.every((l) => l.deadRows.length === 0), name).toBe(true);
    }
  });
});

describe('with calibration data', () => {
  it('activation sparsity and expert routing (TopK over a Softmax)', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [4, 4]);
    const h = b.op('Relu', [x]);
    const eye = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];
    const probs = b.op('Softmax', [matmul(b, h, 'router', eye)], { attrs: { axis: -1 } });
    const topk = b.node('TopK', [probs, b.constant('k', Tensor.int64([1]))], { outputs: 2 });
    b.output(topk.outputs[0]!);
    b.output(topk.outputs[1]!);
    const batch = new Map([['x', Tensor.float32([1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, -1, 0, 0, 0], [4, 4])]]);
    const report = analyzeSparsity(b.graph, { calibration: [batch] });
    expect(report.calibrationBatches).toBe(1);
    const act = report.activations![0]!;
    expect([act.layer, act.elements, act.zeroFraction, act.nearZeroFraction, act.maxAbs]).toEqual(['router', 16, 13 / 16, 13 / 16, 3]);
    const [routing] = report.routing!;
    expect([routing!.experts, routing!.k, routing!.tokens]).toEqual([3, 1, 4]);
    expect(routing!.selectedFraction).toEqual([0.5, 0.25, 0.25]);
    const e = Math.E;
    const mass = [(e / (e + 2) + 1 / 3) / 4, (e * e) / (e * e + 2) / 4, e ** 3 / (e ** 3 + 2) / 4];
    routing!.gateMass!.forEach((m, i) => expect(m).toBeCloseTo(mass[i]!, 5));
    expect(report.summary.activationZeroFraction).toBeCloseTo(13 / 16);
  });

  it('near-zero counts values below 1e-3 of the largest magnitude', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [1, 4]);
    b.output(matmul(b, x, 'w', dense(2, 4)));
    const batch = new Map([['x', Tensor.float32([1000, 0.5, 0.0001, 0], [1, 4])]]);
    const act = analyzeSparsity(b.graph, { calibration: [batch] }).activations![0]!;
    expect([act.zeroFraction, act.nearZeroFraction]).toEqual([0.25, 0.75]);
  });
});

describe('the analyze-sparsity pass', () => {
  it('annotates each weight consumer and changes nothing', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 4]);
    const y = matmul(b, x, 'w', dense(3, 4, { rows: [1] }));
    b.output(y);
    const model = { graph: b.graph } as Parameters<typeof analyzeSparsityPass.run>[0];
    const result = analyzeSparsityPass.run(model, { options: analyzeSparsityPass.defaultOptions(), warn: () => {} });
    expect(result.changed).toBe(false);
    expect(result.stats).toMatchObject({ layers: 1, params: 12, nonzeros: 8, deadRows: 1 });
    const node = y.producer!;
    expect(node.annotations.get('sparsity')).toMatchObject({ name: 'w', deadRows: [1] });
  });
});
