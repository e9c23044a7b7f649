// Reading input tensors from the files the user named, and writing outputs so that a failure
// leaves nothing behind: every file is written under a temporary name and renamed into place
// only once all of them were written.

import { mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeTensorProto } from '../frontend/index.js';
import { error, SparsecError } from '../ir/diagnostics.js';
import { isNpy, readNpy } from '../ir/npy.js';
import type { Tensor } from '../ir/tensor.js';

/** Read a file the user named, turning fs errors into one-line user errors. */
export async function readUserFile(file: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw error('FILE_NOT_FOUND', `${what} does not exist`, { file }, 'Check the path.');
    if (code === 'EISDIR') throw error('BAD_INPUT', `${what} is a folder, not a file`, { file });
    if (code === 'EACCES' || code === 'EPERM') throw error('BAD_INPUT', `${what} cannot be read (permission denied)`, { file });
    throw e;
  }
}

/** A tensor from a .npy file or an ONNX TensorProto (.pb) file, told apart by content. */
export async function readTensorFile(file: string): Promise<{ tensor: Tensor; name?: string }> {
  const bytes = await readUserFile(file, 'input file');
  if (isNpy(bytes)) return { tensor: readNpy(bytes, file) };
  try {
    const { name, tensor } = decodeTensorProto(bytes);
    return name ? { tensor, name } : { tensor };
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw error('BAD_INPUT', 'is neither a .npy file nor an ONNX TensorProto (.pb)', { file }, 'Save inputs with numpy.save or onnx.numpy_helper.from_array.');
  }
}

/** Give every diagnostic that names no file this one. */
export function withFile(e: SparsecError, file: string): SparsecError {
  for (const d of e.diagnostics) {
    if (!d.location?.file) d.location = { ...d.location, file };
  }
  return new SparsecError(e.diagnostics);
}

/** A file name for an output value: path separators and odd characters replaced. */
export function outputFileName(valueName: string, ext: string, taken: Set<string>): string {
  let base = valueName.replace(/[^A-Za-z0-9._-]/g, '_');
  if (base === '' || /^\.+$/.test(base)) base = `_${base}`;
  let name = `${base}.${ext}`;
  for (let i = 1; taken.has(name.toLowerCase()); i++) name = `${base}_${i}.${ext}`;
  taken.add(name.toLowerCase());
  return name;
}

/** Write all files into `dir` (created if needed), or none of them. */
export async function writeAllOrNothing(dir: string, files: readonly { name: string; bytes: Uint8Array }[]): Promise<void> {
  const fail = (e: unknown) =>
    error('WRITE_FAILED', `cannot write outputs: ${(e as Error).message}`, { file: dir }, 'Check that --out names a writable folder.');
  let created: string | undefined;
  try {
    created = await mkdir(dir, { recursive: true });
  } catch (e) {
    throw fail(e);
  }
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = join(dir, `.${f.name}.tmp-${process.pid}`);
      temps.push(tmp);
      await writeFile(tmp, f.bytes);
    }
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    // Folders we created held only our temporary files: leave no trace.
    if (created !== undefined) await rm(created, { recursive: true, force: true }).catch(() => undefined);
    throw fail(e);
  }
  for (const [i, f] of files.entries()) await rename(temps[i]!, join(dir, f.name));
}
