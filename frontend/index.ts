// The frontend's public API: ONNX files and bytes in and out of the IR.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { error } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import { checkProtobufSize } from './external-data.js';
import { encodeModel, modelToProto } from './export.js';
import { isMissingFile, readFailureHint, readFailureReason } from './file-errors.js';
import { decodeModel } from './import.js';
import { ModelProto } from './schema.js';
import type { ExternalSink } from './tensor-proto.js';

export { decodeModel, type DecodeOptions } from './import.js';
export { encodeModel, modelToProto, type EncodeOptions } from './export.js';
export { decodeTensorProto, encodeTensorProto } from './tensor-proto.js';
export { CANONICAL_OPSET } from './upgrade.js';

export interface LoadProgress {
  phase: 'read' | 'decode';
  /** Bytes done and total in this phase. */
  done: number;
  total: number;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Chunk size for external data reads (bytes). */
  chunkBytes?: number;
}

/** Read an .onnx file; external data is resolved only inside the file's folder. */
export async function loadModel(file: string, opts: LoadOptions = {}): Promise<Model> {
  const stat = await fs.promises.stat(file).catch((e: unknown) => {
    throw readError(file, e);
  });
  if (stat.isDirectory()) throw error('FILE_NOT_FOUND', 'is a folder, not a model file', { file });
  if (!stat.isFile()) throw error('FILE_NOT_FOUND', 'is not a file', { file });
  const size = stat.size;
  checkProtobufSize(file, size);
  opts.onProgress?.({ phase: 'read', done: 0, total: size });
  const bytes = await fs.promises.readFile(file).catch((e: unknown) => {
    throw readError(file, e);
  });
  opts.onProgress?.({ phase: 'decode', done: 0, total: size });
  const model = decodeModel(bytes, { file, baseDir: path.dirname(path.resolve(file)), chunkBytes: opts.chunkBytes });
  opts.onProgress?.({ phase: 'decode', done: size, total: size });
  return model;
}

/** A diagnostic for a model file that cannot be read; other errors (bugs) pass through. */
function readError(file: string, e: unknown): unknown {
  if (isMissingFile(e)) return error('FILE_NOT_FOUND', readFailureReason(e)!, { file }, 'Check the path.');
  const reason = readFailureReason(e);
  return reason === undefined ? e : error('READ_FAILED', `cannot read the model: ${reason}`, { file }, readFailureHint(e));
}

export interface SaveOptions {
  /**
   * Tensors of at least this many bytes are written to `<model file name>.data` next to the
   * model, as ONNX external data. Off by default.
   */
  externalDataThreshold?: number;
}

/** Offsets in the data file are aligned so runtimes can map tensors directly. */
const EXTERNAL_ALIGN = 64;

/**
 * Write a model atomically: everything goes to temporary files that are renamed into place
 * only once fully written, so a failure never leaves a half-written model.
 */
export async function saveModel(model: Model, file: string, opts: SaveOptions = {}): Promise<void> {
  const chunks: Uint8Array[] = [];
  let dataBytes = 0;
  const dataName = `${path.basename(file)}.data`;
  const threshold = opts.externalDataThreshold;
  const sink: ExternalSink | undefined = threshold === undefined ? undefined : (_name, bytes) => {
    if (bytes.byteLength < threshold) return undefined;
    const pad = (EXTERNAL_ALIGN - (dataBytes % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (pad) chunks.push(new Uint8Array(pad));
    const offset = dataBytes + pad;
    chunks.push(bytes);
    dataBytes = offset + bytes.byteLength;
    return [
      { key: 'location', value: dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.byteLength) },
    ];
  };
  const bytes = sink ? ModelProto.encode(modelToProto(model, { external: sink })).finish() : encodeModel(model);
  const temps: [string, string][] = [];
  try {
    if (chunks.length) {
      const dataFile = path.join(path.dirname(file), dataName);
      temps.push([await writeTemp(dataFile, chunks), dataFile]);
    }
    temps.push([await writeTemp(file, [bytes]), file]);
    for (const [tmp, final] of temps) await fs.promises.rename(tmp, final);
  } catch (e) {
    for (const [tmp] of temps) await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

async function writeTemp(file: string, chunks: Uint8Array[]): Promise<string> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await fs.promises.open(tmp, 'w');
  try {
    for (const c of chunks) {
      for (let done = 0; done < c.byteLength; ) done += (await handle.write(c, done, c.byteLength - done)).bytesWritten;
    }
    await handle.sync();
  } catch (e) {
    await handle.close();
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  return tmp;
}
