// pruneModel on the fixture language models: every pattern with every method. The invariants
// are checked on the model as saved (encoded and decoded again): the pattern holds on every
// pruned weight, every weight left alone is bit-identical, and onnxruntime runs the export and
// agrees with the reference executor.

import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../../frontend/index.js';
import { SparsecError } from '../../../ir/diagnostics.js';
import { execute } from '../../../ir/executor/index.js';
import type { Model } from '../../../ir/graph.js';
import type { Tensor } from '../../../ir/tensor.js';
import { findWeights } from '../../analysis/weights.js';
import { findViolation, parsePattern, pruneModel, type PruneMethod, type PruneReport } from '../index.js';
import { fixtureModel, runInOrt, tokenBatch, tokenWindows } from './lm-fixtures.js';

const PATTERNS = ['unstructured:0.7', '2:4', '4:8', '1:4', 'block:4x1:0.8'];
const METHODS: PruneMethod[] = ['magnitude', 'wanda', 'sparsegpt'];

/** One small calibration batch keeps the suite fast; quality is measured elsewhere. */
function calibration(name: string) {
  return [tokenBatch(tokenWindows(name, 'calib_tokens'), 0, 2, 32)];
}

/** The raw bytes of a constant (every fixture constant is numeric). */
function rawBytes(t: Tensor): Uint8Array {
  const d = t.data as Exclude<Tensor['data'], string[]>;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function constants(model: Model): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [name, v] of model.graph.constants) {
    out.set(name, rawBytes(v.const!).slice());
  }
  return out;
}

/** Check the saved form of a pruned model against its report and the original constants. */
async function checkSaved(pruned: Model, report: PruneReport, original: Map<string, Uint8Array>, patternText: string, fixture: string, withOrt = true): Promise<void> {
  const pattern = parsePattern(patternText);
  const saved = decodeModel(encodeModel(pruned));
  const views = new Map(findWeights(saved.graph).map((v) => [v.name, v]));
  const prunedNames = new Set(report.layers.filter((l) => l.skipped === undefined).map((l) => l.name));
  expect(prunedNames.size).toBeGreaterThan(0);
  for (const name of prunedNames) {
    const v = views.get(name)!;
    expect(findViolation(v.read(), v.rows, v.cols, pattern), `${name}`).toBeUndefined();
  }
  for (const [name, v] of saved.graph.constants) {
    if (prunedNames.has(name)) continue;
    expect(rawBytes(v.const!), `${name} unchanged`).toEqual(original.get(name));
  }
  if (!withOrt) return;
  const ids = tokenBatch(tokenWindows(fixture, 'eval_tokens'), 0, 1, 16).get('input_ids')!;
  const reference = execute(saved.graph, { input_ids: ids }).get('logits')!.toFloat32();
  const fromOrt = await runInOrt(saved, ids);
  let maxRef = 0;
  let maxDiff = 0;
  reference.forEach((x, i) => {
    maxRef = Math.max(maxRef, Math.abs(x));
    maxDiff = Math.max(maxDiff, Math.abs(x - fromOrt[i]!));
  });
  expect(maxDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, maxRef));
}

/** Check a pruned model; onnxruntime runs the export where `withOrt` (it is the slow part). */
async function pruneAndCheck(fixture: string, patternText: string, method: PruneMethod, original: Map<string, Uint8Array>, withOrt: boolean): Promise<void> {
  const model = fixtureModel(fixture);
  const report = pruneModel(model, {
    pattern: parsePattern(patternText),
    method,
    ...(method === 'magnitude' ? {} : { calib: calibration(fixture) }),
  });
  // Embeddings and the head stay dense by default.
  for (const l of report.layers) {
    if (l.role === 'embedding') expect(l.skipped).toBe('embedding');
    if (l.role === 'head') expect(l.skipped).toBe('head');
  }
  expect(report.layers.some((l) => l.role === 'head')).toBe(true);
  for (const l of report.layers.filter((x) => x.skipped === undefined)) {
    if (method !== 'magnitude') expect(l.relError).toBeGreaterThan(0);
    // N:M and unstructured land exactly on the target (every fixture width is a multiple of 8).
    if (patternText !== 'block:4x1:0.8') expect(l.sparsity).toBeCloseTo(sparsityOf(patternText), 2);
  }
  await checkSaved(model, report, original, patternText, fixture, withOrt);
}

describe('pruneModel on gpt2: every pattern with every method', () => {
  const original = constants(fixtureModel('gpt2'));
  describe.each(PATTERNS)('%s', (patternText) => {
    it.each(METHODS)('%s: pattern holds, the rest is untouched', async (method) => {
      await pruneAndCheck('gpt2', patternText, method, original, method === 'magnitude' || patternText === '2:4');
    });
  });
});

describe('pruneModel on llama: every pattern, methods in turn', () => {
  const original = constants(fixtureModel('llama'));
  it.each(PATTERNS.map((p, i) => [p, METHODS[i % METHODS.length]!] as const))('%s with %s: pattern holds, the rest is untouched, onnxruntime runs it', async (patternText, method) => {
    await pruneAndCheck('llama', patternText, method, original, true);
  });
});

function sparsityOf(text: string): number {
  const p = parsePattern(text);
  return p.kind === 'nm' ? 1 - p.n / p.m : p.ratio;
}

describe('pruneModel options', () => {
  it('--only and --skip globs choose the layers; skipped ones stay bit-identical', async () => {
    const model = fixtureModel('llama');
    const original = constants(model);
    const all = findWeights(model.graph).filter((v) => v.role === 'hidden');
    const mlp = all.filter((v) => /mlp|ffn|gate|up|down/i.test(`${v.name} ${v.node.name}`));
    expect(mlp.length).toBeGreaterThan(0);
    const target = mlp[0]!;
    const report = pruneModel(model, { pattern: parsePattern('2:4'), method: 'magnitude', only: [`${target.node.name.slice(0, -2)}*`], skip: ['*k_proj*'] });
    const pruned = report.layers.filter((l) => l.skipped === undefined);
    expect(pruned.map((l) => l.node)).toContain(target.node.name);
    expect(pruned.every((l) => !l.node.includes('k_proj'))).toBe(true);
    expect(report.layers.filter((l) => l.skipped === 'only').length).toBeGreaterThan(0);
    await checkSaved(model, report, original, '2:4', 'llama', false);
  });

  it('includeHead and includeEmbeddings prune those too', () => {
    const model = fixtureModel('llama');
    const report = pruneModel(model, { pattern: parsePattern('2:4'), method: 'magnitude', includeHead: true, includeEmbeddings: true });
    expect(report.layers.every((l) => l.skipped === undefined || l.skipped === 'shared')).toBe(true);
  });

  it('global allocation reaches the ratio over all pruned layers, not in each', () => {
    const model = fixtureModel('gpt2');
    const report = pruneModel(model, { pattern: parsePattern('unstructured:0.6'), method: 'magnitude', allocation: 'global' });
    expect(report.prunedZeros).toBe(Math.round(0.6 * report.prunedWeights));
    const sparsities = report.layers.filter((l) => l.skipped === undefined).map((l) => l.sparsity);
    expect(Math.max(...sparsities) - Math.min(...sparsities)).toBeGreaterThan(0.05);
  });

  it.each([
    [{ method: 'wanda' as const, pattern: '2:4' }, /needs calibration data/],
    [{ method: 'sparsegpt' as const, pattern: '2:4' }, /needs calibration data/],
    [{ method: 'magnitude' as const, pattern: '2:4', allocation: 'global' as const }, /global allocation works with unstructured magnitude/],
    [{ method: 'magnitude' as const, pattern: '2:4', only: ['/model/layers.0/*'] }, /--only '\/model\/layers.0\/\*' matches no weight or node name/],
    [{ method: 'magnitude' as const, pattern: '2:4', skip: ['*MatMul*', 'nothing*'] }, /--skip 'nothing\*' matches no weight/],
  ])('rejects %j', (o, message) => {
    const run = () => pruneModel(fixtureModel('gpt2'), { ...o, pattern: parsePattern(o.pattern) });
    expect(run).toThrow(SparsecError);
    expect(run).toThrow(message);
  });
});

describe('pruneModel on moe', () => {
  it('2:4 sparsegpt prunes every expert', async () => {
    const model = fixtureModel('moe');
    const report = pruneModel(model, { pattern: parsePattern('2:4'), method: 'sparsegpt', calib: calibration('moe') });
    const pruned = report.layers.filter((l) => l.skipped === undefined);
    expect(pruned.length).toBeGreaterThanOrEqual(2 * 8 * 3);
    await checkSaved(model, report, constants(fixtureModel('moe')), '2:4', 'moe');
  });
});
