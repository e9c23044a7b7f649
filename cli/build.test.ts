// `sparsec build`, run in-process.

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlpModel } from '../codegen/test/mlp.js';
import { saveModel } from '../frontend/index.js';
import { GraphBuilder } from '../ir/builder.js';
import { Model } from '../ir/graph.js';
import { load } from '../runtime/index.js';
import { parseArgs } from './args.js';
import { artifactName } from './commands/build.js';
import { cli, expectOneLineError } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sparsec-cli-build-'));
const ffn = join(dir, 'ffn.onnx');
const softmax = join(dir, 'softmax.onnx');

beforeAll(async () => {
  // A batch dim left symbolic so --shape has something to bind.
  const m = mlpModel({ tokens: 4, d: 16, hidden: 64, pruning: 0.9 });
  m.graph.inputs[0]!.shape = ['tokens', 16];
  await saveModel(m, ffn);
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2, 8]);
  b.output(b.op('Softmax', [b.op('Relu', [x])], { name: 'probs', attrs: { axis: 0 } }));
  const sm = new Model(b.graph);
  sm.opsets.set('', 21);
  await saveModel(sm, softmax);
});

describe('sparsec build', () => {
  it('parses its flags', () => {
    expect(parseArgs(['build', 'm.onnx', '-o', 'out', '--shape', 'x=1,4', '--format', 'csr'])).toEqual({
      command: 'build', options: { model: 'm.onnx', out: 'out', shapes: [{ input: 'x', dims: [1, 4] }], format: 'csr', json: false },
    });
    expect(() => parseArgs(['build', 'm.onnx'])).toThrow(/build needs -o dir/);
    expect(() => parseArgs(['build', 'm.onnx', '-o', 'o', '--format', 'block'])).toThrow(/--format must be one of auto, dense, csr, nm, bsr/);
    expect(artifactName('/a/b/my model.v2.onnx')).toBe('my_model_v2');
  });

  it('writes every file and prints the layout summary; the artifact runs', async () => {
    const out = join(dir, 'out');
    const r = await cli(['build', ffn, '-o', out, '--shape', 'x=8,16']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['ffn.d.ts', 'ffn.js', 'ffn.json', 'ffn.wasm']);
    expect(r.stdout).toContain('built ffn for wasm: inputs x [8,16]; outputs y [8,16]');
    expect(r.stdout).toMatch(/fc1\.weight\s+16 x 64\s+8\s+10\.\d% +csr/);
    expect(r.stdout).toContain('wrote ');
    const manifest = JSON.parse(readFileSync(join(out, 'ffn.json'), 'utf8')) as { compiler: { version: string }; layers: unknown[] };
    expect(manifest.compiler.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.layers).toHaveLength(2);
    const model = await load(join(out, 'ffn.wasm'));
    expect(model.run({ x: new Float32Array(8 * 16) }).y!.shape).toEqual([8, 16]);
  });

  it('an unsupported op: one error line, exit 1, nothing written', async () => {
    const out = join(dir, 'never');
    expectOneLineError(await cli(['build', softmax, '-o', out]), "1 Softmax (softmax over an axis other than the last): 'probs'", '[UNSUPPORTED_OP]');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
  });

  it('a symbolic input shape left unbound is a one-line NON_STATIC_SHAPE error', async () => {
    expectOneLineError(await cli(['build', ffn, '-o', join(dir, 'unbound')]), 'NON_STATIC_SHAPE');
  });
});
