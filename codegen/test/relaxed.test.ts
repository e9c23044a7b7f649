// The relaxed-SIMD build beside the plain one: `relaxedSimd` writes <name>.relaxed.wasm, the
// loader passes both, and the runtime picks the relaxed one only where the engine validates
// relaxed SIMD. Node 20 needs --experimental-wasm-relaxed-simd, which this file turns on at
// run time (node:v8) after checking the default; fused multiply-add keeps 1e-4 relative.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, test } from 'vitest';
import { parseArgs } from '../../cli/args.js';
import { hasRelaxedSimd, load, type Model as RuntimeModel } from '../../runtime/index.js';
import { buildArtifacts, writeArtifacts, type Manifest } from '../artifacts.js';
import { maxRelError } from '../wasm/kernels/reference.js';
import { mlpInput, mlpModel, referenceOutputs, type MlpSpec, type Pruning } from './mlp.js';

const d = 64;
const hidden = 256;
/** f32x4.relaxed_madd: the SIMD prefix and its LEB128 opcode 0x105. */
const RELAXED_MADD = Buffer.from([0xfd, 0x85, 0x02]);

const engineHadRelaxedSimd = hasRelaxedSimd();

async function buildRelaxed(spec: MlpSpec, format: 'auto' | 'csr' | 'nm' | 'bsr' | 'dense' = 'auto'): Promise<{ dir: string; manifest: Manifest }> {
  const r = await buildArtifacts(mlpModel(spec), { compilerVersion: 'test', name: 'ffn', format, relaxedSimd: true });
  const dir = mkdtempSync(join(tmpdir(), 'sparsec-relaxed-'));
  await writeArtifacts(dir, r.files);
  return { dir, manifest: r.manifest };
}

async function loadGenerated(dir: string): Promise<RuntimeModel> {
  const loader = (await import(pathToFileURL(join(dir, 'ffn.js')).href)) as { default: () => Promise<RuntimeModel> };
  return loader.default();
}

describe('relaxed-SIMD build', () => {
  test('writes <name>.relaxed.wasm with relaxed_madd beside the plain module, recorded in the manifest', async () => {
    const { dir, manifest } = await buildRelaxed({ tokens: 16, d, hidden, pruning: 0.9 });
    expect(readdirSync(dir).sort()).toEqual(['ffn.d.ts', 'ffn.js', 'ffn.json', 'ffn.relaxed.wasm', 'ffn.wasm']);
    const plain = readFileSync(join(dir, 'ffn.wasm'));
    const relaxed = readFileSync(join(dir, 'ffn.relaxed.wasm'));
    expect(relaxed.includes(RELAXED_MADD)).toBe(true);
    expect(plain.includes(RELAXED_MADD)).toBe(false);
    expect(manifest.modules).toEqual({ simd128: 'ffn.wasm', relaxed: 'ffn.relaxed.wasm' });
    expect(manifest.bytes.relaxedWasm).toBe(relaxed.length);
    expect(readFileSync(join(dir, 'ffn.js'), 'utf8')).toContain('"./ffn.relaxed.wasm"');
    const dts = readFileSync(join(dir, 'ffn.d.ts'), 'utf8');
    expect(dts).toContain("readonly simd: 'relaxed' | 'simd128';");
    expect(dts).toContain('relaxed?: Source;');
    const without = await buildArtifacts(mlpModel({ tokens: 16, d, hidden, pruning: 0.9 }), { compilerVersion: 'test', name: 'ffn' });
    expect(without.manifest.modules).toEqual({ simd128: 'ffn.wasm' });
    expect(without.files.map((f) => f.name)).not.toContain('ffn.relaxed.wasm');
  });

  test('sparsec build --relaxed-simd asks for it; without the flag the options carry none', () => {
    const parsed = parseArgs(['build', 'm.onnx', '-o', 'out', '--relaxed-simd']);
    expect(parsed.command === 'build' && parsed.options.relaxedSimd).toBe(true);
    const plain = parseArgs(['build', 'm.onnx', '-o', 'out']);
    expect(plain.command === 'build' && 'relaxedSimd' in plain.options).toBe(false);
  });

  test.runIf(!engineHadRelaxedSimd)('without relaxed SIMD in the engine (Node 20 default) the loader takes the plain build', async () => {
    const { dir } = await buildRelaxed({ tokens: 4, d, hidden });
    const model = await loadGenerated(dir);
    expect(model.simd).toBe('simd128');
  });

  test('with relaxed SIMD the loader takes the relaxed build; dense, unstructured, 2:4 and 4x1 blocks match the reference', async () => {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    expect(hasRelaxedSimd()).toBe(true);
    const cases: [Pruning, 'auto' | 'csr' | 'nm' | 'bsr' | 'dense'][] = [['dense', 'dense'], [0.9, 'csr'], [0.9, 'auto'], ['2:4', 'nm'], ['block4x1:0.8', 'bsr']];
    for (const [pruning, format] of cases) {
      for (const tokens of [1, 16]) {
        const spec: MlpSpec = { tokens, d, hidden, pruning };
        const { dir } = await buildRelaxed(spec, format);
        const model = await loadGenerated(dir);
        expect(model.simd).toBe('relaxed');
        const x = mlpInput(spec);
        const want = referenceOutputs(mlpModel(spec), { x }).get('y')!.data as Float32Array;
        expect(maxRelError(model.run({ x }).y!.data, want), `${pruning} ${format} tokens=${tokens}`).toBeLessThan(1e-4);
      }
    }
  });

  test('a relaxed build that cannot be read falls back to the plain one', async () => {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    const spec: MlpSpec = { tokens: 4, d, hidden, pruning: 0.7 };
    const { dir } = await buildRelaxed(spec);
    rmSync(join(dir, 'ffn.relaxed.wasm'));
    const model = await load(join(dir, 'ffn.wasm'), { relaxed: join(dir, 'ffn.relaxed.wasm') });
    expect(model.simd).toBe('simd128');
    const x = mlpInput(spec);
    const want = referenceOutputs(mlpModel(spec), { x }).get('y')!.data as Float32Array;
    expect(maxRelError(model.run({ x }).y!.data, want)).toBeLessThan(1e-4);
  });
});
