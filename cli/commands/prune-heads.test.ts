// prune-heads / prune-neurons handlers, run in-process on the fixtures with a few token windows.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { readNpy, writeNpy } from '../../ir/npy.js';
import { Tensor } from '../../ir/tensor.js';
import { verify } from '../../ir/verify.js';
import { countParameters } from '../../passes/analysis/parameters.js';
import { canonicalModel } from '../../passes/structure/canonical.js';
import { commandContext } from '../context.js';
import { pruneHeads, pruneNeurons } from './prune-heads.js';

const fixture = (name: string, file: string) => new URL(`../../fixtures/${name}/${file}`, import.meta.url).pathname;

/** The first `count` windows of a fixture token file, saved as their own .npy. */
function windowsFile(dir: string, name: string, file: string, count: number): string {
  const all = readNpy(new Uint8Array(readFileSync(fixture(name, `${file}.npy`))));
  const width = all.shape[1]!;
  const part = new Tensor('int64', [count, width], (all.data as BigInt64Array).slice(0, count * width));
  const out = join(dir, `${name}-${file}-${count}.npy`);
  writeFileSync(out, writeNpy(part));
  return out;
}

function capture() {
  let stdout = '';
  let stderr = '';
  const ctx = commandContext({ stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: false }, {});
  return { ctx, out: () => stdout, err: () => stderr };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsec-prune-heads-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = { calib: [] as string[], calibBatch: 4, json: false, noSpeed: true };

describe('prune-heads', () => {
  it('--heads removes exactly those heads and reports them (llama, grouped-query)', async () => {
    const out = join(tmp, 'llama-heads.onnx');
    const io = capture();
    await pruneHeads({ ...base, model: fixture('llama', 'model.onnx'), out, heads: '0:1,2:0,2:1', json: true }, io.ctx);
    const report = JSON.parse(io.out());
    expect(report.scoring).toBe('explicit');
    expect(report.layers.map((l: { removed: number[] }) => l.removed)).toEqual([[1], [], [0, 1], []]);
    expect(report.layers[2].removedKv).toEqual([0]);
    const pruned = await loadModel(out);
    verify(pruned.graph);
    canonicalModel(pruned);
    // q: 16 + 32 rows of 64, o: the same columns, k and v: 16 rows each in layer 2.
    expect(report.parameters.before - report.parameters.after).toBe(64 * (16 + 32) * 2 + 2 * 64 * 16);
    expect(countParameters(pruned.graph)).toBe(report.parameters.after);
  });

  it('--ratio with --calib and --eval prints the per-layer table and the perplexity cost (gpt2)', async () => {
    const out = join(tmp, 'gpt2-heads.onnx');
    const io = capture();
    const calib = [windowsFile(tmp, 'gpt2', 'calib_tokens', 4)];
    const evalData = windowsFile(tmp, 'gpt2', 'eval_tokens', 4);
    await pruneHeads({ ...base, model: fixture('gpt2', 'model.onnx'), out, ratio: 0.25, calib, eval: evalData }, io.ctx);
    const text = io.out();
    expect(text).toMatch(/4 of 16 attention heads removed, chosen by calibration/);
    expect(text).toMatch(/^layer 0 +4 -> \d/m);
    expect(text).toMatch(/^perplexity +[\d.]+ -> [\d.]+ \([+-][\d.]+%\)/m);
    expect(text).toMatch(/^parameters +[\d,]+ -> [\d,]+ \(-[\d.]+%\)/m);
    expect(io.err()).toBe('');
    verify((await loadModel(out)).graph);
  });

  it('rejects --ratio together with --heads, a bad list and a bad ratio', async () => {
    const io = capture();
    const model = fixture('gpt2', 'model.onnx');
    const out = join(tmp, 'never.onnx');
    await expect(pruneHeads({ ...base, model, out, ratio: 0.25, heads: '0:1' }, io.ctx)).rejects.toThrow(/exactly one of --ratio and --heads/);
    await expect(pruneHeads({ ...base, model, out, heads: '0-1' }, io.ctx)).rejects.toThrow(/not layer:head/);
    await expect(pruneHeads({ ...base, model, out, ratio: 1 }, io.ctx)).rejects.toThrow(/--ratio must be/);
    await expect(pruneHeads({ ...base, model, out, heads: '7:0' }, io.ctx)).rejects.toThrow(/layer 7/);
  });
});

describe('prune-neurons', () => {
  it('--ratio removes a quarter of every MLP and expert, weights-only scoring said so (moe)', async () => {
    const out = join(tmp, 'moe-neurons.onnx');
    const io = capture();
    await pruneNeurons({ ...base, model: fixture('moe', 'model.onnx'), out, ratio: 0.25 }, io.ctx);
    const text = io.out();
    expect(text).toMatch(/FFN hidden channels removed, chosen by weights alone/);
    expect(text).toMatch(/^layer 0 expert 7 +64 -> 48/m);
    verify((await loadModel(out)).graph);
  });
});
