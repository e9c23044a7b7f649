// `sparsec build --tune`, through the command function (the flag reaches it from cli/args.ts):
// the summary says which layers were timed and shows their times; the manifest keeps them.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../codegen/artifacts.js';
import { mlpModel } from '../../codegen/test/mlp.js';
import { saveModel } from '../../frontend/index.js';
import { SparsecError } from '../../ir/diagnostics.js';
import { commandContext } from '../context.js';
import type { BuildOptions } from '../args.js';
import { build } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'sparsec-build-tune-'));
const onnx = join(dir, 'ffn.onnx');

beforeAll(async () => {
  await saveModel(mlpModel({ tokens: 16, d: 64, hidden: 256, pruning: '2:4' }), onnx);
});

async function runBuild(opts: Partial<BuildOptions>): Promise<string> {
  let stdout = '';
  const ctx = commandContext({ stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => true }, isTTY: false }, {});
  await build({ model: onnx, out: join(dir, 'out'), shapes: [], format: 'auto', json: false, ...opts }, ctx);
  return stdout;
}

describe('sparsec build --tune', () => {
  it('times the close layouts of each weight, prints the times and records them in the manifest', async () => {
    const stdout = await runBuild({ tune: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'ffn.json'), 'utf8')) as Manifest;
    // 2:4 weights have several layouts estimated close: each is timed.
    const changed = manifest.layers.filter((l) => l.layout !== l.tuned!.estimated).length;
    expect(stdout).toContain(`tuned 2 of 2 layers by timing them here; ${changed} took another layout than the cost model's`);
    for (const l of manifest.layers) {
      expect(Object.keys(l.tuned!.ms)).toContain(l.layout);
      expect(stdout).toContain(l.reason);
      expect(l.reason).toMatch(/^50\.0% dense: timed (dense|csr|bsr|nm) [\d.]+ ms, /);
    }
  });

  it('without --tune nothing is timed', async () => {
    const stdout = await runBuild({});
    expect(stdout).not.toContain('tuned');
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'ffn.json'), 'utf8')) as Manifest;
    expect(manifest.layers.every((l) => l.tuned === undefined && l.reason.includes('estimated'))).toBe(true);
  });

  it('refuses --tune with a fixed --format', async () => {
    const failure = await runBuild({ tune: true, format: 'csr' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SparsecError);
    expect((failure as SparsecError).diagnostic).toMatchObject({ code: 'BAD_OPTION', text: expect.stringContaining('--format csr fixes them all') });
  });
});
