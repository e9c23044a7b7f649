// NumPy's .npy format (versions 1, 2 and 3), the simplest way to hand tensors to and from
// Python. Layout: magic "\x93NUMPY", major, minor, header length (2 bytes in v1, 4 in v2/v3),
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
// with spaces to a multiple of 64 bytes, then the raw elements.

import { error } from './diagnostics.js';
import { allocData, dtypeBytes, type DType, type TypedArray } from './dtype.js';
import { sizeOf, Tensor } from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy type character + item size -> IR dtype. */
const FROM_DESCR: Record<string, DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  b1: 'bool',
  c8: 'complex64',
  c16: 'complex128',
};

const TO_DESCR = new Map<DType, string>(Object.entries(FROM_DESCR).map(([d, t]) => [t, d]));

/** Whether bytes start with the .npy magic (used to tell .npy from TensorProto files). */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

export function readNpy(bytes: Uint8Array, file?: string): Tensor {
  const fail = (text: string, hint?: string) => error('BAD_INPUT', text, { file }, hint);
  if (!isNpy(bytes)) throw fail('not a .npy file (missing the \\x93NUMPY magic)', 'Save arrays with numpy.save.');
  if (bytes.length < 10) throw fail('truncated .npy header');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw fail('truncated .npy header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (bytes.length < dataStart) throw fail('truncated .npy header');
  const decoder = new TextDecoder(major === 3 ? 'utf-8' : 'latin1');
  const header = parseHeader(decoder.decode(bytes.subarray(8 + lenBytes, dataStart)), fail);

  const { dtype, bigEndian } = parseDescr(header.descr, fail);
  const shape = header.shape;
  const count = sizeOf(shape);
  const itemBytes = dtypeBytes(dtype);
  const need = count * itemBytes;
  const have = bytes.length - dataStart;
  if (have < need) {
    throw fail(`truncated data: shape (${shape.join(', ')}) of ${header.descr} needs ${need} bytes but the file has ${have}`);
  }
  if (have > need) {
    throw fail(`${have - need} bytes after the data of shape (${shape.join(', ')}) of ${header.descr}`, 'Is the header shape wrong?');
  }
  // Copy into a fresh, aligned buffer: the data offset need not be a multiple of the item size.
  // (Not bytes.slice: on a Node Buffer that is a view into a shared pool, not a copy.)
  const raw = new Uint8Array(need);
  raw.set(bytes.subarray(dataStart, dataStart + need));
  if (bigEndian) swapBytes(raw, componentBytes(dtype));
  const data = viewAs(dtype, raw.buffer, count);
  const tensor = new Tensor(dtype, shape, data);
  return header.fortranOrder ? fortranToC(tensor) : tensor;
}

export function writeNpy(t: Tensor): Uint8Array {
  const descr = TO_DESCR.get(t.dtype);
  if (!descr) {
    throw error('UNSUPPORTED_DTYPE', `${t.dtype} tensors have no .npy equivalent`, undefined, 'Cast the tensor to float32 first.');
  }
  // Single-byte types have no byte order; numpy writes them with '|'.
  const typeChar = dtypeBytes(t.dtype) === 1 ? '|' : '<';
  const shapeText = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let dict = `{'descr': '${typeChar}${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1 stores the header length in 2 bytes; huge ranks need version 2.
  const major = dict.length + 12 > 0xffff ? 2 : 1;
  const prefix = 8 + (major === 1 ? 2 : 4);
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(padded - prefix - 1, ' ') + '\n';

  const data = t.data as TypedArray;
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(padded + body.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.set(body, padded);
  return out;
}

// ---- header parsing ----

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

type Fail = (text: string, hint?: string) => Error;

/** Parse the header dict. Only the literal forms numpy writes are accepted. */
function parseHeader(text: string, fail: Fail): Header {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    if (/'descr'\s*:\s*\[/.test(text)) {
      throw fail('structured (record) arrays are not supported', 'Save one plain array per file.');
    }
    throw fail(`malformed .npy header ${JSON.stringify(text.trim())}`);
  }
  const parts = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const shape = parts.map((p) => {
    const n = Number(p.replace(/L$/, ''));
    if (!Number.isSafeInteger(n) || n < 0) throw fail(`bad dimension '${p}' in .npy shape (${shapeText})`);
    return n;
  });
  return { descr, fortranOrder: fortran === 'True', shape };
}

function parseDescr(descr: string, fail: Fail): { dtype: DType; bigEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const dtype = m ? FROM_DESCR[`${m[2]}${m[3]}`] : undefined;
  if (!m || !dtype) {
    throw fail(
      `unsupported .npy dtype '${descr}'`,
      'Use a numeric or bool array (float16/32/64, int8-64, uint8-64, bool, complex64/128).',
    );
  }
  // '=' is native order; every machine sparsec runs on is little-endian.
  return { dtype, bigEndian: m[1] === '>' && dtypeBytes(dtype) > 1 };
}

/** Bytes per swapped unit: complex numbers swap each of their two parts. */
function componentBytes(dtype: DType): number {
  if (dtype === 'complex64') return 4;
  if (dtype === 'complex128') return 8;
  return dtypeBytes(dtype);
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const tmp = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = tmp;
    }
  }
}

function viewAs(dtype: DType, buffer: ArrayBufferLike, count: number): TypedArray {
  switch (dtype) {
    case 'float16':
    case 'uint16':
      return new Uint16Array(buffer, 0, count);
    case 'float32':
      return new Float32Array(buffer, 0, count);
    case 'float64':
      return new Float64Array(buffer, 0, count);
    case 'int8':
      return new Int8Array(buffer, 0, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, 0, count);
    case 'int16':
      return new Int16Array(buffer, 0, count);
    case 'int32':
      return new Int32Array(buffer, 0, count);
    case 'uint32':
      return new Uint32Array(buffer, 0, count);
    case 'int64':
      return new BigInt64Array(buffer, 0, count);
    case 'uint64':
      return new BigUint64Array(buffer, 0, count);
    case 'complex64':
      return new Float32Array(buffer, 0, 2 * count);
    case 'complex128':
      return new Float64Array(buffer, 0, 2 * count);
    default:
      throw new Error(`viewAs: no .npy storage for ${dtype}`);
  }
}

/** Reorder column-major (Fortran) data into the row-major order the IR uses. */
function fortranToC(t: Tensor): Tensor {
  const rank = t.shape.length;
  if (rank < 2) return t;
  const src = t.data as TypedArray;
  const dst = allocData(t.dtype, t.size) as TypedArray;
  const parts = t.dtype === 'complex64' || t.dtype === 'complex128' ? 2 : 1;
  // Column-major strides: the first index moves fastest.
  const fStrides: number[] = [];
  let acc = 1;
  for (const d of t.shape) {
    fStrides.push(acc);
    acc *= d;
  }
  const index = new Array<number>(rank).fill(0);
  for (let c = 0; c < t.size; c++) {
    let f = 0;
    for (let k = 0; k < rank; k++) f += index[k]! * fStrides[k]!;
    for (let p = 0; p < parts; p++) (dst as unknown as unknown[])[c * parts + p] = src[f * parts + p];
    // Advance the row-major multi-index: the last index moves fastest.
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k]! < t.shape[k]!) break;
      index[k] = 0;
    }
  }
  return new Tensor(t.dtype, t.shape, dst);
}
