// The permutation figures the issue asks for, measured on demand (not part of `npm test`):
//   npm run bench:measure -- permute
// prints efficacy on random 64x128 matrices, and per fixture language model:
//   - efficacy per layer, (lost_default - lost_permuted) / (lost_default - lost_unstructured),
//     with the size of the channel group each layer shares its permutation with;
//   - the mean over the linear layers 2:4 pruning applies to by default (every weight but the
//     embeddings and the output head), a layer the search could not permute counting as 0;
//     and the mean over the permuted layers only (the figure the pass reports);
//   - for reference, the same mean if every layer had a permutation of its own (a ceiling no
//     graph reaches: layers reading one value must share one);
//   - the whole-model search time and the largest output change of the unpruned permuted model.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../frontend/index.js';
import { execute } from '../ir/executor/index.js';
import { findWeights, type WeightView } from '../passes/analysis/weights.js';
import { PassManager } from '../passes/manager.js';
import { permuteForNM } from '../passes/permute/index.js';
import { efficacyOf, magnitudeColumns } from '../passes/permute/score.js';
import { searchPermutation } from '../passes/permute/search.js';
import { seeded } from '../passes/test/helpers.js';
import { fixturePath, readSampleSet } from '../test/differential/harness.js';

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Mean efficacy if every layer got the best permutation of its own input channels. */
function ownPermutationCeiling(views: readonly WeightView[]): number {
  return mean(
    views.map((v) => {
      const m = magnitudeColumns(v.read(), v.rows, v.cols);
      return efficacyOf(m, searchPermutation(m, { n: 2, m: 4 }).permutation, 2, 4).efficacy;
    }),
  );
}

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
      const prunable = findWeights(model.graph).filter((v) => v.role === 'hidden');
      const ceiling = ownPermutationCeiling(prunable);
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

      const efficacy = new Map<string, { efficacy: number; readers: number; channels: number }>();
      for (const g of report.groups) for (const l of g.layers) efficacy.set(l.layer, { efficacy: l.efficacy, readers: g.readers.length, channels: g.channels });
      const perLayer = prunable.map((v) => ({ layer: v.node.name, shape: `${v.rows}x${v.cols}`, ...(efficacy.get(v.node.name) ?? { efficacy: 0, readers: 0, channels: 0 }) }));
      const count = (s: string) => report.groups.filter((g) => g.status === s).length;
      const lines = [
        `${name}: ${count('permuted')} groups permuted, ${count('unchanged')} unchanged, ${count('skipped')} skipped, ${count('not-selected')} not pruned`,
        ...perLayer.map((l) => `  ${l.layer.padEnd(12)} ${l.shape.padStart(8)}  ${pct(l.efficacy).padStart(6)}  ${l.readers ? `group of ${l.readers} reader(s), ${l.channels} channels${l.channels < 64 ? ' (blocks of head channels)' : ''}` : 'not permuted (counts as 0)'}`),
        `  mean over the ${prunable.length} linear layers 2:4 pruning applies to: ${pct(mean(perLayer.map((l) => l.efficacy)))}` +
          ` (over the ${report.layersPermuted} permuted layers: ${pct(report.meanEfficacy)})`,
        `  reference: every layer with a permutation of its own (not foldable): ${pct(ceiling)}`,
        `  whole model: ${ms.toFixed(0)} ms (search ${report.totalSearchMs.toFixed(0)} ms); largest output change ${worst.toExponential(2)}`,
      ];
      console.info(lines.join('\n'));
      expect(worst).toBeLessThan(1e-5);
      expect(ms).toBeLessThan(60_000);
    });
  }
});
