import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { SparsecError, type Diagnostic } from '../ir/diagnostics.js';
import { loadModel } from './index.js';
import { DataLocationCode, DataTypeCode } from './schema.js';
import { modelBytes, node, tensorInfo } from './testing.js';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sparsec-read-'));
  fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(new Float32Array([1, 2]).buffer));
  fs.symlinkSync('loop-b', path.join(dir, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(dir, 'loop-b'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

afterEach(() => {
  vi.restoreAllMocks();
  syncBuiltinESMExports();
});

/** A model y = x + W with W [2] in external data at `location`. */
function writeModel(name: string, location: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, modelBytes({
    nodes: [node('Add', ['x', 'W'], ['y'])],
    inputs: [tensorInfo('x', DataTypeCode.FLOAT, [2])],
    outputs: [tensorInfo('y', DataTypeCode.FLOAT, [2])],
    initializers: [{
      name: 'W', dataType: DataTypeCode.FLOAT, dims: [2], dataLocation: DataLocationCode.EXTERNAL,
      externalData: [{ key: 'location', value: location }],
    }],
  }));
  return file;
}

async function loadError(file: string): Promise<Diagnostic> {
  const e = await loadModel(file).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(SparsecError);
  return (e as SparsecError).diagnostic;
}

/** An error as Node's fs throws it. */
const fsError = (code: string, syscall: string, file: string) =>
  Object.assign(new Error(`${code}: something went wrong, ${syscall} '${file}'`), { code, syscall, path: file });

describe('model files that cannot be read are user errors naming the file', () => {
  test('a folder, and a path through a file, are FILE_NOT_FOUND', async () => {
    const d = await loadError(dir);
    expect([d.code, d.text, d.location?.file]).toEqual(['FILE_NOT_FOUND', 'is a folder, not a model file', dir]);
    const through = path.join(writeModel('plain.onnx', 'w.bin'), 'inner.onnx');
    const t = await loadError(through);
    expect([t.code, t.text]).toEqual(['FILE_NOT_FOUND', 'a part of the path is not a folder']);
  });

  test('a symbolic link loop is READ_FAILED with the reason', async () => {
    const file = path.join(dir, 'loop-a');
    const d = await loadError(file);
    expect(d.code).toBe('READ_FAILED');
    expect(d.text).toBe('cannot read the model: too many levels of symbolic links');
    expect(d.location?.file).toBe(file);
  });

  test('permission denied while reading is READ_FAILED with a hint', async () => {
    const file = writeModel('locked.onnx', 'w.bin');
    vi.spyOn(fs.promises, 'readFile').mockRejectedValue(fsError('EACCES', 'open', file));
    const d = await loadError(file);
    expect([d.code, d.text]).toEqual(['READ_FAILED', 'cannot read the model: permission denied']);
    expect(d.hint).toMatch(/permissions/);
  });

  test('an unlisted errno code keeps its name; a non-fs error passes through unchanged', async () => {
    const file = writeModel('odd.onnx', 'w.bin');
    vi.spyOn(fs.promises, 'stat').mockRejectedValueOnce(fsError('EBUSY', 'stat', file));
    expect((await loadError(file)).text).toBe(`cannot read the model: EBUSY: something went wrong, stat '${file}'`);
    const bug = new TypeError('not a file-system error');
    vi.spyOn(fs.promises, 'readFile').mockRejectedValue(bug);
    await expect(loadModel(file)).rejects.toBe(bug);
  });
});

describe('external data files that cannot be read are EXTERNAL_DATA errors naming the data file', () => {
  test('a symbolic link loop as the location', async () => {
    const d = await loadError(writeModel('loop-data.onnx', 'loop-a'));
    expect(d.code).toBe('EXTERNAL_DATA');
    expect(d.text).toBe("tensor 'W': cannot read external data file 'loop-a': too many levels of symbolic links");
    expect(d.location).toMatchObject({ value: 'W' });
  });

  test('permission denied on open, and an I/O error while reading', async () => {
    const file = writeModel('denied-data.onnx', 'w.bin');
    vi.spyOn(fs, 'openSync').mockImplementation((p) => {
      throw fsError('EACCES', 'open', String(p));
    });
    syncBuiltinESMExports();
    const d = await loadError(file);
    expect([d.code, d.text]).toEqual(['EXTERNAL_DATA', "tensor 'W': cannot read external data file 'w.bin': permission denied"]);
    vi.restoreAllMocks();
    vi.spyOn(fs, 'readSync').mockImplementation(() => {
      throw fsError('EIO', 'read', 'w.bin');
    });
    syncBuiltinESMExports();
    expect((await loadError(file)).text).toMatch(/cannot read external data file 'w.bin': input\/output error/);
  });
});
