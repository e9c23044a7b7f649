// Calibration data for --calib: sample batches for the model's inputs, read lazily so that a
// large set streams through calibration one batch at a time. Three layouts:
//
//   --calib x.npy  / --calib name=x.npy ...   one array per input (.npy, or a TensorProto .pb);
//       all arrays are split along dim 0 into batches of --calib-batch rows. Token windows for
//       a language model (a single integer input [batch, sequence]) are int64 [N, T] arrays
//       whose last column is the next-token target, the layout of fixtures/<lm>/calib_tokens.npy:
//       only the first T-1 tokens are fed (unless the model's sequence length is T).
//   --calib dir/    the ONNX backend test-data layout: dir/input_0.pb ... is one batch, or
//       dir/test_data_set_N/input_K.pb are one batch each. A TensorProto whose name is a model
//       input feeds that input; unnamed ones feed the inputs in order.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensorProto } from '../frontend/index.js';
import { error, SparsecError } from '../ir/diagnostics.js';
import type { Model, Value } from '../ir/graph.js';
import { isNpy, readNpy } from '../ir/npy.js';
import { Tensor } from '../ir/tensor.js';
import type { InputBinding } from './args.js';
import { feedInputs, soleInput, unknownInput } from './commands/model.js';
import { formatShape } from './format.js';
import { withFile } from './tensor-files.js';

/** Batches of inputs by name; iterable any number of times, each pass reads lazily. */
export interface CalibrationSet extends Iterable<ReadonlyMap<string, Tensor>> {
  readonly batches: number;
  /** Samples in all: rows of the arrays, or sample sets of a folder. */
  readonly samples: number;
  /** For people: where the samples come from and how they are batched. */
  readonly description: string;
}

export interface CalibrationOptions {
  /** Rows per batch when splitting arrays (--calib-batch). */
  batchRows: number;
  /** The model file, for messages. */
  modelFile: string;
}

export function loadCalibration(model: Model, bindings: readonly InputBinding[], opts: CalibrationOptions): CalibrationSet {
  const inputs = feedInputs(model);
  const folders = bindings.filter((b) => isFolder(b.file));
  if (folders.length > 0) {
    if (bindings.length > 1 || folders[0]!.input !== undefined) {
      throw error('BAD_OPTION', '--calib with a folder takes that folder alone (it holds every input)', { file: folders[0]!.file }, 'Write --calib dir/.');
    }
    return folderSet(folders[0]!.file, inputs);
  }
  return arraySet(bindings, inputs, opts);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw error('FILE_NOT_FOUND', 'calibration file does not exist', { file: path }, 'Check the path.');
    throw e;
  }
}

function readTensor(file: string): { tensor: Tensor; name?: string } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw error('READ_FAILED', `cannot read calibration file: ${(e as Error).message}`, { file });
  }
  try {
    if (isNpy(bytes)) return { tensor: readNpy(bytes, file) };
    const { name, tensor } = decodeTensorProto(bytes);
    return name ? { tensor, name } : { tensor };
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw error('BAD_INPUT', 'is neither a .npy file nor an ONNX TensorProto (.pb)', { file });
  }
}

// ---- arrays split into batches of rows ----

interface ArraySource {
  input: Value;
  file: string;
  tensor: Tensor;
  /** Columns to feed along dim 1 (token windows drop their target column). */
  columns?: number;
}

function arraySet(bindings: readonly InputBinding[], inputs: readonly Value[], opts: CalibrationOptions): CalibrationSet {
  const sources = new Map<Value, ArraySource>();
  for (const b of bindings) {
    const { tensor, name: protoName } = readTensor(b.file);
    const name = b.input ?? (protoName && inputs.some((v) => v.name === protoName) ? protoName : soleInput(inputs, opts.modelFile, '--calib'));
    const input = inputs.find((v) => v.name === name);
    if (!input) throw unknownInput(name, inputs, opts.modelFile, '--calib');
    if (sources.has(input)) throw error('BAD_OPTION', `--calib gives input '${name}' twice`, { file: b.file, value: name });
    checkArray(input, tensor, b.file);
    sources.set(input, { input, file: b.file, tensor, ...windowColumns(input, tensor, inputs.length) });
  }
  for (const v of inputs) {
    if (!sources.has(v)) {
      throw error('BAD_INPUT', `--calib gives no data for input '${v.name}' (${v.dtype ?? '?'}${formatShape(v.shape)})`, { file: opts.modelFile, value: v.name }, `Add --calib ${v.name}=file.npy.`);
    }
  }
  const list = [...sources.values()];
  const rows = list[0]?.tensor.shape[0] ?? 0;
  for (const s of list) {
    if (s.tensor.shape[0] !== rows) {
      throw error('SHAPE_MISMATCH', `has ${s.tensor.shape[0]} rows but '${list[0]!.file}' has ${rows}: calibration arrays must have one row per sample`, { file: s.file, value: s.input.name });
    }
  }
  if (rows === 0) throw error('BAD_INPUT', 'calibration data has no rows', { file: list[0]?.file });
  const batchRows = opts.batchRows;
  const batches = Math.ceil(rows / batchRows);
  const first = list[0]!;
  const window = first.columns !== undefined ? ` (first ${first.columns} of ${first.tensor.shape[1]} tokens of each window)` : '';
  return {
    batches,
    samples: rows,
    description: `${rows} samples from ${list.map((s) => s.file).join(', ')}${window}, ${batches} batches of up to ${batchRows}`,
    *[Symbol.iterator]() {
      for (let start = 0; start < rows; start += batchRows) {
        const end = Math.min(rows, start + batchRows);
        yield new Map(list.map((s) => [s.input.name, rowSlice(s.tensor, start, end, s.columns)]));
      }
    },
  };
}

function checkArray(input: Value, t: Tensor, file: string): void {
  const at = { file, value: input.name };
  if (input.dtype !== undefined && t.dtype !== input.dtype) {
    throw error('TYPE_MISMATCH', `holds ${t.dtype} but input '${input.name}' is ${input.dtype}`, at);
  }
  if (t.rank === 0) throw error('SHAPE_MISMATCH', 'is a scalar; calibration arrays need a leading sample dim', at);
  if (input.shape && input.shape.length !== t.rank) {
    throw error('SHAPE_MISMATCH', `has shape ${formatShape(t.shape)} but input '${input.name}' has rank ${input.shape.length} ${formatShape(input.shape)}`, at);
  }
}

/**
 * Token windows: a single integer input [batch, sequence] fed from [N, T] windows gets the
 * first T-1 columns (the last is the next-token target), unless the model's sequence is T.
 */
function windowColumns(input: Value, t: Tensor, inputCount: number): { columns?: number } {
  const isTokens = inputCount === 1 && (t.dtype === 'int64' || t.dtype === 'int32') && t.rank === 2 && t.shape[1]! > 1;
  if (!isTokens) return {};
  const seq = input.shape?.[1];
  return seq === t.shape[1] ? {} : { columns: t.shape[1]! - 1 };
}

/** Rows [start, end) of t, keeping the first `columns` entries of dim 1 when given. */
function rowSlice(t: Tensor, start: number, end: number, columns?: number): Tensor {
  const rowSize = t.size / t.shape[0]!;
  if (columns === undefined) {
    const data = t.data.slice(start * rowSize, end * rowSize) as Tensor['data'];
    return new Tensor(t.dtype, [end - start, ...t.shape.slice(1)], data);
  }
  const inner = rowSize / t.shape[1]!;
  const keep = columns * inner;
  const out = Tensor.zeros(t.dtype, [end - start, columns, ...t.shape.slice(2)]);
  const src = t.data as unknown as { subarray(a: number, b: number): ArrayLike<number> };
  const dst = out.data as unknown as { set(a: ArrayLike<number>, offset: number): void };
  for (let r = start; r < end; r++) dst.set(src.subarray(r * rowSize, r * rowSize + keep), (r - start) * keep);
  return out;
}

// ---- the ONNX test-data folder layout ----

function folderSet(dir: string, inputs: readonly Value[]): CalibrationSet {
  const entries = readdirSync(dir, { withFileTypes: true });
  const sets = entries
    .filter((e) => e.isDirectory() && /^test_data_set_\d+$/.test(e.name))
    .map((e) => join(dir, e.name))
    .sort((a, b) => setNumber(a) - setNumber(b));
  if (sets.length === 0) sets.push(dir);
  const files = sets.map((set) => inputFiles(set));
  files.forEach((list, i) => {
    if (list.length !== inputs.length) {
      throw error(
        'BAD_INPUT',
        `holds ${list.length} input_K.pb files but the model has ${inputs.length} inputs (${inputs.map((v) => `'${v.name}'`).join(', ')})`,
        { file: sets[i]! },
        'Each sample set needs input_0.pb ... one per model input.',
      );
    }
  });
  return {
    batches: sets.length,
    samples: sets.length,
    description: `${sets.length} sample set${sets.length === 1 ? '' : 's'} from ${dir}, one batch each`,
    *[Symbol.iterator]() {
      for (const list of files) yield feedsOf(list, inputs);
    },
  };
}

const setNumber = (path: string) => Number(/(\d+)$/.exec(path)![1]);

function inputFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
    .map((f) => join(folder, f));
}

function feedsOf(files: readonly string[], inputs: readonly Value[]): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  files.forEach((file, k) => {
    const { tensor, name } = readTensor(file);
    const input = (name ? inputs.find((v) => v.name === name) : undefined) ?? inputs[k]!;
    if (feeds.has(input.name)) throw error('BAD_INPUT', `feeds input '${input.name}' a second time`, { file, value: input.name });
    if (input.dtype !== undefined && tensor.dtype !== input.dtype) {
      throw error('TYPE_MISMATCH', `holds ${tensor.dtype} but input '${input.name}' is ${input.dtype}`, { file, value: input.name });
    }
    feeds.set(input.name, tensor);
  });
  return feeds;
}
