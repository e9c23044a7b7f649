import { describe, expect, test } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { lower } from '../lower.js';
import type { SoftmaxKernel } from '../tensor-kernels.js';

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
