import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverTests } from './suite.js';

/** A fake data root: one runnable test with 11 inputs, one download-only folder. */
function fakeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'sparsec-conformance-'));
  const ds = join(root, 'node', 'test_many_inputs', 'test_data_set_0');
  mkdirSync(ds, { recursive: true });
  writeFileSync(join(root, 'node', 'test_many_inputs', 'model.onnx'), '');
  for (let k = 0; k < 11; k++) writeFileSync(join(ds, `input_${k}.pb`), '');
  writeFileSync(join(ds, 'output_0.pb'), '');
  mkdirSync(join(root, 'node', 'test_other', 'test_data_set_0'), { recursive: true });
  writeFileSync(join(root, 'node', 'test_other', 'model.onnx'), '');
  mkdirSync(join(root, 'real', 'test_resnet50'), { recursive: true });
  writeFileSync(join(root, 'real', 'test_resnet50', 'data.json'), '{}');
  return root;
}

describe('discoverTests', () => {
  const root = fakeRoot();

  it('lists tests with their data files in numeric order', () => {
    const { tests } = discoverTests({ root });
    expect(tests.map((t) => t.id)).toEqual(['node/test_many_inputs', 'node/test_other']);
    const inputs = tests[0]!.dataSets[0]!.inputs.map((p) => p.slice(p.lastIndexOf('/') + 1));
    expect(inputs.slice(9)).toEqual(['input_9.pb', 'input_10.pb']);
    expect(tests[0]!.dataSets[0]!.outputs).toHaveLength(1);
  });

  it('reports download-only folders as skipped', () => {
    expect(discoverTests({ root }).skipped).toEqual([{ id: 'real/test_resnet50', reason: 'model not shipped (download-only)' }]);
  });

  it('filters by name or id', () => {
    expect(discoverTests({ root, filter: /^test_other$/ }).tests.map((t) => t.name)).toEqual(['test_other']);
    expect(discoverTests({ root, filter: /^node\/test_many/ }).tests).toHaveLength(1);
    expect(discoverTests({ root, groups: ['simple'] }).tests).toHaveLength(0);
  });
});
