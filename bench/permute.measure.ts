// The permutation figures the issue asks for, measured on demand (not part of `npm test`):
//   npm run bench:measure -- permute
// prints efficacy on random 64x128 matrices, and per fixture language model the mean efficacy
// over permuted linear layers (and over the unshared ones), the whole-model search time, and
// the largest output change of the unpruned permuted model.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../frontend/index.js';
import { execute } from '../ir/executor/index.js';
import { PassManager } from '../passes/manager.js';
import { permuteForNM } from '../passes/permute/index.js';
import { efficacyOf, magnitudeColumns } from '../passes/permute/score.js';
import { searchPermutation } from '../passes/permute/search.js';
import { seeded } from '../passes/test/helpers.js';
import { fixturePath, readSampleSet } from '../test/differential/harness.js';

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

describe('permutation figures', () => {
  it('random 64x128 matrices', () => {
    for (const escapeAttempts of [0, 100]) {
      const runs = [1, 2, 3, 4, 5].map((seed) => {
        const m = magnitudeColumns(seeded([64, 128], seed * 7919).data as Float32Array, 64, 128);
        const r = searchPermutation(m, { n: 2, m: 4, seed, escapeAttempts });
        return { eff: efficacyOf(m, r.permutation, 2, 4).efficacy, ms: r.ms };
      });
      console.info(`random 64x128, 2:4, ${escapeAttempts} escapes: efficacy ${pct(mean(runs.map((r) => r.eff)))}, ${mean(runs.map((r) => r.ms)).toFixed(0)} ms per matrix`);
    }
  });

  for (const name of ['gpt2', 'llama', 'moe']) {
    it(`${name}: efficacy and search time with the default search`, async () => {
      const model = await loadModel(fixturePath(name, 'model.onnx'));
      new PassManager('default').run(model);
      const { inputs } = readSampleSet(fixturePath(name), name);
      const before = execute(model.graph, inputs);
      const start = performance.now();
      const report = permuteForNM(model, { n: 2, m: 4 });
      const ms = performance.now() - start;
      const after = execute(model.graph, inputs);
      let worst = 0;
      for (const [out, t] of before) {
        const a = after.get(out)!.toFloat32();
        const b = t.toFloat32();
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
      }
      const permuted = report.groups.filter((g) => g.status === 'permuted');
      const unshared = permuted.filter((g) => g.readers.length === 1).flatMap((g) => g.layers.map((l) => l.efficacy));
      const lines = [
        `${name}: ${report.layersPermuted} linear layers permuted in ${permuted.length} groups, ${report.groups.filter((g) => g.status === 'skipped').length} groups skipped`,
        `  mean efficacy over permuted layers ${pct(report.meanEfficacy)}; over layers with a group of their own ${pct(mean(unshared))} (${unshared.length})`,
        ...permuted.filter((g) => g.readers.length > 1).map((g) => `  shared group of ${g.readers.length} readers (${g.channels} channels): efficacy ${pct(g.efficacy!)} on their joint objective`),
        `  whole model: ${ms.toFixed(0)} ms (search ${report.totalSearchMs.toFixed(0)} ms); largest output change ${worst.toExponential(2)}`,
      ];
      console.info(lines.join('\n'));
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
