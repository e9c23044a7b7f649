import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { readNpy } from '../../ir/npy.js';
import { compareWithReference } from './run-built.js';
import { loadModel } from '../../frontend/index.js';
import { lower } from '../lower.js';
import type { BatchMatMulKernel, SoftmaxKernel } from '../tensor-kernels.js';

describe('fuseSoftmax', () => {
  test('gpt2: scale and causal mask fold into each softmax (prefix lengths 1..T per head)', async () => {
    const { schedule } = lower(await loadModel('fixtures/gpt2/model.onnx'), { shapes: { input_ids: [1, 8] } });
    const softmaxes = schedule.kernels.filter((k): k is SoftmaxKernel => k.op === 'softmax');
    expect(softmaxes).toHaveLength(4);
    expect(schedule.kernels.some((k) => k.op === 'where')).toBe(false);
    for (const k of softmaxes) {
      expect(k.scale).toBe(0.25);
      expect(k.prefix).toBe(true);
      const lengths = Array.from(schedule.buffers[k.ins[1]!]!.data!);
      expect(lengths).toEqual(Array.from({ length: 4 * 8 }, (_, r) => (r % 8) + 1));
    }
    // Q K^T computes only the unmasked triangle, softmax @ V skips the zero tail.
    const products = schedule.kernels.filter((k): k is BatchMatMulKernel => k.op === 'batch-matmul');
    expect(products.map((k) => k.causal)).toEqual(['scores', 'probs', 'scores', 'probs', 'scores', 'probs', 'scores', 'probs']);
  });

  test('gpt2 with the causal products at odd and tile-crossing lengths (7, 21, 40 tokens) matches the reference executor', async () => {
    const tokens = readNpy(readFileSync('fixtures/gpt2/input_input_ids.npy')).data as BigInt64Array;
    for (const n of [7, 21, 40]) {
      const ids = BigInt64Array.from({ length: n }, (_, i) => tokens[i % tokens.length]!);
      const r = await compareWithReference(() => loadModel('fixtures/gpt2/model.onnx'), { input_ids: ids }, { shapes: { input_ids: [1, n] } });
      expect(r.error, `${n} tokens`).toBeLessThan(1e-4);
    }
  });

  test('llama: every fused mask gives each row a kept length between 1 and the row width', async () => {
    const { schedule } = lower(await loadModel('fixtures/llama/model.onnx'), { shapes: { input_ids: [1, 8] } });
    const softmaxes = schedule.kernels.filter((k): k is SoftmaxKernel => k.op === 'softmax');
    expect(softmaxes.length).toBeGreaterThan(0);
    // Every fused mask still names a per-row length between 1 and the row width.
    for (const k of softmaxes.filter((s) => s.prefix)) {
      for (const len of schedule.buffers[k.ins[1]!]!.data!) expect(len >= 1 && len <= k.cols).toBe(true);
    }
  });
});
