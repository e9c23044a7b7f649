import { describe, expect, it } from 'vitest';
import { loadModel } from '../frontend/index.js';
import { countParameters } from '../passes/analysis/parameters.js';
import { PassManager } from '../passes/manager.js';
import { baseline, formatSummary, summarize } from './compression-report.js';
import { commandContext } from './context.js';

const ctx = commandContext({ stdout: { write: () => {} }, stderr: { write: () => {} }, isTTY: false }, {});

async function canonical(name: string) {
  const model = await loadModel(`fixtures/${name}/model.onnx`);
  new PassManager('default').run(model);
  return model;
}

describe('parameter counts', () => {
  it('count learned tensors once each, and leave masks and shape constants out', async () => {
    // Equal to torch's count for the untied fixtures (meta.json).
    expect(countParameters((await canonical('llama')).graph)).toBe(217_664);
    expect(countParameters((await canonical('bert')).graph)).toBe(128_960);
  });
});

describe('compression summary', () => {
  it('counts both models the same way and times both builds', async () => {
    const model = await canonical('gpt2');
    const base = await baseline(model, { model: 'gpt2' }, ctx);
    const summary = await summarize(base, model, { model: 'gpt2' }, ctx);
    expect(summary.parameters.before).toBe(summary.parameters.after);
    expect('skipped' in summary.speed).toBe(false);
    if (!('skipped' in summary.speed)) {
      expect(summary.speed.shapes).toEqual({ input_ids: [1, 64] });
      expect(summary.speed.beforeMs).toBeGreaterThan(0);
      expect(summary.speed.afterMs).toBeGreaterThan(0);
    }
    expect(formatSummary(summary).join('\n')).toMatch(/parameters .* -> .*\nwasm speed .* ms -> .* ms \(\d+\.\d\dx\) at input_ids=1x64/);
  }, 60_000);
});

describe('tied tables', () => {
  it('count a head stored as the transposed token table once', async () => {
    // gpt2 ties its head to the token table; constant folding stores the head as a transposed copy.
    expect(countParameters((await canonical('gpt2')).graph)).toBe(224_640);
  });
});
