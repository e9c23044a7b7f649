// N:M channel permutation on the fixture models: an unpruned permuted model computes the same
// function (reference executor, 1e-5), and its ONNX export runs in onnxruntime-node with the
// same outputs. The search runs without escape moves here to keep the suite fast; the
// efficacy figures with the default search are measured by hand (see the permute report).

import { describe, expect, it } from 'vitest';
import { encodeModel, loadModel } from '../../frontend/index.js';
import { execute } from '../../ir/executor/index.js';
import { PassManager } from '../../passes/manager.js';
import { permuteForNM } from '../../passes/permute/index.js';
import { expectClose } from '../../passes/test/helpers.js';
import * as ort from 'onnxruntime-node';
import { compareAll, fixturePath, readSampleSet, runOrt } from '../differential/harness.js';

/**
 * Per fixture: groups that must be searched, readers of the largest permuted group, and why
 * some group must be skipped (none when undefined).
 */
const cases: Record<string, { permuted: number; largest: number; skippedAt?: RegExp }> = {
  // The residual stream (4 qkv, 4 fc1 and the tied head), 4 MLP hidden layers, and the 4
  // attention output projections, whose head channels pass the head reshape back to the fused
  // qkv projection.
  gpt2: { permuted: 9, largest: 9 },
  // The stream (q, k, v, gate, up per layer and the head), 4 SwiGLU hidden layers, and the 4
  // output projections (back through the grouped-query head repeat to the value projection).
  llama: { permuted: 9, largest: 21 },
  // The stream (through the routing weights' Slice), 2 output projections, 16 experts.
  moe: { permuted: 19, largest: 41 },
  // The stream ends in the last_hidden_state output; MLP hidden layers and output projections permute.
  bert: { permuted: 4, largest: 1, skippedAt: /graph output/ },
  // Every block's expansion/projection pair; the first conv reads the image, and the
  // classifier is the output head (dense unless asked), so its group is not searched.
  mobilenet: { permuted: 12, largest: 2, skippedAt: /graph input/ },
};

describe('permute-nm on fixture models', () => {
  for (const [name, expected] of Object.entries(cases)) {
    it(`${name}: same outputs after permuting, in the reference executor and onnxruntime`, async () => {
      const model = await loadModel(fixturePath(name, 'model.onnx'));
      new PassManager('default').run(model);
      const { inputs } = readSampleSet(fixturePath(name), name);
      const before = execute(model.graph, inputs);
      const report = permuteForNM(model, { n: 2, m: 4, escapeAttempts: 0, timeLimitMs: 10_000 });

      // A group may come out unchanged when its share of the time limit ends before any gain
      // (the 41 readers of moe's stream on a slow machine): count the groups the walk let through.
      const searched = report.groups.filter((g) => g.status === 'permuted' || g.status === 'unchanged');
      expect(searched.length).toBe(expected.permuted);
      expect(Math.max(...searched.map((g) => g.readers.length))).toBe(expected.largest);
      const permuted = report.groups.filter((g) => g.status === 'permuted');
      expect(report.meanEfficacy).toBeGreaterThan(0.1);
      for (const g of permuted) for (const l of g.layers) expect(l.lostPermuted, l.layer).toBeLessThanOrEqual(l.lostDefault * 1.05);
      const skipped = report.groups.filter((g) => g.status === 'skipped');
      if (expected.skippedAt) expect(skipped.some((g) => expected.skippedAt!.test(g.reason ?? '')), skipped.map((g) => g.reason).join('; ')).toBe(true);
      else expect(skipped.map((g) => g.reason)).toEqual([]);
      expect(report.warnings.length).toBe(skipped.length);

      const after = execute(model.graph, inputs);
      for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);

      const session = await ort.InferenceSession.create(encodeModel(model));
      try {
        const theirs = await runOrt(session, inputs);
        const check = compareAll(theirs, before, `${name} permuted ort-vs-ref`);
        expect(check.failures).toEqual([]);
      } finally {
        await session.release();
      }
    });
  }
});
