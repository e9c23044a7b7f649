// Differential testing of the reference executor against onnxruntime-node and torch.
//
// Each fixture folder (written by scripts/make_fixtures.py) holds model.onnx plus sample sets:
// input_<name>.npy / output_<name>.npy at the top level, and a second input shape under shape2/.
// The outputs there were computed by torch at export time.
//
// Tolerance, for every output: max|actual - expected| <= 1e-4 * max(1, max|expected|), that is
// a relative error of 1e-4 measured against the output's largest magnitude (and an absolute
// 1e-4 for outputs smaller than 1). Elementwise relative error would be meaningless for the
// near-zero logits and hidden units that every model has.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readNpy } from '../../ir/npy.js';
import { Tensor } from '../../ir/tensor.js';

export const FIXTURES_DIR = new URL('../../fixtures/', import.meta.url).pathname;
export const RELATIVE_TOLERANCE = 1e-4;

export interface SampleSet {
  /** '' for the top-level set, 'shape2' for the second input shape. */
  readonly label: string;
  readonly inputs: Map<string, Tensor>;
  /** Torch's outputs, by output name. */
  readonly expected: Map<string, Tensor>;
}

export function fixturePath(name: string, ...parts: string[]): string {
  return join(FIXTURES_DIR, name, ...parts);
}

function readNpyFile(path: string): Tensor {
  return readNpy(new Uint8Array(readFileSync(path)), path);
}

/** Reads input_*.npy and output_*.npy of one folder. */
export function readSampleSet(folder: string, label: string): SampleSet {
  const inputs = new Map<string, Tensor>();
  const expected = new Map<string, Tensor>();
  for (const file of readdirSync(folder).sort()) {
    const match = /^(input|output)_(.+)\.npy$/.exec(file);
    if (!match) continue;
    (match[1] === 'input' ? inputs : expected).set(match[2]!, readNpyFile(join(folder, file)));
  }
  return { label, inputs, expected };
}

/** The fixture's sample sets: the top-level one, then shape2/ when present. */
export function sampleSets(name: string): SampleSet[] {
  const sets = [readSampleSet(fixturePath(name), 'shape1')];
  if (existsSync(fixturePath(name, 'shape2'))) sets.push(readSampleSet(fixturePath(name, 'shape2'), 'shape2'));
  return sets;
}

export interface Comparison {
  readonly maxError: number;
  readonly bound: number;
  readonly ok: boolean;
  /** Why the comparison failed before looking at values (shape or dtype mismatch). */
  readonly mismatch?: string;
}

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

/** Compares `actual` with `expected` under the tolerance described at the top of this file. */
export function compare(actual: Tensor, expected: Tensor): Comparison {
  const sameShape = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!sameShape || actual.dtype !== expected.dtype) {
    const describe = (t: Tensor) => `${t.dtype}[${t.shape.join(',')}]`;
    return { maxError: Infinity, bound: 0, ok: false, mismatch: `${describe(actual)} vs ${describe(expected)}` };
  }
  const a = actual.toFloat32();
  const b = expected.toFloat32();
  let maxError = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN anywhere must fail, and NaN comparisons are false, so test for it explicitly.
    maxError = Number.isNaN(d) ? Infinity : Math.max(maxError, d);
  }
  const bound = RELATIVE_TOLERANCE * Math.max(1, maxAbs(b));
  return { maxError, bound, ok: maxError <= bound };
}

function toOrtTensor(t: Tensor): ort.Tensor {
  switch (t.dtype) {
    case 'float32':
      return new ort.Tensor('float32', t.data as Float32Array, [...t.shape]);
    case 'int64':
      return new ort.Tensor('int64', t.data as BigInt64Array, [...t.shape]);
    default:
      throw new Error(`differential harness: no onnxruntime conversion for ${t.dtype}`);
  }
}

function fromOrtTensor(t: ort.Tensor): Tensor {
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return new Tensor('float32', dims, Float32Array.from(t.data as Float32Array));
    case 'int64':
      return new Tensor('int64', dims, BigInt64Array.from(t.data as BigInt64Array));
    default:
      throw new Error(`differential harness: no conversion for onnxruntime type ${t.type}`);
  }
}

/** One run of an onnxruntime session; outputs by name. */
export async function runOrt(session: ort.InferenceSession, inputs: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of inputs) feeds[name] = toOrtTensor(t);
  const results = await session.run(feeds);
  const out = new Map<string, Tensor>();
  for (const name of session.outputNames) out.set(name, fromOrtTensor(results[name]!));
  return out;
}

export function createOrtSession(modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/**
 * Compares every expected output with the actual ones; returns one line per output for the
 * log, and the failures (empty when all match).
 */
export function compareAll(
  actual: ReadonlyMap<string, Tensor>,
  expected: ReadonlyMap<string, Tensor>,
  what: string,
): { lines: string[]; failures: string[] } {
  const lines: string[] = [];
  const failures: string[] = [];
  for (const [name, want] of expected) {
    const got = actual.get(name);
    if (!got) {
      failures.push(`${what}: output ${name} missing`);
      continue;
    }
    const c = compare(got, want);
    const line = `${what} ${name}: max error ${c.maxError.toExponential(2)} (bound ${c.bound.toExponential(2)})`;
    lines.push(line);
    if (!c.ok) failures.push(c.mismatch ? `${what} ${name}: ${c.mismatch}` : line);
  }
  return { lines, failures };
}
