// Helpers for the CLI tests: run `sparsec` in-process with captured streams (the test command
// does not build dist/), check the shape of a user error, and write small models in the ONNX
// test-data layout so the tests do not depend on the system's conformance suite.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { encodeTensorProto, saveModel } from '../frontend/index.js';
import type { Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { run } from './main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `sparsec argv` in-process, not on a terminal, with `env` as its whole environment. */
export async function cli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    isTTY: false,
    env,
  });
  return { code, stdout, stderr };
}

/** A user error: exit 1, nothing on stdout, exactly one diagnostic line on stderr, no stack. */
export function expectOneLineError(r: CliResult, ...parts: string[]): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/);
  for (const p of parts) expect(lines[0]).toContain(p);
}

/**
 * Write `dir/model.onnx` and `dir/test_data_set_0/{input,output}_K.pb`, as the ONNX backend
 * tests lay them out; each TensorProto is stored under its graph value's name.
 */
export async function writeTestCase(dir: string, model: Model, inputs: readonly Tensor[], outputs: readonly Tensor[]): Promise<void> {
  const set = join(dir, 'test_data_set_0');
  mkdirSync(set, { recursive: true });
  await saveModel(model, join(dir, 'model.onnx'));
  inputs.forEach((t, k) => writeFileSync(join(set, `input_${k}.pb`), encodeTensorProto(model.graph.inputs[k]!.name, t)));
  outputs.forEach((t, k) => writeFileSync(join(set, `output_${k}.pb`), encodeTensorProto(model.graph.outputs[k]!.name, t)));
}

/** Deterministic float32 values in [-3, 2.75], negatives and fractions included. */
export function sampleFloats(shape: number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, (_, i) => (((i * 37) % 24) - 12) / 4);
}
