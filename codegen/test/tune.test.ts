// build --tune: the layouts the cost model rates within 2x of its best are timed as one-kernel
// modules and the fastest is built; the manifest records the choice and the times. The tuned
// artifact still matches the reference executor; without tuning nothing is timed and the
// bytes do not change.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { readNpy } from '../../ir/npy.js';
import { buildArtifacts, type LayerManifest } from '../artifacts.js';
import { bestBlock, layoutsNearBest, relativeCost, weightStats, type WeightStats } from '../layout.js';
import { lower } from '../lower.js';
import type { LinearKernel, WeightLayout } from '../schedule.js';
import { timeLayouts } from '../tune.js';
import { pruneUnstructured } from '../wasm/kernels/reference.js';
import { mlpInput, mlpModel, type MlpSpec } from './mlp.js';
import { compareWithReference } from './run-built.js';

/** The built layout is the fastest when it beat the cost model's pick by the default 10% margin, else the pick. */
function expectTunedChoice(l: LayerManifest): void {
  const { ms, estimated } = l.tuned!;
  const fastest = Object.keys(ms)[0]!;
  const bar = ms[estimated]! * 0.9;
  // The manifest rounds times to 4 digits; within that of the bar either choice is right.
  if (Math.abs(ms[fastest]! - bar) <= 1e-3 * bar) expect([fastest, estimated]).toContain(l.layout);
  else expect(l.layout).toBe(ms[fastest]! < bar ? fastest : estimated);
}

const d = 64;
const hidden = 256;
const quick = { rounds: 5 };

describe('layoutsNearBest', () => {
  const blocks = (density: number) => ({ '4x1': density, '8x1': density, '1x4': density, '4x4': density });
  const cases: [string, number, WeightStats][] = [
    ['50% unstructured, 64 tokens', 64, { density: 0.5, is2of4: false, blockDensities: blocks(0.9) }],
    ['50% unstructured, 1 token', 1, { density: 0.5, is2of4: false, blockDensities: blocks(0.9) }],
    ['2:4, 64 tokens', 64, { density: 0.5, is2of4: true, nm: '2:4', blockDensities: blocks(0.94) }],
    ['95% unstructured, 64 tokens', 64, { density: 0.05, is2of4: false, blockDensities: blocks(0.2) }],
  ];
  for (const [what, M, stats] of cases) {
    test(`${what}: every layout within the factor of the best estimate, best (the cost model's pick) first`, () => {
      for (const factor of [1, 1.3, 2, 4]) {
        const near = layoutsNearBest(M, stats, factor);
        const all: WeightLayout[] = stats.nm ? ['dense', 'csr', 'bsr', 'nm'] : ['dense', 'csr', 'bsr'];
        const best = Math.min(...all.map((l) => relativeCost(l, M, stats)));
        expect(relativeCost(near[0]!, M, stats)).toBe(best);
        for (const l of all) expect(near.includes(l), `${l} at ${factor}`).toBe(relativeCost(l, M, stats) <= best * factor);
        const costs = near.map((l) => relativeCost(l, M, stats));
        expect(costs).toEqual([...costs].sort((a, b) => a - b));
      }
      expect(layoutsNearBest(M, stats, 100).includes('nm')).toBe(stats.nm !== undefined);
    });
  }
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
  for (const pruning of ['dense', '2:4'] as const) {
    test(`${pruning}: the timed choice is built and recorded; the outputs match the reference`, async () => {
      const spec: MlpSpec = { tokens: 16, d, hidden, pruning };
      const tuned = await compareWithReference(() => mlpModel(spec), { x: mlpInput(spec) }, { tune: quick });
      expect(tuned.error).toBeLessThan(1e-4);
      const layers = tuned.build.manifest.layers;
      expect(layers).toHaveLength(2);
      // Dense and 2:4 weights have several layouts estimated close (the cost model's constants may move).
      for (const l of layers) {
        expect(l.tuned, l.node).toBeDefined();
        expect(Object.keys(l.tuned!.ms).length).toBeGreaterThan(1);
        expectTunedChoice(l);
        expect(Object.values(l.tuned!.ms)).toEqual([...Object.values(l.tuned!.ms)].sort((a, b) => a - b));
        for (const layout of Object.keys(l.tuned!.ms)) expect(l.reason).toMatch(new RegExp(`(timed |, )${layout} [\\d.]+ ms`));
        expect(l.reason).toContain(`(estimated ${l.tuned!.estimated}`);
      }
    });
  }

  test('gpt2 fixture at 50% (attention, fused softmax and epilogues): lowered twice, the tuned build matches the reference', async () => {
    const make = async () => {
      const m = await loadModel('fixtures/gpt2/model.onnx');
      for (const v of m.graph.constants.values()) {
        const t = v.const;
        if (t?.dtype === 'float32' && t.shape.length === 2) (t.data as Float32Array).set(pruneUnstructured(t.data as Float32Array, 0.5));
      }
      return m;
    };
    const ids = (readNpy(readFileSync('fixtures/gpt2/input_input_ids.npy')).data as BigInt64Array).slice(0, 16);
    const r = await compareWithReference(make, { input_ids: ids }, { shapes: { input_ids: [1, 16] }, tune: { rounds: 3 } });
    expect(r.error).toBeLessThan(1e-4);
    const layers = r.build.manifest.layers;
    expect(layers.filter((l) => l.tuned).length).toBeGreaterThan(layers.length / 2);
    for (const l of layers) if (l.tuned) expectTunedChoice(l);
  });

  test('margin 0 builds the fastest layout; a margin near 1 keeps the cost model\'s pick', async () => {
    const spec: MlpSpec = { tokens: 16, d, hidden, pruning: '2:4' };
    for (const margin of [0, 0.99]) {
      const { manifest } = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', tune: { rounds: 3, margin } });
      for (const l of manifest.layers) expect(l.layout).toBe(margin === 0 ? Object.keys(l.tuned!.ms)[0] : l.tuned!.estimated);
    }
  });

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
