// build --tune: the layouts the cost model rates within 2x of its best are timed as one-kernel
// modules and the fastest is built; the manifest records the choice and the times. The tuned
// artifact still matches the reference executor; without tuning nothing is timed and the
// bytes do not change.

import { describe, expect, test } from 'vitest';
import { buildArtifacts } from '../artifacts.js';
import { bestBlock, layoutsNearBest, weightStats } from '../layout.js';
import { lower } from '../lower.js';
import type { LinearKernel } from '../schedule.js';
import { timeLayouts } from '../tune.js';
import { mlpInput, mlpModel, type MlpSpec } from './mlp.js';
import { compareWithReference } from './run-built.js';

const d = 64;
const hidden = 256;
const quick = { rounds: 5 };

describe('layoutsNearBest', () => {
  test('keeps the layouts estimated within the factor of the best, best first', () => {
    const stats = { density: 0.5, is2of4: false, blockDensities: { '4x1': 0.8, '8x1': 0.9, '1x4': 0.9, '4x4': 1 } };
    // 64 tokens: csr 0.725, bsr 0.88 (4x1 blocks), dense 1.
    expect(layoutsNearBest(64, stats)).toEqual(['csr', 'bsr', 'dense']);
    expect(layoutsNearBest(64, stats, 1.3)).toEqual(['csr', 'bsr']);
    // One token: dense 1, bsr 1.16, csr 1.45; N:M only where a pattern fits.
    expect(layoutsNearBest(1, stats, 1.4)).toEqual(['dense', 'bsr']);
    expect(layoutsNearBest(64, { ...stats, nm: '2:4', is2of4: true })).toEqual(['nm', 'csr', 'bsr', 'dense']);
    expect(layoutsNearBest(64, { density: 0.05, is2of4: false, blockDensities: { '4x1': 0.2, '8x1': 0.3, '1x4': 0.2, '4x4': 0.4 } })).toEqual(['csr']);
  });
});

describe('timeLayouts', () => {
  test('times each layout of a real kernel, fastest first', async () => {
    const { schedule } = lower(mlpModel({ tokens: 16, d, hidden, pruning: '2:4' }));
    const k = schedule.kernels.find((x): x is LinearKernel => x.op === 'linear')!;
    const stats = weightStats(k.weight, k.K, k.N);
    const candidates = layoutsNearBest(k.M, stats);
    expect(candidates).toContain('nm');
    const times = await timeLayouts(k, candidates, 5, bestBlock(k.M, stats).block);
    expect(times.map((t) => t.layout).sort()).toEqual([...candidates].sort());
    for (const t of times) expect(t.ms).toBeGreaterThan(0);
    for (let i = 1; i < times.length; i++) expect(times[i]!.ms).toBeGreaterThanOrEqual(times[i - 1]!.ms);
  });
});

describe('buildArtifacts with tune', () => {
  for (const pruning of [0.7, '2:4'] as const) {
    test(`${pruning}: the fastest timed layout is built and recorded; the outputs match the reference`, async () => {
      const spec: MlpSpec = { tokens: 16, d, hidden, pruning };
      const tuned = await compareWithReference(() => mlpModel(spec), { x: mlpInput(spec) }, { tune: quick });
      expect(tuned.error).toBeLessThan(1e-4);
      const layers = tuned.build.manifest.layers;
      expect(layers).toHaveLength(2);
      for (const l of layers) {
        expect(l.tuned, l.node).toBeDefined();
        const timed = Object.keys(l.tuned!.ms);
        expect(timed.length).toBeGreaterThan(1);
        // Fastest first, and that is the layout built.
        expect(l.layout).toBe(timed[0]);
        expect(Object.values(l.tuned!.ms)).toEqual([...Object.values(l.tuned!.ms)].sort((a, b) => a - b));
        expect(l.reason).toContain(`timed ${l.layout} `);
        expect(l.reason).toContain(`(estimated ${l.tuned!.estimated})`);
      }
    });
  }

  test('a weight with one close candidate is not timed; without tune nothing is and the bytes are unchanged', async () => {
    const spec: MlpSpec = { tokens: 16, d, hidden, pruning: 0.9 };
    const tuned = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', tune: quick });
    expect(tuned.manifest.layers.map((l) => [l.layout, l.tuned])).toEqual([['csr', undefined], ['csr', undefined]]);
    const plain = () => buildArtifacts(mlpModel({ ...spec, pruning: 0.7 }), { compilerVersion: 'test' });
    const [a, b] = [await plain(), await plain()];
    expect(a.manifest.layers.some((l) => 'tuned' in l)).toBe(false);
    expect(a.files.map((f) => Buffer.from(f.bytes).toString('hex'))).toEqual(b.files.map((f) => Buffer.from(f.bytes).toString('hex')));
  });
});
