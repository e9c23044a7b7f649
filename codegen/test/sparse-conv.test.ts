// ONNX models with pruned 3x3 convolutions: built with `sparsec build`'s pipeline, their
// weights take the sparse direct kernel (recorded as layout csr in the schedule's layers and
// the manifest), and the built module matches the reference executor. The cost model keeps
// lightly pruned weights dense; --format dense and csr force either kernel.

import { describe, expect, test } from 'vitest';
import { decodeModel, encodeModel } from '../../frontend/index.js';
import { GraphBuilder } from '../../ir/builder.js';
import { execute } from '../../ir/executor/index.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { load } from '../../runtime/index.js';
import { buildArtifacts, type BuildResult } from '../artifacts.js';
import { chooseConvLayout } from '../conv-layout.js';
import { weightStats } from '../layout.js';
import type { FormatOption } from '../schedule.js';
import { maxRelError, pruneUnstructured, randomFloats } from '../wasm/kernels/reference.js';

const X_SHAPE = [1, 8, 15, 17];

/**
 * x -> Conv 3x3 (8 -> 16, pad 1, weight kept at density `d1`) -> Clip [0, 6] -> Conv 3x3
 * (16 -> 12, stride 2, pad 1, bias, density `d2`) -> y, as an ONNX file's bytes.
 */
function onnxModel(d1: number, d2: number): Uint8Array {
  const b = new GraphBuilder('pruned-cnn');
  const x = b.input('x', 'float32', X_SHAPE);
  const weight = (name: string, shape: number[], density: number, seed: number) =>
    b.constant(name, Tensor.float32(pruneUnstructured(randomFloats(shape.reduce((p, v) => p * v, 1), seed), 1 - density), shape));
  const conv1 = b.op('Conv', [x, weight('w1', [16, 8, 3, 3], d1, 1)], { name: 'conv1', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
  const relu6 = b.op('Clip', [conv1, b.constant('lo', Tensor.float32([0], [])), b.constant('hi', Tensor.float32([6], []))]);
  const bias = b.constant('b2', Tensor.float32(randomFloats(12, 3), [12]));
  const conv2 = b.op('Conv', [relu6, weight('w2', [12, 16, 3, 3], d2, 2), bias], { name: 'conv2', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } });
  b.output(b.op('Identity', [conv2], { outputs: ['y'] }));
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  return encodeModel(model);
}

/** Build the model, run it, and return the build with its error against the reference executor. */
async function buildAndRun(bytes: Uint8Array, format: FormatOption): Promise<{ built: BuildResult; err: number }> {
  const data = randomFloats(X_SHAPE.reduce((p, v) => p * v, 1), 9).map((v) => v * 2);
  const want = execute(decodeModel(bytes).graph, { x: new Tensor('float32', X_SHAPE, data) }).get('y')!;
  const built = await buildArtifacts(decodeModel(bytes), { compilerVersion: 'test', name: 'cnn', externalWeightsBytes: Infinity, format });
  const runtime = await load(built.files.find((f) => f.name === 'cnn.wasm')!.bytes);
  const got = runtime.run({ x: data }).y!;
  expect(got.shape).toEqual([1, 12, 8, 9]);
  return { built, err: maxRelError(got.data, want.data as Float32Array) };
}

const kernelOps = (built: BuildResult) => built.lowered.schedule.kernels.map((k) => k.op);
const layouts = (built: BuildResult) => built.manifest.layers.map((l) => [l.node, l.layout]);

describe('pruned 3x3 convolutions take the sparse direct kernel', () => {
  test('70% and 60% sparse: sparse kernels (ReLU6 fused), csr in the layers and the manifest, matches the executor', async () => {
    const { built, err } = await buildAndRun(onnxModel(0.3, 0.4), 'auto');
    expect(err).toBeLessThan(1e-5);
    expect(kernelOps(built)).toEqual(['pad2d', 'sparse-conv2d', 'pad2d', 'sparse-conv2d']);
    expect(layouts(built)).toEqual([['conv1', 'csr'], ['conv2', 'csr']]);
    const [l1, l2] = built.manifest.layers;
    expect(l1!.density).toBeCloseTo(0.3, 2);
    expect(l2!.reason).toMatch(/^3x3 conv: 40\.0% dense: sparse direct kernel/);
    // 5 bytes per nonzero (16 input channels: no padding records), beside the tap offsets,
    // bias and list lengths (rounded up to 4 bytes).
    const fixed = 16 + 9 * 4 + 12 * 4 + 12 * 9 * 2;
    expect(l2!.bytes).toBe(fixed + Math.ceil((5 * Math.round(l2!.density * 12 * 16 * 9)) / 4) * 4);
  });

  test('a lightly pruned (90% dense) weight stays dense under auto; --format dense and csr force either kernel', async () => {
    const mixed = onnxModel(0.9, 0.2);
    const auto = await buildAndRun(mixed, 'auto');
    expect(auto.err).toBeLessThan(1e-5);
    expect(layouts(auto.built)).toEqual([['conv1', 'dense'], ['conv2', 'csr']]);
    expect(kernelOps(auto.built)).toEqual(['pad2d', 'conv2d', 'pad2d', 'sparse-conv2d']);
    const dense = await buildAndRun(mixed, 'dense');
    expect(dense.err).toBeLessThan(1e-5);
    expect(kernelOps(dense.built)).toEqual(['pad2d', 'conv2d', 'pad2d', 'conv2d']);
    const csr = await buildAndRun(mixed, 'csr');
    expect(csr.err).toBeLessThan(1e-5);
    expect(layouts(csr.built)).toEqual([['conv1', 'csr'], ['conv2', 'csr']]);
  });

  test('the cost model: sparse when faster and no bigger than dense (density <= 1/1.3), forced by --format', () => {
    const layer = { node: 'c', weight: 'w', M: 64, K: 36, N: 10, kh: 3, kw: 3 };
    const stats = (density: number) => weightStats(pruneUnstructured(randomFloats(360, 5), 1 - density), 36, 10);
    const layout = (density: number, stride: number, format: FormatOption = 'auto') => chooseConvLayout({ ...layer, stride }, stats(density), format).layout;
    expect([layout(0.5, 1), layout(0.7, 2), layout(0.8, 1), layout(1, 1)]).toEqual(['csr', 'csr', 'dense', 'dense']);
    expect([layout(0.1, 1, 'dense'), layout(1, 2, 'csr'), layout(0.1, 1, 'bsr')]).toEqual(['dense', 'csr', 'csr']);
    const sparse = chooseConvLayout({ ...layer, stride: 1 }, stats(0.2), 'auto');
    expect(sparse.relativeCost).toBeLessThan(0.2);
    expect(sparse.relativeCost).toBeGreaterThan(0);
  });
});
