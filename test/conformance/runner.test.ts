// The runner's classification on tiny generated tests (no libonnx-testdata needed).

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { encodeTensorProto, saveModel } from '../../frontend/index.js';
import { GraphBuilder } from '../../ir/builder.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { readTestValue } from './data.js';
import { runConformanceTest } from './runner.js';
import { discoverTests } from './suite.js';

const root = mkdtempSync(join(tmpdir(), 'sparsec-runner-'));

/** Write node/<name>/model.onnx with y = Relu(x), x float32 [2], and one data set. */
async function writeReluTest(name: string, input: number[], output: number[], opaque = false): Promise<void> {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [2]);
  const relu = b.node('Relu', [x], { outputs: ['y'], types: [{ dtype: 'float32', shape: [2] }] });
  if (opaque) {
    const custom = b.graph.addNode({ op: 'Opaque', inputs: [relu.outputs[0]], outputs: ['z'], domain: 'com.example', opType: 'Foo', opsetVersion: 1 });
    custom.outputs[0]!.dtype = 'float32';
    custom.outputs[0]!.shape = [2];
    b.output(custom.outputs[0]!);
  } else {
    b.output(relu.outputs[0]!);
  }
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  if (opaque) model.opsets.set('com.example', 1);
  const dir = join(root, 'node', name);
  mkdirSync(join(dir, 'test_data_set_0'), { recursive: true });
  await saveModel(model, join(dir, 'model.onnx'));
  writeFileSync(join(dir, 'test_data_set_0', 'input_0.pb'), encodeTensorProto('x', Tensor.float32(input)));
  writeFileSync(join(dir, 'test_data_set_0', 'output_0.pb'), encodeTensorProto(opaque ? 'z' : 'y', Tensor.float32(output)));
}

async function run(name: string) {
  const test = discoverTests({ root, filter: new RegExp(`^${name}$`) }).tests[0]!;
  return runConformanceTest(test);
}

describe('runConformanceTest', () => {
  it('passes when the outputs match', async () => {
    await writeReluTest('test_ok', [-1, 2], [0, 2]);
    const r = await run('test_ok');
    expect(r.status, r.reason).toBe('pass');
  });

  it('fails with the first mismatch when an output differs', async () => {
    await writeReluTest('test_wrong', [-1, 2], [0, 3]);
    const r = await run('test_wrong');
    expect(r.status).toBe('fail');
    expect(r.mismatch).toMatchObject({ dataSet: 0, output: 'y', count: 1, first: { index: [1], expected: '3', actual: '2' } });
  });

  it('reports ops the executor lacks as unsupported', async () => {
    await writeReluTest('test_custom', [-1, 2], [0, 2], true);
    const r = await run('test_custom');
    expect(r.status).toBe('unsupported');
    expect(r.unsupportedOps).toEqual(['com.example.Foo']);
  });

  it('reports a broken model as an error', async () => {
    const dir = join(root, 'node', 'test_broken');
    mkdirSync(join(dir, 'test_data_set_0'), { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), Uint8Array.of(0xff, 0xff, 0xff));
    expect((await run('test_broken')).status).toBe('error');
  });
});

describe('readTestValue', () => {
  it('reads a SequenceProto of tensors and an empty OptionalProto', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string('seq');
    w.uint32((2 << 3) | 0).int32(1);
    for (const v of [[1, 2], [3]]) w.uint32((3 << 3) | 2).bytes(encodeTensorProto('', Tensor.float32(v)));
    const seqPath = join(root, 'seq.pb');
    writeFileSync(seqPath, w.finish());
    const seq = readTestValue(seqPath, 'sequence');
    expect(seq.name).toBe('seq');
    expect((seq.value as Tensor[]).map((t) => t.toNumbers())).toEqual([[1, 2], [3]]);

    const optPath = join(root, 'opt.pb');
    writeFileSync(optPath, protobuf.Writer.create().uint32((1 << 3) | 2).string('o').finish());
    expect(readTestValue(optPath, 'optional')).toEqual({ name: 'o', value: null });
  });

  it('relabels UINT16 data as the bfloat16 the model declares', () => {
    const path = join(root, 'bf16.pb');
    writeFileSync(path, encodeTensorProto('b', new Tensor('uint16', [1], Uint16Array.of(0x3f80))));
    const t = readTestValue(path, 'tensor', 'bfloat16').value as Tensor;
    expect(t.dtype).toBe('bfloat16');
    expect(t.get(0)).toBe(1);
  });
});
