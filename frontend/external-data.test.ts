import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SparsecError, type Diagnostic } from '../ir/diagnostics.js';
import { Graph, Model } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { checkProtobufSize } from './external-data.js';
import { decodeModel, loadModel, saveModel } from './index.js';
import { DataLocationCode, DataTypeCode } from './schema.js';
import { modelBytes, node, tensorInfo } from './testing.js';

let root: string;
let modelDir: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sparsec-ext-'));
  modelDir = path.join(root, 'model');
  fs.mkdirSync(modelDir);
  const weights = new Float32Array([1, 2, 3, 4, 5, 6]);
  fs.writeFileSync(path.join(modelDir, 'w.bin'), Buffer.concat([Buffer.alloc(8), Buffer.from(weights.buffer)]));
  fs.writeFileSync(path.join(root, 'outside.bin'), Buffer.from(weights.buffer));
  fs.symlinkSync(path.join(root, 'outside.bin'), path.join(modelDir, 'escape.bin'));
  fs.symlinkSync(path.join(modelDir, 'w.bin'), path.join(modelDir, 'alias.bin'));
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A model computing y = x + W where W [6] lives in external data at `location`. */
function writeModel(name: string, location: string, offset = 8, length?: number): string {
  const entries = [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    ...(length !== undefined ? [{ key: 'length', value: String(length) }] : []),
  ];
  const bytes = modelBytes({
    nodes: [node('Add', ['x', 'W'], ['y'])],
    inputs: [tensorInfo('x', DataTypeCode.FLOAT, [6])],
    outputs: [tensorInfo('y', DataTypeCode.FLOAT, [6])],
    initializers: [{ name: 'W', dataType: DataTypeCode.FLOAT, dims: [6], dataLocation: DataLocationCode.EXTERNAL, externalData: entries }],
  });
  const file = path.join(modelDir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

async function loadError(file: string): Promise<Diagnostic> {
  try {
    await loadModel(file);
  } catch (e) {
    expect(e).toBeInstanceOf(SparsecError);
    return (e as SparsecError).diagnostic;
  }
  throw new Error('expected loadModel to fail');
}

const weightsOf = (m: Model): number[] => Array.from(m.graph.constants.get('W')!.const!.data as Float32Array);

describe('external data', () => {
  test('a file inside the model folder is read at its offset', async () => {
    expect(weightsOf(await loadModel(writeModel('ok.onnx', 'w.bin')))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('chunked reads give the same bytes', async () => {
    const m = await loadModel(writeModel('chunked.onnx', 'w.bin'), { chunkBytes: 5 });
    expect(weightsOf(m)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('a symlink that stays inside the folder is fine', async () => {
    expect(weightsOf(await loadModel(writeModel('alias.onnx', 'alias.bin')))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('absolute locations are rejected', async () => {
    const d = await loadError(writeModel('abs.onnx', path.join(root, 'outside.bin'), 0));
    expect(d.code).toBe('EXTERNAL_DATA');
    expect(d.text).toMatch(/absolute path/);
    expect(d.location?.file).toMatch(/abs\.onnx$/);
    expect(d.location?.value).toBe('W');
    expect(d.hint).toMatch(/inside the model's folder/);
  });

  test('.. segments leaving the folder are rejected', async () => {
    const d = await loadError(writeModel('dotdot.onnx', '../outside.bin', 0));
    expect(d.code).toBe('EXTERNAL_DATA');
    expect(d.text).toMatch(/outside the model's folder/);
  });

  test('symlinks resolving outside the folder are rejected', async () => {
    const d = await loadError(writeModel('symlink.onnx', 'escape.bin', 0));
    expect(d.code).toBe('EXTERNAL_DATA');
    expect(d.text).toMatch(/symbolic link/);
  });

  test('missing and short files are clear errors', async () => {
    expect((await loadError(writeModel('missing.onnx', 'nope.bin'))).text).toMatch(/does not exist/);
    expect((await loadError(writeModel('short.onnx', 'w.bin', 16))).text).toMatch(/too short/);
    expect((await loadError(writeModel('len.onnx', 'w.bin', 8, 12))).text).toMatch(/length is 12 bytes/);
  });

  test('decodeModel without a folder cannot resolve external data', () => {
    const bytes = fs.readFileSync(writeModel('nodir.onnx', 'w.bin'));
    expect(() => decodeModel(bytes)).toThrow(/no folder was given/);
  });

  test('saveModel writes large weights to a data file that loads back', async () => {
    const g = new Graph('g');
    const x = g.addInput('x', 'float32', [4]);
    const w = g.addConstant('big', Tensor.float32([1, 2, 3, 4]));
    const b = g.addConstant('small', Tensor.float32([1]));
    const add = g.addNode({ op: 'Add', inputs: [x, w], outputs: ['s'] });
    const out = g.addNode({ op: 'Add', inputs: [add.outputs[0], b], outputs: ['y'] }).outputs[0]!;
    g.outputs.push(out);
    const file = path.join(root, 'saved', 'm.onnx');
    fs.mkdirSync(path.dirname(file));
    await saveModel(new Model(g), file, { externalDataThreshold: 16 });
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['m.onnx', 'm.onnx.data']);
    const back = await loadModel(file);
    expect(Array.from(back.graph.constants.get('big')!.const!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(back.graph.constants.get('small')!.const!.data as Float32Array)).toEqual([1]);
  });

  test('saveModel leaves nothing behind when it cannot write', async () => {
    const g = new Graph('g');
    g.outputs.push(g.addInput('x', 'float32', [1]));
    await expect(saveModel(new Model(g), path.join(root, 'no-such-dir', 'm.onnx'))).rejects.toThrow();
    expect(fs.existsSync(path.join(root, 'no-such-dir'))).toBe(false);
  });
});

describe('bad model files', () => {
  test('a truncated model is BAD_MODEL naming the file', async () => {
    const full = fs.readFileSync(writeModel('full.onnx', 'w.bin'));
    const file = path.join(modelDir, 'truncated.onnx');
    fs.writeFileSync(file, full.subarray(0, full.length - 7));
    const d = await loadError(file);
    expect(d.code).toBe('BAD_MODEL');
    expect(d.text).toMatch(/cannot parse ONNX model \(truncated or not an ONNX file\)/);
    expect(d.location?.file).toBe(file);
  });

  test('a text file is BAD_MODEL', async () => {
    const file = path.join(modelDir, 'notes.onnx');
    fs.writeFileSync(file, 'this is not a model\n');
    expect((await loadError(file)).code).toBe('BAD_MODEL');
  });

  test('a missing file is FILE_NOT_FOUND', async () => {
    expect((await loadError(path.join(modelDir, 'absent.onnx'))).code).toBe('FILE_NOT_FOUND');
  });

  test('files over protobuf\'s 2 GiB limit are refused with advice', () => {
    expect(() => checkProtobufSize('huge.onnx', 3 * 2 ** 30)).toThrow(/2 GiB limit.*save_as_external_data/s);
    expect(() => checkProtobufSize('fine.onnx', 2 ** 30)).not.toThrow();
  });
});
