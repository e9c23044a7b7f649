// The CLI, run in-process with captured streams (the test command does not build dist/).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTensorProto, saveModel } from '../frontend/index.js';
import { GraphBuilder } from '../ir/builder.js';
import { Model } from '../ir/graph.js';
import { readNpy, writeNpy } from '../ir/npy.js';
import { Tensor } from '../ir/tensor.js';
import { run } from './main.js';
import { cli, expectOneLineError, sampleFloats, writeTestCase } from './test-helpers.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

const pbTensor = (file: string) => decodeTensorProto(new Uint8Array(readFileSync(file))).tensor;

let tmp: string;
/** Folders in the ONNX test-data layout: sum = x + y, and y = relu(x), on float32[3,4,5]. */
let ADD: string;
let RELU: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsec-cli-'));
  ADD = join(tmp, 'test_add');
  RELU = join(tmp, 'test_relu');
  await writeAddCase(ADD);
  await writeReluCase(RELU);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sparsec basics', () => {
  it('prints help and the version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: sparsec <command>');
    expect(help.stderr).toBe('');
    const runHelp = await cli(['run', '--help']);
    expect(runHelp.stdout).toContain('--input name=file');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout).toBe(`sparsec ${pkg.version}\n`);
  });

  it('rejects unknown flags with exit 1 and one line', async () => {
    expectOneLineError(await cli(['inspect', 'm.onnx', '--frob']), "unknown option '--frob'", '[BAD_OPTION]');
  });

  it('reports internal errors with exit 2, the stack only with SPARSEC_DEBUG=1', async () => {
    const failing = (env: Record<string, string>) => {
      let stderr = '';
      const io = {
        stdout: {
          write: () => {
            throw new Error('boom');
          },
        },
        stderr: { write: (s: string) => (stderr += s) },
        isTTY: false,
        env,
      };
      return run(['--help'], io).then((code) => ({ code, stderr }));
    };
    const plain = await failing({});
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('internal error: boom (this is a bug in sparsec)');
    expect(plain.stderr).not.toMatch(/main\.ts:\d+/);
    const debug = await failing({ SPARSEC_DEBUG: '1' });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/main\.(ts|js):\d+/);
  });

  it('colors diagnostics only on a terminal without NO_COLOR', async () => {
    let stderr = '';
    const io = (env: Record<string, string>) => ({ stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, isTTY: true, env });
    await run(['--nope'], io({}));
    expect(stderr).toContain('\x1b[31m');
    stderr = '';
    await run(['--nope'], io({ NO_COLOR: '1' }));
    expect(stderr).not.toContain('\x1b[');
  });
});

describe('sparsec inspect', () => {
  it('summarizes a model as text', async () => {
    const r = await cli(['inspect', `${ADD}/model.onnx`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`${ADD}/model.onnx`);
    expect(r.stdout).toMatch(/producer\s+sparsec/);
    expect(r.stdout).toMatch(/\n {2}x\s+float32\[3,4,5\]\n {2}y\s+float32\[3,4,5\]\n/);
    expect(r.stdout).toMatch(/ops \(1 node\)\n {2}Add\s+1/);
    expect(r.stdout).toContain('unsupported ops: none');
  });

  it('prints JSON with --json and the IR with --ir', async () => {
    const r = await cli(['inspect', `${ADD}/model.onnx`, '--json', '--ir']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.inputs).toEqual([
      { name: 'x', dtype: 'float32', shape: [3, 4, 5] },
      { name: 'y', dtype: 'float32', shape: [3, 4, 5] },
    ]);
    expect(s.outputs).toEqual([{ name: 'sum', dtype: 'float32', shape: [3, 4, 5] }]);
    expect(s.ops).toEqual({ Add: 1 });
    expect(s.nodes).toBe(1);
    expect(s.opsets['']).toBe(21);
    expect(s.parameters).toEqual({ count: 0, bytes: 0, constants: 0 });
    expect(s.unsupported).toEqual([]);
    expect(s.ir).toMatch(/%sum: float32\[3,4,5\] = Add\(%x, %y\)/);
  });

  it('shows symbolic dims and specializes them with --shape', async () => {
    const model = await symbolicModel();
    const text = await cli(['inspect', model]);
    expect(text.stdout).toMatch(/x\s+float32\[batch,4\]/);
    const r = await cli(['inspect', model, '--json', '--shape', 'x=3,4']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.inputs[0].shape).toEqual(['batch', 4]);
    expect(s.parameters).toEqual({ count: 4, bytes: 16, constants: 1 });
    expect(s.specialized).toEqual({
      bindings: { x: [3, 4] },
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 4] }],
    });
    expectOneLineError(await cli(['inspect', model, '--shape', 'z=3,4']), "input 'z'", model);
    expectOneLineError(await cli(['inspect', model, '--shape', 'x=3']), 'rank 2', model);
  });

  it('lists unsupported ops by node name', async () => {
    const model = await opaqueModel();
    const r = await cli(['inspect', model, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).unsupported).toEqual([{ node: 'mystery', op: 'com.example.Foo' }]);
    expect((await cli(['inspect', model])).stdout).toMatch(/unsupported ops \(1 node\)\n {2}com\.example\.Foo\s+'mystery'/);
  });

  it('fails on a truncated model with one line naming the file', async () => {
    const bytes = readFileSync(`${ADD}/model.onnx`);
    const cut = join(tmp, 'truncated.onnx');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectOneLineError(await cli(['inspect', cut]), cut);
  });

  it('fails on a missing model with one line', async () => {
    expectOneLineError(await cli(['inspect', join(tmp, 'nope.onnx')]), join(tmp, 'nope.onnx'));
  });
});

describe('sparsec run', () => {
  it('runs with TensorProto inputs matched by their stored names', async () => {
    const r = await cli(['run', `${ADD}/model.onnx`, '--input', `${ADD}/test_data_set_0/input_0.pb`, '--input', `${ADD}/test_data_set_0/input_1.pb`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { outputs } = JSON.parse(r.stdout);
    const expected = pbTensor(`${ADD}/test_data_set_0/output_0.pb`).toFloat32();
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject({ name: 'sum', dtype: 'float32', shape: [3, 4, 5] });
    expect(outputs[0].sum).toBeCloseTo(expected.reduce((a, b) => a + b, 0), 3);
    expect(outputs[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs with named .npy inputs and writes outputs to --out', async () => {
    const dir = join(tmp, 'npy-in');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.npy'), writeNpy(pbTensor(`${ADD}/test_data_set_0/input_0.pb`)));
    writeFileSync(join(dir, 'b.npy'), writeNpy(pbTensor(`${ADD}/test_data_set_0/input_1.pb`)));
    const out = join(tmp, 'out-npy');
    const r = await cli(['run', `${ADD}/model.onnx`, '--input', `x=${dir}/a.npy`, '--input', `y=${dir}/b.npy`, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^output\s+dtype\s+shape/);
    expect(r.stdout).toMatch(/\nsum\s+float32\s+\[3,4,5\]/);
    expect(readdirSync(out)).toEqual(['sum.npy']);
    const got = readNpy(new Uint8Array(readFileSync(join(out, 'sum.npy'))));
    expect([...got.toFloat32()]).toEqual([...pbTensor(`${ADD}/test_data_set_0/output_0.pb`).toFloat32()]);
  });

  it('writes TensorProto outputs with --format pb', async () => {
    const out = join(tmp, 'out-pb');
    const r = await cli(['run', `${RELU}/model.onnx`, '--input', `${RELU}/test_data_set_0/input_0.pb`, '--out', out, '--format', 'pb', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const written = readdirSync(out);
    expect(written).toEqual(['y.pb']);
    const { name, tensor } = decodeTensorProto(new Uint8Array(readFileSync(join(out, 'y.pb'))));
    expect(name).toBe('y');
    expect([...tensor.toFloat32()]).toEqual([...pbTensor(`${RELU}/test_data_set_0/output_0.pb`).toFloat32()]);
    expect(JSON.parse(r.stdout).outputs[0].file).toBe(`${out}/y.pb`);
  });

  it('takes an unnamed .npy input for a single-input model', async () => {
    const file = join(tmp, 'relu-in.npy');
    writeFileSync(file, writeNpy(Tensor.float32([-1, 2, -3, 4], [4])));
    const model = await symbolicModel();
    const r = await cli(['run', model, '--input', file, '--json']);
    expectOneLineError(r, file, "input 'x'", 'rank 1');
    const ok = join(tmp, 'relu-ok.npy');
    writeFileSync(ok, writeNpy(Tensor.float32([-1, 2, -3, 4], [1, 4])));
    const r2 = await cli(['run', model, '--input', ok, '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    // y = relu(x) + [1, 1, 1, 1]
    expect(JSON.parse(r2.stdout).outputs[0]).toMatchObject({ name: 'y', shape: [1, 4], sum: 10, min: 1, max: 5 });
  });

  it('specializes with --shape before running, checking inputs against it', async () => {
    const model = await symbolicModel();
    const file = join(tmp, 'shape-in.npy');
    writeFileSync(file, writeNpy(Tensor.float32([-1, 2, -3, 4, 5, -6, 7, -8], [2, 4])));
    const ok = await cli(['run', model, '--input', `x=${file}`, '--shape', 'x=2,4', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).outputs[0]).toMatchObject({ shape: [2, 4], sum: 26 });
    expectOneLineError(await cli(['run', model, '--input', `x=${file}`, '--shape', 'x=3,4']), file, "input 'x'", 'size 2');
  });

  it('rejects a wrong input shape with one line and writes nothing', async () => {
    const bad = join(tmp, 'bad-shape.npy');
    writeFileSync(bad, writeNpy(Tensor.float32([1, 2, 3, 4], [2, 2])));
    const out = join(tmp, 'never-written');
    const r = await cli(['run', `${ADD}/model.onnx`, '--input', `x=${bad}`, '--input', `y=${ADD}/test_data_set_0/input_1.pb`, '--out', out]);
    expectOneLineError(r, bad, "input 'x'");
    expect(existsSync(out)).toBe(false);
  });

  it('rejects a wrong input dtype with one line', async () => {
    const bad = join(tmp, 'bad-dtype.npy');
    writeFileSync(bad, writeNpy(new Tensor('int32', [3, 4, 5], new Int32Array(60))));
    const r = await cli(['run', `${ADD}/model.onnx`, '--input', `x=${bad}`, '--input', `y=${ADD}/test_data_set_0/input_1.pb`]);
    expectOneLineError(r, bad, 'int32');
  });

  it('reports missing and unknown inputs and files in one line', async () => {
    const model = `${ADD}/model.onnx`;
    const x = `${ADD}/test_data_set_0/input_0.pb`;
    expectOneLineError(await cli(['run', model, '--input', `x=${x}`]), "missing input 'y'", '--input y=');
    expectOneLineError(await cli(['run', model, '--input', `x=${x}`, '--input', `q=${x}`]), "input 'q'");
    expectOneLineError(await cli(['run', model, '--input', `x=${join(tmp, 'absent.npy')}`]), join(tmp, 'absent.npy'), 'does not exist');
    const junk = join(tmp, 'junk.bin');
    writeFileSync(junk, 'definitely not a tensor \xff\xff\xff\xff');
    expectOneLineError(await cli(['run', model, '--input', `x=${junk}`]), junk);
  });

  it('refuses models with unsupported ops before running, naming the node', async () => {
    const model = await opaqueModel();
    const file = join(tmp, 'one.npy');
    writeFileSync(file, writeNpy(Tensor.float32([1])));
    const out = join(tmp, 'unsupported-out');
    expectOneLineError(await cli(['run', model, '--input', file, '--out', out]), model, "node 'mystery'", 'com.example.Foo', '[UNSUPPORTED_OP]');
    expect(existsSync(out)).toBe(false);
  });

  it('fails on a truncated model without writing outputs', async () => {
    const bytes = readFileSync(`${ADD}/model.onnx`);
    const cut = join(tmp, 'truncated-run.onnx');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
    const out = join(tmp, 'truncated-out');
    expectOneLineError(await cli(['run', cut, '--input', `${ADD}/test_data_set_0/input_0.pb`, '--out', out]), cut);
    expect(existsSync(out)).toBe(false);
  });
});

// ---- fixture models (exported by torch) ----

const fixtures = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'model.onnx')));

describe('sparsec on fixture models', () => {
  it('finds the fixtures', () => {
    expect(fixtures).toEqual(expect.arrayContaining(['bert', 'gpt2', 'llama', 'mobilenet', 'moe']));
  });

  it.each(fixtures)('inspects %s', async (name) => {
    const file = join(FIXTURES, name, 'model.onnx');
    const r = await cli(['inspect', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    const meta = JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')) as { parameters: number; ops: Record<string, number> };
    // Initializers hold at least torch's parameters (plus buffers such as BatchNorm statistics).
    expect(s.parameters.count).toBeGreaterThanOrEqual(meta.parameters);
    // Ops the frontend keeps as they are keep their counts.
    for (const op of ['Conv', 'Gemm', 'MatMul', 'LayerNormalization', 'Softmax']) {
      if (meta.ops[op] !== undefined) expect(s.ops[op], op).toBe(meta.ops[op]);
    }
    expect(s.inputs.some((i: { shape: unknown[] }) => i.shape.some((d) => typeof d === 'string'))).toBe(true);
  });

  it('runs mobilenet and matches torch', async () => {
    const dir = join(FIXTURES, 'mobilenet');
    const out = join(tmp, 'mobilenet-out');
    const r = await cli(['run', join(dir, 'model.onnx'), '--input', join(dir, 'input_input.npy'), '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const got = readNpy(new Uint8Array(readFileSync(join(out, 'logits.npy')))).toFloat32();
    const want = readNpy(new Uint8Array(readFileSync(join(dir, 'output_logits.npy')))).toFloat32();
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3 + 1e-3 * Math.abs(want[i]!));
  });
});

// ---- small models built here ----

async function writeAddCase(dir: string): Promise<void> {
  const shape = [3, 4, 5];
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', shape);
  const y = b.input('y', 'float32', shape);
  b.output(b.node('Add', [x, y], { outputs: ['sum'], types: [{ dtype: 'float32', shape }] }).outputs[0]!);
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  const a = sampleFloats(shape);
  const c = sampleFloats(shape).reverse();
  await writeTestCase(dir, model, [Tensor.float32(a, shape), Tensor.float32(c, shape)], [Tensor.float32(a.map((v, i) => v + c[i]!), shape)]);
}

async function writeReluCase(dir: string): Promise<void> {
  const shape = [3, 4, 5];
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', shape);
  b.output(b.node('Relu', [x], { outputs: ['y'], types: [{ dtype: 'float32', shape }] }).outputs[0]!);
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  const values = sampleFloats(shape);
  await writeTestCase(dir, model, [Tensor.float32(values, shape)], [Tensor.float32(values.map((v) => Math.max(v, 0)), shape)]);
}

/** y = relu(x) + 1 with x: float32[batch, 4]. */
async function symbolicModel(): Promise<string> {
  const file = join(tmp, 'symbolic.onnx');
  if (existsSync(file)) return file;
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', ['batch', 4]);
  const one = b.constant('one', Tensor.float32([1, 1, 1, 1]));
  const r = b.op('Relu', [x], { types: [{ dtype: 'float32', shape: ['batch', 4] }] });
  const y = b.node('Add', [r, one], { outputs: ['y'], types: [{ dtype: 'float32', shape: ['batch', 4] }] }).outputs[0]!;
  b.output(y);
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  await saveModel(model, file);
  return file;
}

/** A model with one node of an unknown domain. */
async function opaqueModel(): Promise<string> {
  const file = join(tmp, 'opaque.onnx');
  if (existsSync(file)) return file;
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', [1]);
  const node = b.graph.addNode({ op: 'Opaque', inputs: [x], outputs: ['y'], name: 'mystery', domain: 'com.example', opType: 'Foo', opsetVersion: 1 });
  node.outputs[0]!.dtype = 'float32';
  node.outputs[0]!.shape = [1];
  b.output(node.outputs[0]!);
  const model = new Model(b.graph);
  model.opsets.set('', 21);
  model.opsets.set('com.example', 1);
  await saveModel(model, file);
  return file;
}
