// End to end: the mobilenet fixture (Conv+BatchNormalization, depthwise and pointwise convs,
// ReLU6, HardSwish, squeeze-excite, residual Adds, Gemm head) built into a wasm artifact and
// run through the runtime matches the reference executor.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { execute } from '../../ir/executor/index.js';
import { readNpy } from '../../ir/npy.js';
import { load } from '../../runtime/index.js';
import { buildArtifacts } from '../artifacts.js';
import { maxRelError } from '../wasm/kernels/reference.js';

const DIR = new URL('../../fixtures/mobilenet/', import.meta.url).pathname;

describe('mobilenet fixture through the wasm backend', () => {
  test('builds for 1x3x64x64 and matches the reference executor to 1e-4', async () => {
    const model = await loadModel(`${DIR}model.onnx`);
    const input = readNpy(readFileSync(`${DIR}input_input.npy`));
    expect(input.shape).toEqual([1, 3, 64, 64]);
    const want = execute(model.graph, { input }).get('logits')!;
    const built = await buildArtifacts(await loadModel(`${DIR}model.onnx`), {
      compilerVersion: 'test', name: 'mobilenet', shapes: { input: [1, 3, 64, 64] }, externalWeightsBytes: Infinity,
    });
    const ops = new Set(built.lowered.schedule.kernels.map((k) => k.op));
    expect([...ops].sort()).toEqual(['activation', 'add', 'channel-scale', 'conv2d', 'global-avg-pool', 'linear', 'pad2d', 'pointwise']);
    const runtime = await load(built.files.find((f) => f.name === 'mobilenet.wasm')!.bytes);
    const got = runtime.run({ input: input.data as Float32Array }).logits!;
    expect(got.shape).toEqual([1, 10]);
    expect(maxRelError(got.data, want.data as Float32Array)).toBeLessThan(1e-4);
  });
});
