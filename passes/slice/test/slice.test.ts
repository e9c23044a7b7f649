// SliceGPT on the fixture language models: the unsliced rotation leaves the outputs unchanged,
// slicing gives the expected widths, and the sliced model runs in onnxruntime.

import { describe, expect, it } from 'vitest';
import { execute } from '../../../ir/executor/index.js';
import type { Model } from '../../../ir/graph.js';
import type { Tensor } from '../../../ir/tensor.js';
import { PassManager } from '../../manager.js';
import { fixtureModel, runInOrt, tokenBatch, tokenWindows } from '../../prune/test/lm-fixtures.js';
import { expectClose } from '../../test/helpers.js';
import { sliceModel, type BasisScope } from '../index.js';
import { recognizeStructure } from '../../structure/recognize.js';

function canonical(name: string): Model {
  const m = fixtureModel(name);
  new PassManager('default').run(m);
  return m;
}

function calib(name: string, windows = 8): Map<string, Tensor>[] {
  const w = tokenWindows(name, 'calib_tokens');
  return [0, 1].map((b) => tokenBatch(w, (b * windows) / 2, windows / 2, 64));
}

const sample = (name: string) => tokenBatch(tokenWindows(name, 'eval_tokens'), 0, 2, 64);

describe('sliceModel', () => {
  for (const name of ['gpt2', 'llama', 'moe']) {
    for (const scope of ['sublayer', 'model'] as BasisScope[]) {
      it(`${name}: ratio 0 with a ${scope} rotation keeps the outputs`, () => {
        const model = canonical(name);
        const inputs = sample(name);
        const before = execute(model.graph, inputs).get('logits')!;
        const report = sliceModel(model, recognizeStructure(model.graph), { ratio: 0, calib: calib(name), scope });
        expect(report.kept).toBe(64);
        expect(report.shortcuts).toBe(scope === 'sublayer' ? report.sublayers.length : 0);
        expect(report.sublayers.length).toBe(name === 'moe' ? 4 : 8);
        const after = execute(model.graph, inputs).get('logits')!;
        expectClose(after, before, 1e-4);
      });
    }
  }

  it('gpt2 at 25%: the stream is 48 wide and onnxruntime runs the exported model', async () => {
    const model = canonical('gpt2');
    const report = sliceModel(model, recognizeStructure(model.graph), { ratio: 0.25, calib: calib('gpt2'), scope: 'sublayer' });
    expect(report.kept).toBe(48);
    expect(report.headTie).toBe('kept');
    expect(report.shortcutParameters).toBe(8 * 48 * 48);
    // GPT-2 merges its heads with Reshape(x, [B, T, Shape(ln_out)[2]]): those Shapes keep reporting 64.
    expect(report.pinnedShapes).toBeGreaterThan(0);
    const norms = model.graph.nodes.filter((n) => n.op === 'RMSNorm');
    expect(norms).toHaveLength(9);
    for (const n of norms) expect(n.outputs[0]!.shape).toEqual(['batch', 'sequence', 48]);
    const inputs = sample('gpt2');
    const ours = execute(model.graph, inputs).get('logits')!;
    expect(ours.shape).toEqual([2, 64, 256]);
    const ort = await runInOrt(model, inputs.get('input_ids')!);
    const a = ours.toFloat32();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - ort[i]!));
    expect(worst).toBeLessThan(1e-3);
  });
});
