// The `sparsec slice` handler, called directly (the lead wires it into the argument parser):
// a sliced gpt2 is written and reported honestly; models the pass cannot handle are refused
// with one diagnostic naming the file.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { formatDiagnostic, SparsecError } from '../../ir/diagnostics.js';
import { readNpy, writeNpy } from '../../ir/npy.js';
import { Tensor } from '../../ir/tensor.js';
import { commandContext } from '../context.js';
import { slice, type SliceOptions } from './slice.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

function windowsFile(dir: string, model: string, name: string, count: number): string {
  const all = readNpy(new Uint8Array(readFileSync(join(FIXTURES, model, `${name}.npy`))));
  const width = all.shape[1]!;
  const part = new Tensor('int64', [count, width], (all.data as BigInt64Array).slice(0, count * width));
  const file = join(dir, `${model}-${name}-${count}.npy`);
  writeFileSync(file, writeNpy(part));
  return file;
}

async function run(opts: Partial<SliceOptions> & { model: string }): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx = commandContext({ stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, isTTY: false }, {});
  await slice({ out: join(tmp, 'out.onnx'), ratio: 0.25, multiple: 8, basis: 'model', untieHead: false, calib: [], calibBatch: 8, json: false, noSpeed: true, ...opts }, ctx);
  return { stdout, stderr };
}

async function refusal(opts: Partial<SliceOptions> & { model: string }): Promise<string> {
  const e = await run(opts).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SparsecError);
  const diagnostics = (e as SparsecError).diagnostics;
  expect(diagnostics).toHaveLength(1);
  const line = formatDiagnostic(diagnostics[0]!);
  expect(line).not.toContain('\n');
  return line;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsec-slice-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sparsec slice', () => {
  it('slices gpt2 to 48 channels, writes the model and reports parameters and perplexity', async () => {
    const out = join(tmp, 'gpt2-sliced.onnx');
    const calib = windowsFile(tmp, 'gpt2', 'calib_tokens', 16);
    const evalData = windowsFile(tmp, 'gpt2', 'eval_tokens', 4);
    const { stdout } = await run({ model: join(FIXTURES, 'gpt2/model.onnx'), out, calib: [{ file: calib }], eval: evalData, json: true });
    const report = JSON.parse(stdout);
    expect(report.width).toBe(64);
    expect(report.kept).toBe(48);
    expect(report.shortcuts).toBe(0);
    expect(report.headTie).toBe('kept');
    expect(report.sublayers).toHaveLength(8);
    expect(report.parametersAfter).toBeLessThan(0.8 * report.parametersBefore);
    expect(report.parameters).toEqual({ before: report.parametersBefore, after: report.parametersAfter });
    expect(report.parametersBefore).toBe(224_640);
    expect(report.quality.increase).toBeLessThan(0.25);
    // The file stores what was reported: the tied table once, plus the 9 norms' scales (export
    // decomposes RMSNorm, so they become plain Mul constants) and a few scalars.
    const written = await loadModel(out);
    const stored = [...written.graph.constants.values()].filter((v) => v.const!.dtype === 'float32').reduce((n, v) => n + v.const!.size, 0);
    expect(stored).toBeGreaterThanOrEqual(report.parametersAfter);
    expect(stored).toBeLessThan(report.parametersAfter + 9 * 48 + 100);
    expect(written.graph.nodes.filter((n) => n.op === 'Transpose' && n.inputs[0]?.isConstant)).toHaveLength(1);
  });

  it('prints a per-sublayer table with the shortcut matrices of the paper scheme', async () => {
    const calib = windowsFile(tmp, 'llama', 'calib_tokens', 8);
    const { stdout } = await run({ model: join(FIXTURES, 'llama/model.onnx'), calib: [{ file: calib }], basis: 'sublayer' });
    expect(stdout).toMatch(/residual stream 64 -> 48 channels/);
    expect(stdout).toMatch(/shortcut matrices: 8, 18,432 parameters/);
    expect(stdout).toMatch(/parameters  217,664 -> 181,680/);
    expect(stdout).toMatch(/layer 3 mlp .* 48x48/);
  });

  it('refuses a post-norm encoder (BERT) naming the file', async () => {
    const model = join(FIXTURES, 'bert/model.onnx');
    const line = await refusal({ model, ratio: 0 });
    expect(line).toContain(model);
    expect(line).toMatch(/post-norm/);
  });

  it('refuses a model without a residual stream (mobilenet)', async () => {
    const model = join(FIXTURES, 'mobilenet/model.onnx');
    expect(await refusal({ model, ratio: 0 })).toContain(model);
  });

  it('asks for calibration data before reading the model', async () => {
    expect(await refusal({ model: join(tmp, 'missing.onnx') })).toMatch(/needs calibration data/);
  });
});
