// sparsec prune-experts, its handler run in-process on fixtures/moe with a few token windows.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { formatDiagnostic, SparsecError } from '../../ir/diagnostics.js';
import { readNpy, writeNpy } from '../../ir/npy.js';
import { Tensor } from '../../ir/tensor.js';
import { canonicalStructure } from '../../passes/structure/canonical.js';
import type { MoeBlock } from '../../passes/structure/types.js';
import type { CommandContext } from '../context.js';
import { colors } from '../format.js';
import { pruneExperts, type PruneExpertsOptions } from './prune-experts.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;
const MOE = join(FIXTURES, 'moe/model.onnx');

/** The first `count` windows of a fixture token file, saved as their own .npy. */
function windowsFile(dir: string, name: string, count: number): string {
  const all = readNpy(new Uint8Array(readFileSync(join(FIXTURES, 'moe', `${name}.npy`))));
  const width = all.shape[1]!;
  const part = new Tensor('int64', [count, width], (all.data as BigInt64Array).slice(0, count * width));
  const file = join(dir, `${name}-${count}.npy`);
  writeFileSync(file, writeNpy(part));
  return file;
}

function capture(): CommandContext & { out: string[]; warnings: string[] } {
  const out: string[] = [];
  const warnings: string[] = [];
  return {
    out,
    warnings,
    print: (t) => out.push(t),
    warn: (d) => warnings.push(formatDiagnostic(d)),
    progress: { update() {}, clear() {} },
    colors: colors(false),
  };
}

let tmp: string;
let calib: string;
let evalData: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsec-experts-'));
  calib = windowsFile(tmp, 'calib_tokens', 4);
  evalData = windowsFile(tmp, 'eval_tokens', 2);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const options = (o: Partial<PruneExpertsOptions>): PruneExpertsOptions => ({
  model: MOE,
  out: join(tmp, 'out.onnx'),
  keep: 6,
  merge: false,
  calib: [],
  calibBatch: 2,
  json: false,
  noSpeed: true,
  ...o,
});

async function moeBlocksOf(file: string): Promise<MoeBlock[]> {
  const { structure } = canonicalStructure(await loadModel(file));
  return structure.layers.flatMap((l) => l.sublayers.filter((s): s is MoeBlock => s.kind === 'moe'));
}

describe('sparsec prune-experts', () => {
  it('writes the pruned model and prints the routing table, parameters and perplexity', async () => {
    const ctx = capture();
    const out = join(tmp, 'keep6.onnx');
    await pruneExperts(options({ out, calib: [calib], eval: evalData }), ctx);
    const text = ctx.out.join('\n');
    expect(text).toMatch(/^calibration: 4 samples/);
    expect(text).toMatch(/layer 0: router '.*', 8 -> 6 experts, top-2, ranked by gate mass over 256 tokens/);
    expect(text.match(/dropped/g)).toHaveLength(4);
    expect(text.match(/kept \(now \d\)/g)).toHaveLength(12);
    expect(text).toContain('parameters  255,296 -> 205,888 (-19.35%)');
    expect(text).toMatch(/perplexity {2}\d+\.\d+ -> \d+\.\d+ \([+-]\d+\.\d+%\)/);
    expect(ctx.warnings).toEqual([]);

    const blocks = await moeBlocksOf(out);
    expect(blocks.map((b) => [b.experts.length, b.k, b.form])).toEqual([[6, 2, 'dense'], [6, 2, 'dense']]);
    expect(blocks.map((b) => b.router.inputs[1]!.const!.shape)).toEqual([[64, 6], [64, 6]]);
  });

  it('--json reports every layer, and --keep 1 clamps k', async () => {
    const ctx = capture();
    const out = join(tmp, 'keep1.onnx');
    await pruneExperts(options({ out, keep: 1, calib: [{ file: calib }], rank: 'frequency', json: true }), ctx);
    const report = JSON.parse(ctx.out.join(''));
    expect(report.layers).toHaveLength(2);
    for (const l of report.layers) {
      expect(l.rankedBy).toBe('frequency');
      expect(l.kept).toHaveLength(1);
      expect(l.k).toEqual({ before: 2, after: 1 });
      expect(l.frequency).toHaveLength(8);
    }
    expect(report.parameters.after).toBeLessThan(report.parameters.before);
    expect((await moeBlocksOf(out)).map((b) => b.k)).toEqual([1, 1]);
  });

  it('without --calib ranks by router weight norms and says so', async () => {
    const ctx = capture();
    await pruneExperts(options({}), ctx);
    expect(ctx.out.join('\n')).toMatch(/^no --calib: experts ranked by the norms of their router weights/);
    expect(ctx.out.join('\n')).toContain('ranked by router weight norm');
  });

  it('--merge reports per layer whether a merge was applied', async () => {
    const ctx = capture();
    await pruneExperts(options({ calib: [calib], merge: true }), ctx);
    const merges = ctx.out.join('\n').match(/^merge: .*$/gm) ?? [];
    expect(merges).toHaveLength(2);
    for (const m of merges) expect(m).toMatch(/(applied|not applied); held-out block output error: dropped \d/);
  });

  it.each([
    [{ model: join(FIXTURES, 'llama/model.onnx') }, 'is not a mixture-of-experts model'],
    [{ keep: 0 }, '--keep must be a positive integer'],
    [{ merge: true }, '--merge needs --calib'],
    [{ rank: 'error' as const }, '--rank error needs --calib'],
  ])('one-line error: %o', async (o, text) => {
    const out = join(tmp, 'never.onnx');
    const run = pruneExperts(options({ ...o, out }), capture());
    await expect(run).rejects.toThrow(SparsecError);
    const e = (await run.catch((x: unknown) => x)) as SparsecError;
    const line = formatDiagnostic(e.diagnostic);
    expect(line).toContain(text);
    expect(line.split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
