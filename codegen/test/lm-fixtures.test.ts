import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import type { Model } from '../../ir/graph.js';
import { readNpy } from '../../ir/npy.js';
import { pruneUnstructured } from '../wasm/kernels/reference.js';
import { compareWithReference } from './run-built.js';

const TOKENS = 16;

/** The fixture with every 2-D float32 weight magnitude-pruned to `sparsity` (0: dense). */
async function fixture(name: string, sparsity: number): Promise<Model> {
  const m = await loadModel(`fixtures/${name}/model.onnx`);
  if (sparsity === 0) return m;
  for (const v of m.graph.constants.values()) {
    const t = v.const;
    if (t?.dtype !== 'float32' || t.shape.length !== 2) continue;
    const w = t.data as Float32Array;
    w.set(pruneUnstructured(w, sparsity));
  }
  return m;
}

/** The first TOKENS ids of the fixture's input. */
function ids(name: string): BigInt64Array {
  const t = readNpy(readFileSync(`fixtures/${name}/input_input_ids.npy`));
  return (t.data as BigInt64Array).slice(0, TOKENS);
}

describe('language-model fixtures built at 1x16 match the reference executor', () => {
  for (const name of ['gpt2', 'llama', 'moe']) {
    test(`${name}: dense and 90% pruned (sparse layouts)`, async () => {
      for (const sparsity of [0, 0.9]) {
        const r = await compareWithReference(() => fixture(name, sparsity), { input_ids: ids(name) }, { shapes: { input_ids: [1, TOKENS] } });
        expect(r.error, `${name} sparsity ${sparsity}`).toBeLessThan(1e-4);
        const m = r.build.manifest;
        expect(m.inputs).toEqual([{ name: 'input_ids', dtype: 'int64', shape: [1, TOKENS] }]);
        expect(m.outputs[0]!.shape).toEqual([1, TOKENS, 256]);
        const layouts = new Set(m.layers.map((l) => l.layout));
        if (sparsity > 0) expect(layouts.has('csr')).toBe(true);
        else expect([...layouts]).toEqual(['dense']);
      }
    }, 60_000);
  }

  test('bert (three int64 inputs, a padding mask Cast to float32, pooler Gather and Tanh) at 2x12, dense and 90% pruned', async () => {
    const names = ['input_ids', 'attention_mask', 'token_type_ids'];
    const feeds = Object.fromEntries(names.map((n) => [n, readNpy(readFileSync(`fixtures/bert/input_${n}.npy`)).data as BigInt64Array]));
    expect([...feeds.attention_mask!]).toContain(0n);
    for (const sparsity of [0, 0.9]) {
      const r = await compareWithReference(() => fixture('bert', sparsity), feeds, { shapes: Object.fromEntries(names.map((n) => [n, [2, 12]])) });
      expect(r.error, `bert sparsity ${sparsity}`).toBeLessThan(1e-4);
      expect(r.build.manifest.outputs.map((o) => o.shape)).toEqual([[2, 12, 64], [2, 64]]);
    }
  }, 60_000);
});
