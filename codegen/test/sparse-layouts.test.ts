import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { readNpy } from '../../ir/npy.js';
import { parsePattern, pruneModel } from '../../passes/prune/index.js';
import { load } from '../../runtime/index.js';
import { buildArtifacts } from '../artifacts.js';
import { lower } from '../lower.js';
import { BLOCK_SHAPES } from '../wasm/kernels/bsr-format.js';
import { maxRelError, pruneBlocks, pruneNM, randomFloats } from '../wasm/kernels/reference.js';
import { mlpInput, mlpModel, referenceOutputs, type MlpSpec } from './mlp.js';
import { compareWithReference } from './run-built.js';

const d = 32;
const hidden = 64;

/** Build in memory, run through the runtime, return the error against the reference executor and the layouts. */
async function endToEnd(spec: MlpSpec, format: 'auto' | 'bsr'): Promise<{ error: number; layouts: string[]; blocks: (string | undefined)[] }> {
  const built = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', name: 'ffn', format });
  const wasm = built.files.find((f) => f.name.endsWith('.wasm'))!.bytes;
  const model = await load(wasm);
  const x = mlpInput(spec);
  const got = model.run({ x }).y!.data;
  const want = referenceOutputs(mlpModel(spec), { x }).get('y')!.data as Float32Array;
  const layers = built.manifest.layers;
  return { error: maxRelError(got, want), layouts: layers.map((l) => l.layout), blocks: layers.map((l) => l.block) };
}

describe('block-sparse (bsr: 4x1, 8x1, 1x4, 4x4) and N:M layouts in whole models', () => {
  test('auto picks bsr for 80% block-sparse weights, csr for 90% unstructured, and records the block density', () => {
    const { schedule } = lower(mlpModel({ tokens: 16, d, hidden, pruning: 'block4x1:0.8' }));
    expect(schedule.layers.map((l) => l.layout)).toEqual(['bsr', 'bsr']);
    expect(schedule.layers[0]!.reason).toMatch(/20\.\d% of 4x1 blocks/);
    expect(lower(mlpModel({ tokens: 16, d, hidden, pruning: 0.9 })).schedule.layers.map((l) => l.layout)).toEqual(['csr', 'csr']);
    expect(lower(mlpModel({ tokens: 1, d, hidden, pruning: 'block4x1:0.8' })).schedule.layers.map((l) => l.layout)).toEqual(['bsr', 'bsr']);
  });

  test('auto: 2:4 weights take the N:M kernel at many tokens and at one (the cost model)', async () => {
    for (const tokens of [16, 1]) expect(lower(mlpModel({ tokens, d, hidden, pruning: '2:4' })).schedule.layers.map((l) => l.layout)).toEqual(['nm', 'nm']);
    for (const tokens of [30, 1]) {
      const built = await buildArtifacts(mlpModel({ tokens, d, hidden, pruning: '2:4' }), { compilerVersion: 'test', name: 'ffn' });
      const model = await load(built.files.find((f) => f.name.endsWith('.wasm'))!.bytes);
      const x = mlpInput({ tokens, d, hidden });
      const want = referenceOutputs(mlpModel({ tokens, d, hidden, pruning: '2:4' }), { x }).get('y')!.data as Float32Array;
      expect(maxRelError(model.run({ x }).y!.data, want)).toBeLessThan(1e-4);
    }
  });

  test('4:8 weights take nm too (auto at many tokens, forced at one); a model mixing 2:4 and 4:8 layers of one shape gets both kernels', async () => {
    const choice = lower(mlpModel({ tokens: 16, d, hidden, pruning: '4:8' })).schedule.layers;
    expect(choice.map((l) => [l.layout, l.is2of4])).toEqual([['nm', false], ['nm', false]]);
    expect(choice[0]!.reason).toContain('4:8');
    for (const [tokens, format] of [[16, 'auto'], [1, 'nm'], [3, 'nm']] as const) {
      const spec = { tokens, d, hidden, pruning: '4:8' as const };
      const built = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', name: 'ffn', format });
      expect(built.manifest.layers.map((l) => l.layout)).toEqual(['nm', 'nm']);
      const model = await load(built.files.find((f) => f.name.endsWith('.wasm'))!.bytes);
      const x = mlpInput(spec);
      const want = referenceOutputs(mlpModel(spec), { x }).get('y')!.data as Float32Array;
      expect(maxRelError(model.run({ x }).y!.data, want), `tokens=${tokens}`).toBeLessThan(1e-4);
    }
    // d == hidden: both layers have one shape; the first 2:4, the second 4:8.
    const mixed = mlpModel({ tokens: 1, d, hidden: d, pruning: '2:4' });
    const w2 = [...mixed.graph.values()].find((v) => v.name === 'fc2.weight')!.const!;
    (w2.data as Float32Array).set(pruneNM(randomFloats(d * d, 77), d, d, 4, 8));
    const built = await buildArtifacts(mixed, { compilerVersion: 'test', name: 'ffn', format: 'nm' });
    const model = await load(built.files.find((f) => f.name.endsWith('.wasm'))!.bytes);
    const x = mlpInput({ tokens: 1, d, hidden: d });
    const want = referenceOutputs(mixed, { x }).get('y')!.data as Float32Array;
    expect(maxRelError(model.run({ x }).y!.data, want)).toBeLessThan(1e-4);
  });

  test('built FFNs match the reference executor at 1, 5 and 16 tokens, auto and forced bsr', async () => {
    for (const tokens of [1, 5, 16]) {
      for (const pruning of ['block4x1:0.8', 0.7] as const) {
        const r = await endToEnd({ tokens, d, hidden, pruning }, pruning === 0.7 ? 'bsr' : 'auto');
        expect(r.error, `${pruning} tokens=${tokens}`).toBeLessThan(1e-4);
        expect(r.layouts).toEqual(['bsr', 'bsr']);
      }
    }
  });

  test('each block shape: a model block-pruned in it gets bsr in that shape (manifest and kernels) and matches the reference', async () => {
    for (const block of BLOCK_SHAPES) {
      for (const tokens of [1, 7, 16]) {
        const spec = { tokens, d: 36, hidden: 52, pruning: `block${block}:0.8` as const, activation: 'Gelu' as const };
        const r = await endToEnd(spec, 'bsr');
        expect(r.error, `${block} tokens=${tokens}`).toBeLessThan(1e-4);
        expect(r.layouts).toEqual(['bsr', 'bsr']);
        expect(r.blocks, `${block} tokens=${tokens}`).toEqual([block, block]);
      }
    }
  });

  test('auto weighs each block shape the weight fits: the coarsest fitting shape wins, the reason names it', () => {
    for (const block of ['8x1', '4x4'] as const) {
      for (const tokens of [1, 16]) {
        const layers = lower(mlpModel({ tokens, d: 64, hidden: 128, pruning: `block${block}:0.8` })).schedule.layers;
        expect(layers.map((l) => [l.layout, l.block]), `${block} tokens=${tokens}`).toEqual([['bsr', block], ['bsr', block]]);
        expect(layers[0]!.reason).toMatch(new RegExp(`20\\.\\d% of ${block} blocks`));
      }
    }
    // 4x1-pruned weights fit 8x1 and 4x4 blocks only at a much higher block density.
    expect(lower(mlpModel({ tokens: 16, d: 64, hidden: 128, pruning: 'block4x1:0.8' })).schedule.layers.map((l) => l.block)).toEqual(['4x1', '4x1']);
  });

  test('gpt2 fixture pruned by the pruner (block:RxC:0.8, magnitude): each shape is taken as named and the build matches the reference', async () => {
    const ids = (readNpy(readFileSync('fixtures/gpt2/input_input_ids.npy')).data as BigInt64Array).slice(0, 8);
    for (const block of BLOCK_SHAPES) {
      const make = async () => {
        const m = await loadModel('fixtures/gpt2/model.onnx');
        pruneModel(m, { pattern: parsePattern(`block:${block}:0.8`), method: 'magnitude' });
        return m;
      };
      for (const tokens of [1, 8]) {
        const r = await compareWithReference(make, { input_ids: ids.slice(0, tokens) }, { shapes: { input_ids: [1, tokens] }, format: 'bsr' });
        expect(r.error, `${block} tokens=${tokens}`).toBeLessThan(1e-4);
        const pruned = r.build.manifest.layers.filter((l) => l.density < 0.5);
        expect(pruned.length, block).toBeGreaterThan(0);
        for (const l of pruned) expect([l.layout, l.block], `${block} ${l.node}`).toEqual(['bsr', block]);
      }
    }
  });

  test('the kernel table keeps two block shapes of one weight shape apart', async () => {
    // d == hidden: both layers have one shape; the first 4x1, the second 1x4 blocks.
    const model = mlpModel({ tokens: 5, d: 32, hidden: 32, pruning: 'block4x1:0.8' });
    const w2 = [...model.graph.values()].find((v) => v.name === 'fc2.weight')!.const!;
    (w2.data as Float32Array).set(pruneBlocks(randomFloats(32 * 32, 78), 32, 32, 1, 4, 0.8));
    const built = await buildArtifacts(model, { compilerVersion: 'test', name: 'ffn', format: 'bsr' });
    expect(built.manifest.layers.map((l) => l.block)).toEqual(['4x1', '1x4']);
    const run = await load(built.files.find((f) => f.name.endsWith('.wasm'))!.bytes);
    const x = mlpInput({ tokens: 5, d: 32, hidden: 32 });
    const want = referenceOutputs(model, { x }).get('y')!.data as Float32Array;
    expect(maxRelError(run.run({ x }).y!.data, want)).toBeLessThan(1e-4);
  });
});
