import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import type { Model as RuntimeModel } from '../../runtime/index.js';
import { load } from '../../runtime/index.js';
import { buildArtifacts, runtimeSource, writeArtifacts, type BuildOptions } from '../artifacts.js';
import { maxRelError } from '../wasm/kernels/reference.js';
import { mlpInput, mlpModel, referenceOutputs, type MlpSpec } from './mlp.js';

const d = 64;
const hidden = 256;

async function buildToDir(spec: MlpSpec, opts: Partial<BuildOptions> = {}): Promise<{ dir: string; files: string[] }> {
  const r = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', name: 'ffn', ...opts });
  const dir = mkdtempSync(join(tmpdir(), 'sparsec-build-'));
  await writeArtifacts(dir, r.files);
  return { dir, files: readdirSync(dir).sort() };
}

/** Build, load through the generated loader, run, and return the error against the reference executor. */
async function endToEnd(spec: MlpSpec, opts: Partial<BuildOptions> = {}): Promise<{ error: number; layouts: string[] }> {
  const { dir } = await buildToDir(spec, opts);
  const loader = (await import(pathToFileURL(join(dir, 'ffn.js')).href)) as { default: () => Promise<RuntimeModel> };
  const model = await loader.default();
  const x = mlpInput(spec);
  const got = model.run({ x });
  const want = referenceOutputs(mlpModel(spec), { x }).get('y')!;
  expect(got.y!.shape).toEqual([spec.tokens, d]);
  const manifest = JSON.parse(readFileSync(join(dir, 'ffn.json'), 'utf8')) as { layers: { layout: string }[] };
  return { error: maxRelError(got.y!.data, want.data as Float32Array), layouts: manifest.layers.map((l) => l.layout) };
}

describe('sparsec build: the artifact run through the runtime matches the reference executor', () => {
  for (const pruning of ['dense', 0.7, 0.9, '2:4'] as const) {
    test(`FFN ${d}->${hidden}->${d} ${pruning}, 1 and 16 tokens, auto and every forced layout`, async () => {
      for (const tokens of [1, 16]) {
        const formats = pruning === '2:4' ? (['auto', 'csr', 'nm'] as const) : (['auto', 'csr'] as const);
        for (const format of formats) {
          const r = await endToEnd({ tokens, d, hidden, pruning }, { format });
          expect(r.error, `${pruning} tokens=${tokens} format=${format}`).toBeLessThan(1e-4);
          if (format !== 'auto') expect(r.layouts).toEqual([format, format]);
        }
      }
    });
  }

  test('Gelu (erf and tanh), without a residual', async () => {
    for (const activation of ['Gelu', 'GeluTanh'] as const) {
      for (const pruning of ['dense', 0.9] as const) {
        const r = await endToEnd({ tokens: 16, d, hidden, pruning, activation, residual: false });
        expect(r.error, `${activation} ${pruning}`).toBeLessThan(1e-4);
      }
    }
  });
});

describe('artifact files', () => {
  test('writes wasm, js, d.ts and manifest; identical inputs give identical bytes', async () => {
    const spec: MlpSpec = { tokens: 4, d, hidden, pruning: 0.9 };
    const a = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', name: 'ffn' });
    const b = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', name: 'ffn' });
    expect(a.files.map((f) => f.name)).toEqual(['ffn.wasm', 'ffn.js', 'ffn.d.ts', 'ffn.json']);
    for (const [i, f] of a.files.entries()) expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(b.files[i]!.bytes)), f.name).toBe(0);
    const other = await buildArtifacts(mlpModel({ ...spec, seed: 5 }), { compilerVersion: 'test', name: 'ffn' });
    expect(other.manifest.contentHash).not.toBe(a.manifest.contentHash);
    const m = a.manifest;
    expect(m.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [4, d] }]);
    expect(m.layers.map((l) => [l.layout, l.shape])).toEqual([['csr', [d, hidden]], ['csr', [hidden, d]]]);
    expect(m.layers[0]!.bytes).toBeLessThan(0.3 * m.layers[0]!.denseBytes);
    expect(m.memory.arenaPeak).toBeGreaterThan(0);
  });

  test('the .d.ts types input and output names with their shapes', async () => {
    const r = await buildArtifacts(mlpModel({ tokens: 16, d, hidden }), { compilerVersion: 'test', name: 'ffn' });
    const dts = new TextDecoder().decode(r.files.find((f) => f.name === 'ffn.d.ts')!.bytes);
    expect(dts).toContain('x: Float32Array | Tensor<readonly [16, 64]>;');
    expect(dts).toContain('y: Tensor<readonly [16, 64]>;');
    expect(dts).toContain('export default loadModel;');
  });

  test('large weights go to <name>.weights.bin; the runtime finds it beside the module or takes it as bytes', async () => {
    const spec: MlpSpec = { tokens: 2, d, hidden };
    const { dir, files } = await buildToDir(spec, { externalWeightsBytes: 4096 });
    expect(files).toEqual(['ffn.d.ts', 'ffn.js', 'ffn.json', 'ffn.wasm', 'ffn.weights.bin']);
    const x = mlpInput(spec);
    const want = referenceOutputs(mlpModel(spec), { x }).get('y')!.data as Float32Array;
    const fromPath = await load(join(dir, 'ffn.wasm'));
    expect(maxRelError(fromPath.run({ x }).y!.data, want)).toBeLessThan(1e-4);
    const bytes = readFileSync(join(dir, 'ffn.wasm'));
    await expect(load(bytes)).rejects.toThrow(/keeps its weights in 'ffn.weights.bin': pass it as options.weights/);
    const fromBytes = await load(new Uint8Array(bytes), { weights: readFileSync(join(dir, 'ffn.weights.bin')) });
    expect(maxRelError(fromBytes.run({ x: { data: x, shape: [2, d] } }).y!.data, want)).toBeLessThan(1e-4);
  });

  test('the runtime rejects wrong names, shapes and dtypes with a clear message', async () => {
    const { dir } = await buildToDir({ tokens: 2, d, hidden });
    const model = await load(pathToFileURL(join(dir, 'ffn.wasm')));
    expect(model.inputs).toEqual([{ name: 'x', shape: [2, d] }]);
    const x = new Float32Array(2 * d);
    expect(() => model.run({ x, z: x })).toThrow("sparsec: unknown input 'z'; the inputs are 'x' [2,64]");
    expect(() => model.run({})).toThrow("sparsec: missing input 'x' [2,64]");
    expect(() => model.run({ x: { data: x, shape: [1, 2 * d] } })).toThrow("input 'x' has shape [1,128], the model was built for [2,64]");
    expect(() => model.run({ x: new Float32Array(3) })).toThrow("input 'x' has 3 elements");
    expect(() => model.run({ x: { data: new Float64Array(2 * d) as unknown as Float32Array, shape: [2, d] } })).toThrow("input 'x' must be a Float32Array, not Float64Array");
    await expect(load(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).rejects.toThrow(/not built by sparsec/);
  });

  test('a new artifact folder is readable by others (0755), not private like a temp folder', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'sparsec-perm-'));
    const r = await buildArtifacts(mlpModel({ tokens: 1, d, hidden }), { compilerVersion: 'test', name: 'ffn' });
    await writeArtifacts(join(parent, 'out'), r.files);
    expect(statSync(join(parent, 'out')).mode & 0o777).toBe(0o755);
  });

  test('the runtime is small: under 5 kB gzip (comments stripped, not minified)', async () => {
    const gz = gzipSync(await runtimeSource()).length;
    expect(gz).toBeLessThan(5000);
  });
});
