// sparsec prune / eval / compare, run in-process on the gpt2 fixture with a few token windows.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { readNpy, writeNpy } from '../../ir/npy.js';
import { Tensor } from '../../ir/tensor.js';
import { findWeights } from '../../passes/analysis/weights.js';
import { perplexity } from '../../passes/eval/index.js';
import { findViolation, parsePattern } from '../../passes/prune/index.js';
import { parseArgs } from '../args.js';
import { cli, expectOneLineError } from '../test-helpers.js';

const FIXTURE = new URL('../../fixtures/gpt2/', import.meta.url).pathname;
const MODEL = join(FIXTURE, 'model.onnx');

/** The first `count` windows of a fixture token file, saved as their own .npy. */
function windowsFile(dir: string, name: string, count: number): string {
  const all = readNpy(new Uint8Array(readFileSync(join(FIXTURE, `${name}.npy`))));
  const width = all.shape[1]!;
  const part = new Tensor('int64', [count, width], (all.data as BigInt64Array).slice(0, count * width));
  const file = join(dir, `${name}-${count}.npy`);
  writeFileSync(file, writeNpy(part));
  return file;
}

let tmp: string;
let calib: string;
let evalData: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsec-prune-'));
  calib = windowsFile(tmp, 'calib_tokens', 4);
  evalData = windowsFile(tmp, 'eval_tokens', 4);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sparsec prune arguments', () => {
  it('maps flags one-to-one onto options (and -o onto --out)', () => {
    const args = parseArgs(['prune', 'm.onnx', '-o', 'p.onnx', '--pattern', 'block:4x1:0.5', '--method', 'wanda', '--calib', 'c.npy', '--calib-batch', '4', '--only', 'a*', '--only', 'b?', '--skip', 'c', '--include-head', '--sequential', '--eval', 'e.npy', '--json']);
    expect(args).toEqual({
      command: 'prune',
      options: {
        model: 'm.onnx',
        out: 'p.onnx',
        pattern: { kind: 'block', rows: 4, cols: 1, ratio: 0.5 },
        method: 'wanda',
        allocation: 'layer',
        calib: [{ file: 'c.npy' }],
        calibBatch: 4,
        only: ['a*', 'b?'],
        skip: ['c'],
        includeEmbeddings: false,
        includeHead: true,
        sequential: true,
        permute: false,
        eval: 'e.npy',
        json: true,
      },
    });
    expect(parseArgs(['prune', 'm.onnx', '--out=p.onnx', '--pattern', '2:4'])).toMatchObject({ options: { out: 'p.onnx', method: 'magnitude' } });
    expect(parseArgs(['prune', 'm.onnx', '-o', 'p.onnx', '--pattern', '2:4', '--method', 'sparsegpt', '--dampening', '0.03', '--permute'])).toMatchObject({
      options: { dampening: 0.03, permute: true },
    });
    expect(parseArgs(['eval', 'm.onnx', '--data', 't.npy', '--batch', '2'])).toEqual({ command: 'eval', options: { model: 'm.onnx', data: 't.npy', batch: 2, json: false } });
    expect(parseArgs(['compare', 'a.onnx', 'b.onnx', '--input', 'x=x.npy'])).toEqual({
      command: 'compare',
      options: { model: 'a.onnx', other: 'b.onnx', inputs: [{ input: 'x', file: 'x.npy' }], shapes: [], json: false },
    });
  });

  it.each([
    [['prune', 'm.onnx', '--pattern', '2:4'], 'prune needs -o out.onnx'],
    [['prune', 'm.onnx', '-o', 'p.onnx'], 'prune needs --pattern'],
    [['prune', 'm.onnx', '-o', 'p.onnx', '--pattern', '5:4'], "pattern '5:4' keeps 5 of every 4"],
    [['prune', 'm.onnx', '-o', 'p.onnx', '--pattern', '2:4', '--method', 'obs'], '--method must be one of magnitude, wanda, sparsegpt'],
    [['prune', 'm.onnx', '-x'], "unknown option '-x'"],
    [['prune', 'm.onnx', '-o', 'p.onnx', '--pattern', '2:4', '--method', 'sparsegpt', '--dampening', '-1'], '--dampening must be a positive number'],
    [['prune', 'm.onnx', '-o', 'p.onnx', '--pattern', '2:4', '--dampening', '0.1'], '--dampening applies to --method sparsegpt only'],
    [['eval', 'm.onnx'], 'eval needs --data'],
    [['eval', 'm.onnx', '--data', 't.npy', '--batch', '0'], '--batch must be a positive integer'],
    [['compare', 'a.onnx'], 'missing b.onnx'],
    [['compare', 'a.onnx', 'b.onnx', 'c.onnx'], "unexpected argument 'c.onnx'"],
  ])('%j is a BAD_OPTION', async (argv, text) => {
    expectOneLineError(await cli(argv), text, '[BAD_OPTION]');
  });

  it('help lists the commands and the short flag', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/prune .*\n.*eval .*\n.*compare /);
    const help = (await cli(['prune', '--help'])).stdout;
    expect(help).toContain('-o, --out out.onnx');
    expect((await cli(['compare', '--help'])).stdout).toContain('Usage: sparsec compare <a.onnx> <b.onnx> [options]');
  });
});

describe('sparsec prune', () => {
  it('prunes 2:4 with SparseGPT: a valid model with the pattern on every pruned weight, the rest unchanged, perplexity before and after', async () => {
    const out = join(tmp, 'gpt2-24.onnx');
    const r = await cli(['prune', MODEL, '-o', out, '--pattern', '2:4', '--method', 'sparsegpt', '--calib', calib, '--calib-batch', '2', '--eval', evalData, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      layers: { name: string; skipped?: string; sparsity: number; relError: number }[];
      quality: { before: { perplexity: number }; after: { perplexity: number }; increase: number };
    };
    const pruned = report.layers.filter((l) => !l.skipped);
    expect(pruned.length).toBe(16);
    expect(report.layers.filter((l) => l.skipped).map((l) => l.skipped)).toEqual(['head']);

    const [dense, saved] = [await loadModel(MODEL), await loadModel(out)];
    const denseViews = new Map(findWeights(dense.graph).map((v) => [v.name, v]));
    for (const v of findWeights(saved.graph)) {
      const layer = report.layers.find((l) => l.name === v.name)!;
      if (layer.skipped) expect(v.read()).toEqual(denseViews.get(v.name)!.read());
      else expect(findViolation(v.read(), v.rows, v.cols, parsePattern('2:4'))).toBeUndefined();
    }
    // sparsec analyze sees the pattern on every pruned weight of the written file.
    const analyzed = await cli(['analyze', out, '--json']);
    expect(analyzed.code, analyzed.stderr).toBe(0);
    const layers = (JSON.parse(analyzed.stdout) as { layers: { name: string; nm: { pattern: string; compliance: number }[] }[] }).layers;
    for (const l of pruned) expect(layers.find((a) => a.name === l.name)!.nm.find((p) => p.pattern === '2:4')!.compliance).toBe(1);
    // The reported perplexities are the library's on the dense and the saved model.
    const windows = readNpy(new Uint8Array(readFileSync(evalData)));
    expect(report.quality.before.perplexity).toBeCloseTo(perplexity(dense.graph, windows).perplexity, 10);
    expect(report.quality.after.perplexity).toBeCloseTo(perplexity(saved.graph, windows).perplexity, 10);
    expect(report.quality.increase).toBeGreaterThan(0);
  });

  it('prints a per-layer table in text mode', async () => {
    const out = join(tmp, 'gpt2-mag.onnx');
    const r = await cli(['prune', MODEL, '-o', out, '--pattern', 'unstructured:0.5', '--skip', '*_591']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/unstructured:0.5 with magnitude \(layer allocation\): 15 of 17 weights pruned/);
    expect(r.stdout).toMatch(/onnx::MatMul_591 .* 0\.0% +0\.0% .* kept \(skip\)/);
    expect(r.stdout).toMatch(/kept \(head\)/);
    expect(r.stdout).toContain(`wrote ${out}`);
  });

  it('--permute permutes channels first (same function), then prunes 2:4', async () => {
    const out = join(tmp, 'gpt2-perm.onnx');
    const r = await cli(['prune', MODEL, '-o', out, '--pattern', '2:4', '--permute', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { permutation: { layersPermuted: number; meanEfficacy: number; groups: { status: string }[] }; layers: { name: string; skipped?: string }[] };
    expect(report.permutation.layersPermuted).toBeGreaterThan(0);
    expect(report.permutation.meanEfficacy).toBeGreaterThan(0);
    const saved = await loadModel(out);
    const prunedNames = new Set(report.layers.filter((l) => !l.skipped).map((l) => l.name));
    for (const v of findWeights(saved.graph)) {
      if (prunedNames.has(v.name)) expect(findViolation(v.read(), v.rows, v.cols, parsePattern('2:4'))).toBeUndefined();
    }
    expectOneLineError(await cli(['prune', MODEL, '-o', out, '--pattern', 'unstructured:0.5', '--permute']), 'channel permutation serves N:M patterns only');
  });

  it('wanda without --calib is a clear error and writes nothing', async () => {
    const out = join(tmp, 'never.onnx');
    expectOneLineError(await cli(['prune', MODEL, '-o', out, '--pattern', '2:4', '--method', 'wanda']), "method 'wanda' needs calibration data", '--calib');
    expect(existsSync(out)).toBe(false);
  });

  it('global allocation needs unstructured magnitude', async () => {
    expectOneLineError(await cli(['prune', MODEL, '-o', join(tmp, 'x.onnx'), '--pattern', '2:4', '--allocation', 'global']), 'global allocation works with unstructured magnitude pruning only');
  });
});

describe('sparsec eval and compare', () => {
  it('eval prints the perplexity (text and JSON)', async () => {
    const text = await cli(['eval', MODEL, '--data', evalData]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^perplexity \d+\.\d{4} \(256 tokens in 4 windows of .*\)/);
    const json = JSON.parse((await cli(['eval', MODEL, '--data', evalData, '--json', '--batch', '3'])).stdout) as { perplexity: number; tokens: number };
    expect(json.tokens).toBe(256);
    expect(text.stdout).toContain(json.perplexity.toFixed(4));
  });

  it('eval rejects data that are not token windows, naming the file', async () => {
    const bad = join(tmp, 'floats.npy');
    writeFileSync(bad, writeNpy(Tensor.float32([1, 2, 3, 4], [2, 2])));
    expectOneLineError(await cli(['eval', MODEL, '--data', bad]), bad, 'token windows must be int64 [N, T+1]');
  });

  it('compare: zero error against itself, a real one against a pruned copy', async () => {
    const ids = join(FIXTURE, 'input_input_ids.npy');
    const same = JSON.parse((await cli(['compare', MODEL, MODEL, '--input', ids, '--json'])).stdout) as { outputs: { name: string; maxAbs: number; cosine: number }[] };
    expect(same.outputs).toEqual([expect.objectContaining({ name: 'logits', maxAbs: 0, relative: 0, cosine: 1 })]);

    const pruned = join(tmp, 'gpt2-14.onnx');
    expect((await cli(['prune', MODEL, '-o', pruned, '--pattern', '1:4'])).code).toBe(0);
    const r = await cli(['compare', MODEL, pruned, '--input', `input_ids=${ids}`]);
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.startsWith('logits'))!;
    const [, , maxAbs, relative, , cosine] = row.split(/\s+/);
    expect(Number(maxAbs)).toBeGreaterThan(0);
    expect(Number(relative)).toBeGreaterThan(0);
    expect(Number(cosine)).toBeLessThan(1);
    expect(Number(cosine)).toBeGreaterThan(0);
  });
});
