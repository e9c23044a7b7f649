// Tensor data stored outside the .onnx file (TensorProto.data_location = EXTERNAL).
//
// A model file is untrusted input: its external_data `location` could name any file on the
// machine. We only ever read files inside the model's own folder: absolute locations are
// rejected, and the location is resolved (following symlinks with realpath) and must still
// lie under the folder's real path. Data is read with positioned reads into the tensor's own
// buffer, in chunks, so multi-gigabyte models never need one read of everything.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { error, type SparsecError } from '../ir/diagnostics.js';
import { isMissingFile, readFailureHint, readFailureReason } from './file-errors.js';
import { type StringStringEntry } from './schema.js';

/** Reads larger than this are split, keeping each read call's buffer bounded. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export interface ExternalDataOptions {
  /** The model file, for messages. */
  file: string;
  /** The folder external data locations are relative to (normally the model file's folder). */
  baseDir: string;
  chunkBytes?: number;
}

interface ExternalRef {
  location: string;
  offset: number;
  length: number | undefined;
}

/** Parse a tensor's external_data entries (checksum and unknown keys are ignored). */
export function parseExternalRef(entries: readonly StringStringEntry[]): ExternalRef {
  const ref: ExternalRef = { location: '', offset: 0, length: undefined };
  for (const { key, value } of entries) {
    if (key === 'location') ref.location = value ?? '';
    else if (key === 'offset') ref.offset = Number(value);
    else if (key === 'length') ref.length = Number(value);
  }
  return ref;
}

/**
 * Reads external tensor data for one model load. Open files are cached per real path; call
 * close() when done (loadModel and decodeModel do).
 */
export class ExternalDataReader {
  private readonly fds = new Map<string, { fd: number; size: number }>();
  private realBase: string | undefined;

  constructor(private readonly opts: ExternalDataOptions) {}

  /** The bytes of one tensor, in a fresh buffer of exactly `byteLength` bytes. */
  read(tensor: string, entries: readonly StringStringEntry[], byteLength: number): Uint8Array {
    const ref = parseExternalRef(entries);
    const fail = (text: string, hint: string): SparsecError =>
      error('EXTERNAL_DATA', `tensor '${tensor}': ${text}`, { file: this.opts.file, value: tensor }, hint);
    if (!Number.isSafeInteger(ref.offset) || ref.offset < 0) {
      throw fail(`external data offset '${ref.offset}' is not a valid byte offset`, 'Re-save the model with onnx.save_model(..., save_as_external_data=True).');
    }
    if (ref.length !== undefined && ref.length !== byteLength) {
      throw fail(`external data length is ${ref.length} bytes but the tensor needs ${byteLength}`, 'The data file does not match the model; re-save them together.');
    }
    const { fd, size } = this.open(ref.location, fail);
    if (ref.offset + byteLength > size) {
      throw fail(
        `external data file '${ref.location}' is too short: needs ${byteLength} bytes at offset ${ref.offset} but has ${size}`,
        'The data file is truncated or does not belong to this model.',
      );
    }
    const unreadable = (e: unknown) => cannotRead(e, `external data file '${ref.location}'`, fail);
    const out = new Uint8Array(byteLength);
    const chunk = this.opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    for (let done = 0; done < byteLength; ) {
      const want = Math.min(chunk, byteLength - done);
      const got = guarded(() => fs.readSync(fd, out, done, want, ref.offset + done), unreadable);
      if (got <= 0) throw fail(`unexpected end of external data file '${ref.location}'`, 'The data file is truncated.');
      done += got;
    }
    return out;
  }

  close(): void {
    for (const { fd } of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }

  private open(location: string, fail: (text: string, hint: string) => SparsecError): { fd: number; size: number } {
    const keepInside = `Keep external data files inside the model's folder (${this.opts.baseDir}) and refer to them by relative paths.`;
    if (!location) throw fail('external data has no location', 'Re-save the model with its external data.');
    if (path.isAbsolute(location) || path.win32.isAbsolute(location) || location.includes('\0')) {
      throw fail(`external data location '${location}' is an absolute path; only files in the model's folder are read`, keepInside);
    }
    this.realBase ??= realpathOrFail(
      this.opts.baseDir,
      () => fail(`the model's folder '${this.opts.baseDir}' does not exist`, 'Load the model from its own folder.'),
      (e) => cannotRead(e, `the model's folder '${this.opts.baseDir}'`, fail),
    );
    const joined = path.resolve(this.realBase, location);
    if (!isInside(this.realBase, joined)) {
      throw fail(`external data location '${location}' points outside the model's folder`, keepInside);
    }
    const unreadable = (e: unknown) => cannotRead(e, `external data file '${location}'`, fail);
    const real = realpathOrFail(
      joined,
      () => fail(`external data file '${location}' does not exist (looked for ${joined})`, 'Copy the data file next to the model file.'),
      unreadable,
    );
    if (!isInside(this.realBase, real)) {
      throw fail(`external data location '${location}' resolves (through a symbolic link) to '${real}', outside the model's folder`, keepInside);
    }
    let cached = this.fds.get(real);
    if (!cached) {
      const fd = guarded(() => fs.openSync(real, 'r'), unreadable);
      const stat = guarded(() => fs.fstatSync(fd), (e) => (fs.closeSync(fd), unreadable(e)));
      if (!stat.isFile()) {
        fs.closeSync(fd);
        throw fail(`external data location '${location}' is not a regular file`, keepInside);
      }
      cached = { fd, size: stat.size };
      this.fds.set(real, cached);
    }
    return cached;
  }
}

/** Run a file-system call; its failure becomes the diagnostic `onError` builds (or passes through). */
function guarded<T>(call: () => T, onError: (e: unknown) => unknown): T {
  try {
    return call();
  } catch (e) {
    throw onError(e);
  }
}

function realpathOrFail(p: string, onMissing: () => SparsecError, onError: (e: unknown) => unknown): string {
  return guarded(() => fs.realpathSync(p), (e) => (isMissingFile(e) ? onMissing() : onError(e)));
}

/** EXTERNAL_DATA naming what could not be read and why; a non-file-system error passes through (a bug). */
function cannotRead(e: unknown, what: string, fail: (text: string, hint: string) => SparsecError): unknown {
  const reason = readFailureReason(e);
  if (reason === undefined) return e;
  return fail(`cannot read ${what}: ${reason}`, readFailureHint(e) ?? 'Check that the data file is readable.');
}

function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** ONNX protobuf files cannot exceed 2 GiB (protobuf's message size limit). */
export const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;

export function checkProtobufSize(file: string, size: number): void {
  if (size > PROTOBUF_LIMIT_BYTES) {
    throw error(
      'BAD_MODEL',
      `the file is ${(size / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit, so it cannot be a valid ONNX model`,
      { file },
      'Models this large must keep their weights in external data files: in Python, onnx.save_model(model, path, save_as_external_data=True).',
    );
  }
}
