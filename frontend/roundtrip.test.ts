// Round trip through onnxruntime: every conformance-suite model that onnxruntime runs as
// written must run after import -> export too, with the same outputs on test_data_set_0.
// Models onnxruntime rejects in their original form are skipped (and counted).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import type { Tensor } from '../ir/tensor.js';
import { decodeModel, decodeTensorProto, encodeModel } from './index.js';

const ROOT = '/usr/share/libonnx-testdata/data';
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];
const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

function toOrt(t: Tensor): ort.Tensor | undefined {
  if (!ORT_TYPES.has(t.dtype)) return undefined;
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.shape]);
}

/** Equal, or within 1e-6 (relative for large values) for floats; NaN equals NaN. */
function sameOutputs(a: ort.Tensor, b: ort.Tensor): string | undefined {
  if (a.type !== b.type) return `type ${a.type} vs ${b.type}`;
  if (a.dims.join() !== b.dims.join()) return `shape [${a.dims}] vs [${b.dims}]`;
  const x = a.data as ArrayLike<unknown>;
  const y = b.data as ArrayLike<unknown>;
  for (let i = 0; i < x.length; i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') {
      if (Number.isNaN(p) && Number.isNaN(q)) continue;
      if (Math.abs(p - q) <= 1e-6 * Math.max(1, Math.abs(p))) continue;
    }
    return `element ${i}: ${String(p)} vs ${String(q)}`;
  }
  return undefined;
}

async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  return session.run(feeds);
}

interface Outcome {
  kind: 'pass' | 'loads' | 'skip' | 'fail';
  reason?: string;
}

/** For models ORT loads but whose inputs it cannot take (sequences): the export must load too. */
async function loadsAfterExport(bytes: Uint8Array, dir: string, why: string): Promise<Outcome> {
  try {
    const session = await ort.InferenceSession.create(encodeModel(decodeModel(bytes, { file: dir })), { logSeverityLevel: 3 });
    await session.release();
    return { kind: 'loads', reason: why };
  } catch (e) {
    return { kind: 'fail', reason: `exported model does not load: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function roundTrip(dir: string): Promise<Outcome> {
  const bytes = fs.readFileSync(path.join(dir, 'model.onnx'));
  const dataDir = path.join(dir, 'test_data_set_0');
  if (!fs.existsSync(dataDir)) return { kind: 'skip', reason: 'no test data' };
  let original: ort.InferenceSession;
  try {
    original = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  } catch (e) {
    return { kind: 'skip', reason: `ORT rejects the original: ${(e as Error).message.split('\n')[0]}` };
  }
  const feeds: Record<string, ort.Tensor> = {};
  const inputFiles = fs.readdirSync(dataDir).filter((f) => f.startsWith('input_')).sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)));
  for (const [i, f] of inputFiles.entries()) {
    let t: ort.Tensor | undefined;
    let name = '';
    try {
      const decoded = decodeTensorProto(fs.readFileSync(path.join(dataDir, f)));
      t = toOrt(decoded.tensor);
      name = decoded.name;
    } catch {
      t = undefined;
    }
    if (!t) return loadsAfterExport(bytes, dir, `input ${f} is not a tensor ORT takes`);
    feeds[original.inputNames.includes(name) ? name : original.inputNames[i]!] = t;
  }
  let expected: Record<string, ort.Tensor>;
  try {
    expected = await run(original, feeds);
  } catch (e) {
    return { kind: 'skip', reason: `ORT cannot run the original: ${(e as Error).message.split('\n')[0]}` };
  }
  await original.release();

  let exported: Uint8Array;
  try {
    exported = encodeModel(decodeModel(bytes, { file: dir }));
  } catch (e) {
    return { kind: 'fail', reason: `import/export: ${(e as Error).message}` };
  }
  let actual: Record<string, ort.Tensor>;
  try {
    const session = await ort.InferenceSession.create(exported, { logSeverityLevel: 3 });
    actual = await run(session, feeds);
    await session.release();
  } catch (e) {
    return { kind: 'fail', reason: `ORT on the exported model: ${(e as Error).message.split('\n')[0]}` };
  }
  for (const [name, t] of Object.entries(expected)) {
    const other = actual[name];
    if (!other) return { kind: 'fail', reason: `output '${name}' missing after export` };
    const diff = sameOutputs(t, other);
    if (diff) return { kind: 'fail', reason: `output '${name}': ${diff}` };
  }
  return { kind: 'pass' };
}

describe('ONNX round trip through onnxruntime', () => {
  test('every model ORT runs still runs, with the same outputs, after import -> export', async () => {
    const counts = { pass: 0, loads: 0, skip: 0, fail: 0 };
    const failures: string[] = [];
    for (const suite of SUITES) {
      const base = path.join(ROOT, suite);
      if (!fs.existsSync(base)) continue;
      for (const test of fs.readdirSync(base).sort()) {
        const outcome = await roundTrip(path.join(base, test));
        counts[outcome.kind]++;
        if (outcome.kind === 'fail') failures.push(`${suite}/${test}: ${outcome.reason}`);
        if (outcome.kind === 'skip' && process.env.SHOW_SKIPS) console.log(`skip ${suite}/${test}: ${outcome.reason}`);
      }
    }
    console.log(
      `round trip: ${counts.pass} identical, ${counts.loads} load (inputs ORT cannot feed), ${counts.fail} failed, ` +
        `${counts.skip} skipped (ORT rejects the original)`,
    );
    expect(failures).toEqual([]);
    expect(counts.pass).toBeGreaterThan(0);
  }, 120_000);
});
