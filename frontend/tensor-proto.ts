// TensorProto <-> IR Tensor, including sparse tensors (densified on import) and the message-level
// entry points used by the conformance test data and the CLI (.pb files of single tensors).

import { error } from '../ir/diagnostics.js';
import { Tensor, sizeOf } from '../ir/tensor.js';
import {
  TensorDataError,
  codeFromDType,
  decodeRaw,
  decodeTypedFields,
  dtypeFromCode,
  encodeRaw,
  hasTypedFields,
  rawByteLength,
} from './dtype-codes.js';
import type { ExternalDataReader } from './external-data.js';
import {
  DataLocationCode,
  TensorProto,
  bigIntToInt64,
  int64ToNumber,
  type SparseTensorProtoMsg,
  type TensorProtoMsg,
} from './schema.js';
import { parseProto } from './parse.js';

export interface TensorDecodeContext {
  /** The model file, for messages. */
  file?: string;
  /** Reader for external data; without one, external tensors are an error. */
  external?: ExternalDataReader;
}

/** Decode a TensorProto message into a Tensor (external data read through ctx.external). */
export function tensorFromProto(p: TensorProtoMsg, ctx: TensorDecodeContext = {}): Tensor {
  const name = p.name ?? '';
  const where = { file: ctx.file, value: name };
  const dtype = dtypeFromCode(p.dataType ?? 0);
  if (!dtype) {
    throw error('UNSUPPORTED_DTYPE', `tensor '${name}' has data type code ${p.dataType ?? 0}, which sparsec does not know`, where);
  }
  const shape = (p.dims ?? []).map((d) => int64ToNumber(d));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw error('BAD_MODEL', `tensor '${name}' has invalid dims [${shape.join(', ')}]`, where);
  }
  if (p.segment) {
    throw error('BAD_MODEL', `tensor '${name}' is a segment of a larger tensor, which sparsec does not support`, where);
  }
  const count = sizeOf(shape);
  try {
    if (p.dataLocation === DataLocationCode.EXTERNAL) {
      if (!ctx.external) {
        throw error(
          'EXTERNAL_DATA',
          `tensor '${name}' stores its data in an external file, but no folder was given to read it from`,
          where,
          'Load the model with loadModel(path), or pass baseDir to decodeModel.',
        );
      }
      const bytes = ctx.external.read(name, p.externalData ?? [], rawByteLength(dtype, count));
      return new Tensor(dtype, shape, decodeRaw(dtype, count, bytes, true));
    }
    if (p.rawData && p.rawData.byteLength > 0) return new Tensor(dtype, shape, decodeRaw(dtype, count, p.rawData));
    if (count === 0) return Tensor.zeros(dtype, shape);
    if (!hasTypedFields(p)) throw new TensorDataError(`holds no data for its ${count} elements`);
    return new Tensor(dtype, shape, decodeTypedFields(dtype, count, p));
  } catch (e) {
    if (e instanceof TensorDataError) throw error('BAD_MODEL', `tensor '${name}': ${e.message}`, where);
    throw e;
  }
}

/** Densify a SparseTensorProto (values [NNZ], indices [NNZ] linear or [NNZ, rank]). */
export function sparseTensorFromProto(p: SparseTensorProtoMsg, ctx: TensorDecodeContext = {}): Tensor {
  const values = tensorFromProto(p.values ?? {}, ctx);
  const name = p.values?.name ?? '';
  const shape = (p.dims ?? []).map((d) => int64ToNumber(d));
  const dense = Tensor.zeros(values.dtype, shape);
  const nnz = values.size;
  if (nnz === 0) return dense;
  const indices = tensorFromProto(p.indices ?? {}, ctx).toNumbers();
  const linear = indices.length === nnz;
  if (!linear && indices.length !== nnz * shape.length) {
    throw error('BAD_MODEL', `sparse tensor '${name}' has ${indices.length} indices for ${nnz} values`, { file: ctx.file, value: name });
  }
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const src = values.data as unknown as ArrayLike<unknown>;
  const dst = dense.data as unknown as { [i: number]: unknown };
  for (let k = 0; k < nnz; k++) {
    let at = 0;
    if (linear) at = indices[k]!;
    else for (let d = 0; d < shape.length; d++) at += indices[k * shape.length + d]! * strides[d]!;
    if (at < 0 || at >= dense.size) {
      throw error('BAD_MODEL', `sparse tensor '${name}' has an index out of range`, { file: ctx.file, value: name });
    }
    dst[at] = src[k];
  }
  return dense;
}

/** Where export puts large tensors: returns external_data entries, or undefined to keep inline. */
export type ExternalSink = (name: string, bytes: Uint8Array) => { key: string; value: string }[] | undefined;

/** A TensorProto message for a tensor: raw_data for every type but strings. */
export function tensorToProto(name: string, t: Tensor, external?: ExternalSink): TensorProtoMsg {
  const msg: TensorProtoMsg = {
    name,
    dataType: codeFromDType(t.dtype),
    dims: t.shape.map((d) => bigIntToInt64(d)),
  };
  if (t.dtype === 'string') {
    const enc = new TextEncoder();
    msg.stringData = (t.data as string[]).map((s) => enc.encode(s));
    return msg;
  }
  const raw = encodeRaw(t.dtype, t.data);
  const entries = external?.(name, raw);
  if (entries) {
    msg.dataLocation = DataLocationCode.EXTERNAL;
    msg.externalData = entries;
  } else {
    msg.rawData = raw;
  }
  return msg;
}

/** Decode one serialized TensorProto (e.g. a conformance test's input_0.pb). */
export function decodeTensorProto(bytes: Uint8Array, file?: string): { name: string; tensor: Tensor } {
  const msg = parseProto<TensorProtoMsg>(TensorProto, bytes, file, 'TensorProto');
  return { name: msg.name ?? '', tensor: tensorFromProto(msg, { file }) };
}

export function encodeTensorProto(name: string, tensor: Tensor): Uint8Array {
  return TensorProto.encode(tensorToProto(name, tensor)).finish();
}
