// `sparsec run` on a built artifact: the folder, its .wasm and its .json run through the
// runtime and agree with the reference executor on the .onnx model; misuse is a one-line error.
// With a relaxed-SIMD build beside the module, that build runs (this process turns on the flag
// Node 20 needs), and the output says which build ran.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlpModel } from '../codegen/test/mlp.js';
import { saveModel } from '../frontend/index.js';
import { readNpy, writeNpy } from '../ir/npy.js';
import { Tensor } from '../ir/tensor.js';
import type { ArtifactBuild } from './commands/run-artifact.js';
import type { OutputSummary } from './commands/run.js';
import { cli, expectOneLineError, sampleFloats } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sparsec-cli-run-artifact-'));
const onnx = join(dir, 'ffn.onnx');
const built = join(dir, 'built');
const x = join(dir, 'x.npy');

beforeAll(async () => {
  const m = mlpModel({ tokens: 4, d: 16, hidden: 64, pruning: 0.7 });
  m.graph.inputs[0]!.shape = ['tokens', 16];
  await saveModel(m, onnx);
  writeFileSync(x, writeNpy(new Tensor('float32', [8, 16], sampleFloats([8, 16]))));
  const r = await cli(['build', onnx, '-o', built, '--shape', 'x=8,16']);
  expect(r.code, r.stderr).toBe(0);
});

const outputsOf = (stdout: string) => (JSON.parse(stdout) as { outputs: OutputSummary[] }).outputs;
const buildOf = (stdout: string) => (JSON.parse(stdout) as { build?: ArtifactBuild }).build;

/** The reference executor's output y for x.npy, run once. */
let referenceY: Float32Array | undefined;
async function reference(): Promise<Float32Array> {
  if (referenceY) return referenceY;
  const r = await cli(['run', onnx, '--input', `x=${x}`, '--out', join(dir, 'ref'), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (referenceY = readNpy(readFileSync(join(dir, 'ref', 'y.npy'))).data as Float32Array);
}

function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i]!))));
}

describe('sparsec run <artifact>', () => {
  it('the folder, the .wasm and the .json give the reference executor outputs', async () => {
    const ref = await cli(['run', onnx, '--input', `x=${x}`, '--json']);
    expect(ref.code, ref.stderr).toBe(0);
    const [want] = outputsOf(ref.stdout);
    const wantData = await reference();
    for (const path of [built, join(built, 'ffn.wasm'), join(built, 'ffn.json')]) {
      const out = join(dir, `out-${path.slice(-4)}`);
      const r = await cli(['run', path, '--input', `x=${x}`, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const [got] = outputsOf(r.stdout);
      expect(got).toMatchObject({ name: 'y', dtype: 'float32', shape: [8, 16], file: `${out}/y.npy` });
      expect(got!.sum).toBeCloseTo(want!.sum, 3);
      expect(buildOf(r.stdout)).toEqual({ module: 'ffn.wasm', simd: 'simd128', reason: 'no relaxed-SIMD build beside it' });
      expectClose(readNpy(readFileSync(join(out, 'y.npy'))).data as Float32Array, wantData);
    }
  });

  it('the single-input shorthand and the text summary work too; its last line names the build that ran', async () => {
    const r = await cli(['run', built, '--input', x]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^output\s+dtype\s+shape/);
    expect(r.stdout).toMatch(/\ny\s+float32\s+\[8,16\]/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('ran ffn.wasm: the SIMD128 build (no relaxed-SIMD build beside it)');
  });

  it('runs the relaxed-SIMD build where one is beside the module, and says so', async () => {
    const relaxedDir = join(dir, 'built-relaxed');
    const b = await cli(['build', onnx, '-o', relaxedDir, '--shape', 'x=8,16', '--relaxed-simd']);
    expect(b.code, b.stderr).toBe(0);
    const want = await reference();
    for (const path of [relaxedDir, join(relaxedDir, 'ffn.wasm'), join(relaxedDir, 'ffn.json'), join(relaxedDir, 'ffn.relaxed.wasm')]) {
      const out = join(dir, `out-relaxed-${path.slice(-4)}`);
      const r = await cli(['run', path, '--input', `x=${x}`, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(buildOf(r.stdout), path).toEqual({ module: 'ffn.relaxed.wasm', simd: 'relaxed' });
      expectClose(readNpy(readFileSync(join(out, 'y.npy'))).data as Float32Array, want);
    }
    const text = await cli(['run', relaxedDir, '--input', x]);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('ran ffn.relaxed.wasm: the relaxed-SIMD build');
    // Without its relaxed twin the same folder runs the plain module.
    rmSync(join(relaxedDir, 'ffn.relaxed.wasm'));
    const plain = await cli(['run', relaxedDir, '--input', `x=${x}`, '--json']);
    expect(buildOf(plain.stdout)).toEqual({ module: 'ffn.wasm', simd: 'simd128', reason: 'no relaxed-SIMD build beside it' });
  });

  it('an .onnx model reports no build', async () => {
    const r = await cli(['run', onnx, '--input', `x=${x}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(buildOf(r.stdout)).toBeUndefined();
  });

  it('is recognized by content, not by its file name', async () => {
    const renamed = join(dir, 'renamed');
    mkdirSync(renamed);
    copyFileSync(join(built, 'ffn.wasm'), join(renamed, 'module.bin'));
    const r = await cli(['run', join(renamed, 'module.bin'), '--input', `x=${x}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(outputsOf(r.stdout)[0]!.shape).toEqual([8, 16]);
  });

  it('a wrong input shape names the static shape and suggests rebuilding', async () => {
    const small = join(dir, 'x4.npy');
    writeFileSync(small, writeNpy(new Tensor('float32', [4, 16], sampleFloats([4, 16]))));
    expectOneLineError(await cli(['run', built, '--input', `x=${small}`]), 'static shape [8,16]', '--shape x=4,16', '[SHAPE_MISMATCH]');
  });

  it('--shape is refused: shapes are fixed at build time', async () => {
    expectOneLineError(await cli(['run', built, '--input', `x=${x}`, '--shape', 'x=8,16']), 'fixed at build time', 'x [8,16]', '[BAD_OPTION]');
  });

  it('a wrong dtype, an unknown input name and a missing input are one-line errors', async () => {
    const ints = join(dir, 'ints.npy');
    writeFileSync(ints, writeNpy(new Tensor('int32', [8, 16], new Int32Array(128))));
    expectOneLineError(await cli(['run', built, '--input', `x=${ints}`]), "input 'x' is int32", '[TYPE_MISMATCH]');
    expectOneLineError(await cli(['run', built, '--input', `z=${x}`]), "names input 'z'", "'x'", '[BAD_OPTION]');
    expectOneLineError(await cli(['run', built]), "missing input 'x' (float32[8,16])", '[BAD_INPUT]');
  });

  it('a folder without a manifest, and a manifest whose module is gone, are one-line errors', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expectOneLineError(await cli(['run', empty]), 'without a sparsec manifest', '[BAD_INPUT]');
    const orphan = join(dir, 'orphan');
    mkdirSync(orphan);
    copyFileSync(join(built, 'ffn.json'), join(orphan, 'ffn.json'));
    expectOneLineError(await cli(['run', orphan]), "module 'ffn.wasm', which is missing", '[FILE_NOT_FOUND]');
  });

  it('a WebAssembly module sparsec did not build is a one-line BAD_MODEL error', async () => {
    const foreign = join(dir, 'foreign.wasm');
    writeFileSync(foreign, new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    expectOneLineError(await cli(['run', foreign, '--input', x]), 'not built by sparsec', '[BAD_MODEL]');
  });
});
