// `sparsec analyze`, run in-process, and the calibration data loader behind --calib.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTensorProto, loadModel } from '../frontend/index.js';
import { GraphBuilder } from '../ir/builder.js';
import { Model } from '../ir/graph.js';
import { readNpy, writeNpy } from '../ir/npy.js';
import { Tensor } from '../ir/tensor.js';
import { parseArgs } from './args.js';
import { loadCalibration } from './calib-data.js';
import { cli, expectOneLineError, sampleFloats, writeTestCase } from './test-helpers.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const GPT2 = `${FIXTURES}gpt2/model.onnx`;
const MOBILENET = `${FIXTURES}mobilenet/model.onnx`;

let tmp: string;
let tokens: string;
/** A folder in the ONNX test-data layout holding a one-layer Gemm model (as torch exports nn.Linear). */
let LINEAR: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsec-analyze-'));
  // The first 6 windows of the gpt2 calibration tokens: [6, 65] int64.
  const all = readNpy(new Uint8Array(readFileSync(`${FIXTURES}gpt2/calib_tokens.npy`)));
  tokens = join(tmp, 'tokens.npy');
  writeFileSync(tokens, writeNpy(new Tensor('int64', [6, 65], (all.data as BigInt64Array).slice(0, 6 * 65))));
  LINEAR = join(tmp, 'test_Linear');
  await writeLinearCase(LINEAR);
});

/** y = x @ W^T + b with x float32[4, 10], W [8, 10]; the expected output is not needed by analyze. */
async function writeLinearCase(dir: string): Promise<void> {
  const b = new GraphBuilder('main');
  const x = b.input('input', 'float32', [4, 10]);
  const w = b.constant('weight', Tensor.float32(sampleFloats([8, 10]), [8, 10]));
  const bias = b.constant('bias', Tensor.float32(sampleFloats([8])));
  b.output(b.node('Gemm', [x, w, bias], { outputs: ['output'], attrs: { transB: 1 }, types: [{ dtype: 'float32', shape: [4, 8] }] }).outputs[0]!);
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  await writeTestCase(dir, model, [Tensor.float32(sampleFloats([4, 10]), [4, 10])], []);
}
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sparsec analyze', () => {
  it('maps flags one-to-one onto options', () => {
    expect(parseArgs(['analyze', 'm.onnx', '--json', '--report', 'r.html', '--calib', 'x=a.npy', '--calib', 'b.npy', '--calib-batch', '4', '--shape', 'x=1,2'])).toEqual({
      command: 'analyze',
      options: { model: 'm.onnx', json: true, report: 'r.html', calib: [{ input: 'x', file: 'a.npy' }, { file: 'b.npy' }], calibBatch: 4, shapes: [{ input: 'x', dims: [1, 2] }] },
    });
    expect(parseArgs(['analyze', 'm.onnx'])).toEqual({ command: 'analyze', options: { model: 'm.onnx', json: false, calib: [], calibBatch: 8, shapes: [] } });
  });

  it('prints a table of every weight and a model summary', async () => {
    const r = await cli(['analyze', GPT2]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^layer\s+op\s+shape\s+density\s+2:4\s+best block\s+dead rows\/cols$/);
    expect(lines[1]).toMatch(/^\/blocks\.0\/attn\/qkv\/MatMul\s+MatMul\s+192x64\s+100\.0%\s+0\.0%\s+-\s+0\/0$/);
    expect(r.stdout).toMatch(/\/lm_head\/MatMul \(head\)\s+MatMul\s+256x64/);
    expect(r.stdout).toContain('17 weights, 212,992 parameters, 212,992 nonzero: density 100.0%');
    expect(r.stdout).toContain('attention heads: 12 projections recognized, 0 zero heads');
  });

  it('prints the whole report with --json', async () => {
    const r = await cli(['analyze', MOBILENET, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.model).toBe(MOBILENET);
    expect(report.layers).toHaveLength(27);
    expect(report.layers[0]).toMatchObject({ op: 'Conv', rows: 16, cols: 27, density: 1, deadRows: [], deadCols: [] });
    expect(report.layers[0].nm.map((p: { pattern: string }) => p.pattern)).toEqual(['1:2', '2:4', '4:8', '1:4']);
    expect(report.summary).toMatchObject({ layers: 27, density: 1, zeroHeads: 0 });
    expect(report.activations).toBeUndefined();
  });

  it('writes a self-contained HTML report with one heat map per layer', async () => {
    const out = join(tmp, 'report.html');
    const r = await cli(['analyze', MOBILENET, '--report', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report written to ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<img class="heat" src="data:image\/png;base64,/g)).toHaveLength(27);
    expect(html.match(/<img class="bars" src="data:image\/png;base64,/g)).toHaveLength(27);
    // Nothing loaded from elsewhere: no links, no remote or relative sources.
    expect(html).not.toMatch(/<link|src="(?!data:)|url\(/);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const png = Buffer.from(/src="data:image\/png;base64,([^"]+)"/.exec(html)![1]!, 'base64');
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
  });

  it('gathers activation statistics from token windows in a .npy (first T-1 tokens fed)', async () => {
    const r = await cli(['analyze', GPT2, '--json', '--calib', tokens, '--calib-batch', '4']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.calibrationBatches).toBe(2);
    expect(report.activations).toHaveLength(17);
    expect(report.activations[0].elements).toBe(6 * 64 * 64);
    // fc2 reads a GELU output: not exactly sparse, but far from all zero.
    expect(report.activations.every((a: { zeroFraction: number }) => a.zeroFraction < 0.5)).toBe(true);
    expect(report.routing).toEqual([]);
  });

  it('reads calibration from ONNX test-data folders (set folders, or one set)', async () => {
    for (const dir of [LINEAR, `${LINEAR}/test_data_set_0`]) {
      const r = await cli(['analyze', `${LINEAR}/model.onnx`, '--json', '--calib', dir]);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.calibrationBatches).toBe(1);
      expect(report.activations).toHaveLength(1);
      expect(report.activations[0].elements).toBe(4 * 10);
    }
  });

  it('fails with one line and exit 1 on bad calibration data and options', async () => {
    expectOneLineError(await cli(['analyze', GPT2, '--calib', join(tmp, 'missing.npy')]), 'missing.npy', '[FILE_NOT_FOUND]');
    expectOneLineError(await cli(['analyze', GPT2, '--calib-batch', '4']), '--calib-batch needs --calib');
    expectOneLineError(await cli(['analyze', GPT2, '--calib', tokens, '--calib-batch', '0']), '--calib-batch must be a positive integer');
    expectOneLineError(await cli(['analyze', GPT2, '--calib', `ids=${tokens}`]), "names input 'ids'", '[BAD_OPTION]');
    const floats = join(tmp, 'floats.npy');
    writeFileSync(floats, writeNpy(Tensor.float32(new Float32Array(8), [2, 4])));
    expectOneLineError(await cli(['analyze', GPT2, '--calib', floats]), 'holds float32', '[TYPE_MISMATCH]');
    expectOneLineError(await cli(['analyze', GPT2, '--calib', `input_ids=${tmp}`]), 'takes that folder alone');
    expectOneLineError(await cli(['analyze', GPT2, '--report', join(tmp, 'no', 'such', 'dir', 'r.html')]), '[WRITE_FAILED]');
  });
});

describe('loadCalibration', () => {
  it('splits arrays into batches of rows, the last one partial', async () => {
    const model = await loadModel(GPT2);
    const set = loadCalibration(model, [{ file: tokens }], { batchRows: 4, modelFile: GPT2 });
    expect([set.batches, set.samples]).toEqual([2, 6]);
    expect(set.description).toContain('first 64 of 65 tokens');
    const batches = [...set];
    expect(batches.map((b) => b.get('input_ids')!.shape)).toEqual([[4, 64], [2, 64]]);
    const all = readNpy(new Uint8Array(readFileSync(tokens)));
    // Row 5, token 63 of the file is row 1, token 63 of the second batch.
    expect(batches[1]!.get('input_ids')!.get(64 + 63)).toBe(all.get(5 * 65 + 63));
    expect([...set]).toHaveLength(2); // iterable again
  });

  it('feeds every input of a multi-input model by name, as given (no window rule)', async () => {
    const model = await loadModel(`${FIXTURES}bert/model.onnx`);
    const names = ['input_ids', 'attention_mask', 'token_type_ids'];
    const set = loadCalibration(model, names.map((n) => ({ input: n, file: `${FIXTURES}bert/input_${n}.npy` })), { batchRows: 1, modelFile: 'bert' });
    const first = [...set][0]!;
    const ids = readNpy(new Uint8Array(readFileSync(`${FIXTURES}bert/input_input_ids.npy`)));
    expect([...first.keys()].sort()).toEqual([...names].sort());
    expect(first.get('input_ids')!.shape).toEqual([1, ids.shape[1]]);
    expect(set.batches).toBe(ids.shape[0]);
  });

  it('orders test_data_set_N folders numerically and matches inputs by TensorProto name', async () => {
    const model = await loadModel(GPT2);
    const dir = join(tmp, 'sets');
    for (const n of [10, 2]) {
      mkdirSync(join(dir, `test_data_set_${n}`), { recursive: true });
      writeFileSync(join(dir, `test_data_set_${n}`, 'input_0.pb'), encodeTensorProto('input_ids', Tensor.int64([n, n, n], [1, 3])));
    }
    const set = loadCalibration(model, [{ file: dir }], { batchRows: 8, modelFile: GPT2 });
    expect([...set].map((b) => b.get('input_ids')!.get(0))).toEqual([2, 10]);
  });
});
