// End to end: the mobilenet fixture (Conv+BatchNormalization, depthwise and pointwise convs,
// ReLU6, HardSwish, squeeze-excite, residual Adds, Gemm head) built into a wasm artifact and
// run through the runtime matches the reference executor (and torch's logits, when dense).

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { execute } from '../../ir/executor/index.js';
import { readNpy } from '../../ir/npy.js';
import { load } from '../../runtime/index.js';
import { run } from '../../cli/main.js';
import { buildArtifacts } from '../artifacts.js';
import { Tensor } from '../../ir/tensor.js';
import type { Model } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { maxRelError, pruneUnstructured } from '../wasm/kernels/reference.js';

const DIR = new URL('../../fixtures/mobilenet/', import.meta.url).pathname;

/** Magnitude-prune every 1x1 convolution's weight to `sparsity` (in place). */
function prunePointwise(model: Model, sparsity: number): void {
  for (const node of model.graph.nodes) {
    const w = node.inputs[1];
    if (node.op !== Op.Conv || !w?.const || w.const.shape[2] !== 1 || w.const.shape[3] !== 1 || node.attrInt('group', 1) !== 1) continue;
    w.const = new Tensor('float32', w.const.shape, pruneUnstructured(w.const.data as Float32Array, sparsity));
  }
}

/** Build the fixture (optionally pruned), run the artifact and return its error against the reference executor. */
async function buildAndCompare(sparsity?: number): Promise<{ error: number; torchError: number; ops: string[]; layouts: string[]; bytes: number[] }> {
  const model = await loadModel(`${DIR}model.onnx`);
  if (sparsity) prunePointwise(model, sparsity);
  const input = readNpy(readFileSync(`${DIR}input_input.npy`));
  expect(input.shape).toEqual([1, 3, 64, 64]);
  const want = execute(model.graph, { input }).get('logits')!;
  const built = await buildArtifacts(model, {
    compilerVersion: 'test', name: 'mobilenet', shapes: { input: [1, 3, 64, 64] }, externalWeightsBytes: Infinity,
  });
  const runtime = await load(built.files.find((f) => f.name === 'mobilenet.wasm')!.bytes);
  const got = runtime.run({ input: input.data as Float32Array }).logits!;
  expect(got.shape).toEqual([1, 10]);
  return {
    error: maxRelError(got.data, want.data as Float32Array),
    torchError: maxRelError(got.data, readNpy(readFileSync(`${DIR}output_logits.npy`)).data as Float32Array),
    ops: [...new Set(built.lowered.schedule.kernels.map((k) => k.op))].sort(),
    layouts: built.lowered.schedule.layers.map((l) => l.layout),
    bytes: built.manifest.layers.map((l) => l.bytes),
  };
}

describe('mobilenet fixture through the wasm backend', () => {
  test('builds for 1x3x64x64 and matches the reference executor to 1e-4', async () => {
    const r = await buildAndCompare();
    // Every conv's packed weight is accounted for.
    expect(r.bytes.every((b) => b > 0)).toBe(true);
    // Every Conv (26) and the classifier are listed as layers.
    expect(r.layouts).toHaveLength(27);
    expect(r.ops).toEqual(['activation', 'add', 'channel-scale', 'conv2d', 'global-avg-pool', 'linear', 'pad2d', 'pointwise']);
    expect(r.error).toBeLessThan(1e-4);
    // The fixture's logits as torch computed them, too.
    expect(r.torchError).toBeLessThan(1e-4);
  });

  test('`sparsec build --shape input=1x3x64x64` writes an artifact whose logits match torch', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sparsec-mobilenet-'));
    let stdout = '';
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => undefined }, isTTY: false, env: {} };
    const code = await run(['build', `${DIR}model.onnx`, '-o', out, '--shape', 'input=1x3x64x64'], io);
    expect(code).toBe(0);
    expect(stdout).toContain('inputs input [1,3,64,64]; outputs logits [1,10]');
    expect(readdirSync(out).sort()).toEqual(['model.d.ts', 'model.js', 'model.json', 'model.wasm']);
    const runtime = await load(join(out, 'model.wasm'));
    const input = readNpy(readFileSync(`${DIR}input_input.npy`)).data as Float32Array;
    const torch = readNpy(readFileSync(`${DIR}output_logits.npy`)).data as Float32Array;
    expect(maxRelError(runtime.run({ input }).logits!.data, torch)).toBeLessThan(1e-4);
  });

  test('with 90% sparse 1x1 convolutions: the csr kernels run on the pixel-contiguous activations', async () => {
    const r = await buildAndCompare(0.9);
    expect(r.layouts.filter((l) => l === 'csr').length).toBeGreaterThanOrEqual(14);
    expect(r.error).toBeLessThan(1e-4);
  });
});
