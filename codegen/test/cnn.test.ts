// Each CNN lowering rule, built into an artifact and run through the runtime, against the
// reference executor on small graphs (odd sizes, so vector and scalar tails both run).

import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { execute } from '../../ir/executor/index.js';
import type { Value } from '../../ir/graph.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { load } from '../../runtime/index.js';
import { buildArtifacts } from '../artifacts.js';
import { lower } from '../lower.js';
import type { FormatOption } from '../schedule.js';
import { maxRelError, pruneUnstructured, randomFloats } from '../wasm/kernels/reference.js';

type Body = (b: GraphBuilder, x: Value) => Value;

const constant = (b: GraphBuilder, name: string, shape: number[], seed: number, scale = 0.5) =>
  b.constant(name, Tensor.float32(randomFloats(shape.reduce((p, d) => p * d, 1), seed).map((v) => v * scale), shape));

/** Build x [shape] -> body -> y, run it through the wasm artifact and the reference executor. */
async function check(shape: number[], body: Body, opts: { format?: FormatOption; kernels?: string[] } = {}): Promise<number> {
  const b = new GraphBuilder('cnn');
  const x = b.input('x', 'float32', shape);
  b.output(b.op('Identity', [body(b, x)], { outputs: ['y'] }));
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  const data = randomFloats(shape.reduce((p, d) => p * d, 1), 7).map((v) => v * 3);
  const want = execute(model.graph, { x: new Tensor('float32', shape, data) }).get('y')!;
  const built = await buildArtifacts(model, { compilerVersion: 'test', name: 'cnn', externalWeightsBytes: Infinity, ...(opts.format ? { format: opts.format } : {}) });
  if (opts.kernels) expect(built.lowered.schedule.kernels.map((k) => k.op)).toEqual(opts.kernels);
  const runtime = await load(built.files.find((f) => f.name === 'cnn.wasm')!.bytes);
  const got = runtime.run({ x: data }).y!;
  expect(got.shape).toEqual(want.shape);
  return maxRelError(got.data, want.data as Float32Array);
}

interface ConvCase { name: string; x: number[]; w: number[]; attrs: Record<string, number[] | number>; bias?: boolean; kernels: string[] }

const convCases: ConvCase[] = [
  { name: 'regular 3x3 stride 2, pads 1', x: [1, 3, 13, 11], w: [5, 3, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true, kernels: ['pad2d', 'conv2d'] },
  { name: 'depthwise 3x3 stride 1, pads 1 (padded inside the kernel)', x: [1, 6, 9, 10], w: [6, 1, 3, 3], attrs: { pads: [1, 1, 1, 1], group: 6 }, kernels: ['conv2d'] },
  { name: 'depthwise 3x3 stride 2, pads 1', x: [1, 6, 9, 10], w: [6, 1, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], group: 6 }, bias: true, kernels: ['conv2d'] },
  { name: 'depthwise 5x3 stride 2, asymmetric pads', x: [1, 5, 11, 13], w: [5, 1, 5, 3], attrs: { pads: [2, 0, 1, 3], strides: [2, 2], group: 5 }, bias: true, kernels: ['conv2d'] },
  { name: 'grouped 5x3, dilation 2, asymmetric pads', x: [1, 4, 12, 13], w: [6, 2, 5, 3], attrs: { pads: [2, 0, 1, 3], dilations: [2, 2], group: 2 }, bias: true, kernels: ['pad2d', 'conv2d'] },
  { name: 'unpadded 2x2 stride 1', x: [1, 2, 6, 9], w: [3, 2, 2, 2], attrs: {}, kernels: ['conv2d'] },
  { name: 'pointwise 1x1 over 7x9 pixels', x: [1, 8, 7, 9], w: [12, 8, 1, 1], attrs: {}, bias: true, kernels: ['pointwise'] },
  { name: 'pointwise 1x1, 6 channels (a partial block), 4x5 pixels, no bias', x: [1, 5, 4, 5], w: [6, 5, 1, 1], attrs: {}, kernels: ['pointwise'] },
  { name: 'pointwise 1x1 on one pixel', x: [1, 16, 1, 1], w: [12, 16, 1, 1], attrs: {}, bias: true, kernels: ['linear'] },
];

describe('CNN ops through the wasm backend match the reference executor', () => {
  for (const c of convCases) {
    test(`Conv: ${c.name}`, async () => {
      const err = await check(c.x, (b, x) => {
        const ins = [x, constant(b, 'w', c.w, 2), ...(c.bias ? [constant(b, 'b', [c.w[0]!], 3)] : [])];
        return b.op('Conv', ins, { attrs: { kernel_shape: c.w.slice(2), ...c.attrs } });
      }, { kernels: c.kernels });
      expect(err).toBeLessThan(1e-5);
    });
  }

  test('Conv 1x1 with a 90% sparse weight, csr and auto', async () => {
    for (const format of ['csr', 'auto'] as const) {
      const err = await check([1, 32, 6, 6], (b, x) => {
        const w = Tensor.float32(pruneUnstructured(randomFloats(48 * 32, 4), 0.9), [48, 32, 1, 1]);
        return b.op('Conv', [x, b.constant('w', w)], { attrs: { kernel_shape: [1, 1] } });
      }, { format });
      expect(err, format).toBeLessThan(1e-5);
    }
  });

  test('Conv + BatchNormalization (folded) + Clip (ReLU6, fused into the conv)', async () => {
    const err = await check([1, 4, 8, 8], (b, x) => {
      const conv = b.op('Conv', [x, constant(b, 'w', [8, 4, 3, 3], 2)], { attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
      const positive = b.constant('var', Tensor.float32(randomFloats(8, 5).map((v) => Math.abs(v) + 0.2), [8]));
      const bn = b.op('BatchNormalization', [conv, constant(b, 's', [8], 3), constant(b, 't', [8], 4), constant(b, 'm', [8], 6), positive]);
      return b.op('Clip', [bn, b.constant('lo', Tensor.float32([0], [])), b.constant('hi', Tensor.float32([6], []))]);
    }, { kernels: ['pad2d', 'conv2d'] });
    expect(err).toBeLessThan(1e-5);
  });

  test('Clip fused into a dense 1x1 conv; a Clip whose conv has another reader stays separate', async () => {
    const clip = (b: GraphBuilder, v: Value) => b.op('Clip', [v, b.constant(`lo${v.name}`, Tensor.float32([-0.5], [])), b.constant(`hi${v.name}`, Tensor.float32([0.7], []))]);
    const fused = await check([1, 6, 5, 6], (b, x) => clip(b, b.op('Conv', [x, constant(b, 'w', [9, 6, 1, 1], 2)], { attrs: { kernel_shape: [1, 1] } })), { kernels: ['pointwise'] });
    expect(fused).toBeLessThan(1e-5);
    const shared = await check([1, 6, 5, 6], (b, x) => {
      const conv = b.op('Conv', [x, constant(b, 'w', [6, 6, 1, 1], 2)], { attrs: { kernel_shape: [1, 1] } });
      return b.op('Add', [clip(b, conv), conv]);
    }, { kernels: ['pointwise', 'activation', 'add'] });
    expect(shared).toBeLessThan(1e-5);
  });

  test('HardSigmoid(conv) * conv runs as the conv kernel\'s epilogue (direct and 1x1)', async () => {
    const hardSwish = (b: GraphBuilder, v: Value) => b.op('Mul', [b.op('HardSigmoid', [v], { attrs: { alpha: 1 / 6 } }), v]);
    const direct = await check([1, 3, 7, 9], (b, x) => hardSwish(b, b.op('Conv', [x, constant(b, 'w', [4, 3, 3, 3], 2, 2)], { attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } })), { kernels: ['pad2d', 'conv2d'] });
    expect(direct).toBeLessThan(1e-5);
    const pointwise = await check([1, 6, 5, 6], (b, x) => hardSwish(b, b.op('Conv', [x, constant(b, 'w', [9, 6, 1, 1], 2, 2)], { attrs: { kernel_shape: [1, 1] } })), { kernels: ['pointwise'] });
    expect(pointwise).toBeLessThan(1e-5);
  });

  test('HardSigmoid alone, HardSigmoid(x) * x (fused to HardSwish), HardSwish', async () => {
    const hs = await check([1, 3, 5, 7], (b, x) => b.op('HardSigmoid', [x], { attrs: { alpha: 0.3, beta: 0.4 } }), { kernels: ['activation'] });
    expect(hs).toBeLessThan(1e-6);
    const fused = await check([1, 3, 5, 7], (b, x) => b.op('Mul', [x, b.op('HardSigmoid', [x], { attrs: { alpha: 1 / 6 } })]), { kernels: ['activation'] });
    expect(fused).toBeLessThan(1e-6);
    const swish = await check([1, 3, 5, 7], (b, x) => b.op('HardSwish', [x]), { kernels: ['activation'] });
    expect(swish).toBeLessThan(1e-6);
  });

  test('squeeze-excite: GlobalAveragePool, 1x1 convs, Mul by the per-channel scale', async () => {
    const err = await check([1, 8, 5, 7], (b, x) => {
      const pooled = b.op('GlobalAveragePool', [x]);
      const reduce = b.op('Relu', [b.op('Conv', [pooled, constant(b, 'w1', [4, 8, 1, 1], 2), constant(b, 'b1', [4], 3)], { attrs: { kernel_shape: [1, 1] } })]);
      const expand = b.op('HardSigmoid', [b.op('Conv', [reduce, constant(b, 'w2', [8, 4, 1, 1], 4), constant(b, 'b2', [8], 5)], { attrs: { kernel_shape: [1, 1] } })]);
      return b.op('Mul', [x, expand]);
    }, { kernels: ['global-avg-pool', 'linear', 'linear', 'activation', 'channel-scale'] });
    expect(err).toBeLessThan(1e-5);
  });

  test('a Clip or HardSwish after a sparse 1x1 conv joins the depthwise conv\'s padding or the average pool that reads it', async () => {
    const sparse1x1 = (b: GraphBuilder, v: Value, name: string, seed: number) => b.op('Conv', [v, b.constant(name, Tensor.float32(pruneUnstructured(randomFloats(12 * 8, seed), 0.9), [12, 8, 1, 1]))], { attrs: { kernel_shape: [1, 1] } });
    const clip = (b: GraphBuilder, v: Value) => b.op('Clip', [v, b.constant(`lo${v.name}`, Tensor.float32([0], [])), b.constant(`hi${v.name}`, Tensor.float32([0.3], []))]);
    const hardSwish = (b: GraphBuilder, v: Value) => b.op('Mul', [v, b.op('HardSigmoid', [v], { attrs: { alpha: 1 / 6 } })]);
    const depthwise = (b: GraphBuilder, v: Value) => b.op('Conv', [v, constant(b, 'dw', [12, 1, 3, 3], 5)], { attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2], group: 12 } });
    for (const act of [clip, hardSwish]) {
      const padded = await check([1, 8, 7, 9], (b, x) => depthwise(b, act(b, sparse1x1(b, x, 'w', 4))), { format: 'csr', kernels: ['linear', 'conv2d'] });
      expect(padded).toBeLessThan(1e-5);
      const pooled = await check([1, 8, 7, 9], (b, x) => b.op('GlobalAveragePool', [act(b, sparse1x1(b, x, 'w', 4))]), { format: 'csr', kernels: ['linear', 'global-avg-pool'] });
      expect(pooled).toBeLessThan(1e-5);
    }
    // A second reader of the activation keeps its kernel.
    const shared = await check([1, 8, 7, 9], (b, x) => {
      const a = clip(b, sparse1x1(b, x, 'w', 4));
      return b.op('Add', [depthwise(b, a), depthwise(b, a)]);
    }, { format: 'csr', kernels: ['linear', 'activation', 'conv2d', 'conv2d', 'add'] });
    expect(shared).toBeLessThan(1e-5);
  });

  test('a Conv of two computed tensors, or of a batch of images, is UNSUPPORTED_OP with the reason', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [1, 2, 5, 5]);
    const w = b.op('Relu', [b.input('w', 'float32', [3, 2, 1, 1])]);
    b.output(b.op('Conv', [x, w], { name: 'computed', attrs: { kernel_shape: [1, 1] } }));
    b.output(b.op('Conv', [b.input('batch', 'float32', [2, 2, 5, 5]), constant(b, 'k', [3, 2, 1, 1], 1)], { name: 'batched', attrs: { kernel_shape: [1, 1] } }));
    const model = new Model(b.graph);
    model.opsets.set('', 21);
    expect(() => lower(model)).toThrow(/1 Conv \(weight or bias not a float32 constant\): 'computed'; 1 Conv \(only 2-D convolutions of one image \(N = 1\) are lowered\): 'batched'/);
  });
});
