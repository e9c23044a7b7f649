// Reading a test's input_K.pb / output_K.pb into executor runtime values.
//
// Tensor data is a TensorProto (decoded by the frontend). Tests of sequence and optional ops
// store a SequenceProto or OptionalProto instead; the frontend has no decoder for those (models
// never contain them), so this file walks their few fields with protobufjs's wire reader and
// hands each embedded TensorProto to the frontend. Which message a file holds follows from the
// declared kind of the graph input or output it belongs to.

import protobuf from 'protobufjs';
import { readFileSync } from 'node:fs';
import { decodeTensorProto } from '../../frontend/index.js';
import type { ValueKind } from '../../ir/graph.js';
import type { RuntimeValue } from '../../ir/opdef.js';
import { Tensor } from '../../ir/tensor.js';
import type { DType } from '../../ir/dtype.js';

/** Data this runner cannot turn into a runtime value (maps, sparse tensors, nested kinds). */
export class UnsupportedDataError extends Error {
  override name = 'UnsupportedDataError';
}

export interface TestValue {
  /** The name stored in the file ('' when the writer left it out). */
  readonly name: string;
  readonly value: RuntimeValue;
}

/**
 * Read one data file as a runtime value of the declared kind. `declaredDtype` is the graph's
 * dtype for it: ONNX 1.12 wrote bfloat16 test data as UINT16 tensors (numpy has no bfloat16),
 * so those bit patterns are relabelled as the bfloat16 the model declares.
 */
export function readTestValue(path: string, kind: ValueKind, declaredDtype?: DType): TestValue {
  const read = readRaw(path, kind);
  return declaredDtype === 'bfloat16' ? { name: read.name, value: relabelBfloat16(read.value) } : read;
}

function relabelBfloat16(v: RuntimeValue): RuntimeValue {
  if (v === null) return v;
  if (Array.isArray(v)) return v.map((t) => relabelBfloat16(t) as Tensor);
  return v.dtype === 'uint16' ? new Tensor('bfloat16', v.shape, v.data) : v;
}

function readRaw(path: string, kind: ValueKind): TestValue {
  const bytes = new Uint8Array(readFileSync(path));
  switch (kind) {
    case 'tensor': {
      const { name, tensor } = decodeTensorProto(bytes);
      return { name, value: tensor };
    }
    case 'sequence': {
      const s = decodeSequence(bytes);
      return { name: s.name, value: s.tensors };
    }
    case 'optional':
      return decodeOptional(bytes);
  }
}

// onnx.proto: SequenceProto.ElementType / OptionalProto.ElementType
const ELEM_UNDEFINED = 0;
const ELEM_TENSOR = 1;
const ELEM_SEQUENCE = 3;

/** SequenceProto: 1 name, 2 elem_type, 3 tensor_values, 4 sparse, 5 map, 6 optional values. */
function decodeSequence(bytes: Uint8Array): { name: string; tensors: Tensor[] } {
  let name = '';
  const tensors: Tensor[] = [];
  forEachField(bytes, (field, r, wireType) => {
    if (field === 1) name = r.string();
    else if (field === 2) {
      const elem = r.int32();
      if (elem !== ELEM_TENSOR) throw new UnsupportedDataError(`sequence of element type ${elem}`);
    } else if (field === 3) tensors.push(decodeTensorProto(r.bytes()).tensor);
    else if (field >= 4 && field <= 6) throw new UnsupportedDataError(`sequence field ${field} (sparse, map or optional elements)`);
    else r.skipType(wireType);
  });
  return { name, tensors };
}

/** OptionalProto: 1 name, 2 elem_type, 3 tensor, 4 sparse, 5 sequence, 6 map, 7 optional. */
function decodeOptional(bytes: Uint8Array): TestValue {
  let name = '';
  let value: RuntimeValue = null;
  forEachField(bytes, (field, r, wireType) => {
    if (field === 1) name = r.string();
    else if (field === 2) {
      const elem = r.int32();
      // An empty optional may leave its element type UNDEFINED (0).
      if (elem !== ELEM_UNDEFINED && elem !== ELEM_TENSOR && elem !== ELEM_SEQUENCE) throw new UnsupportedDataError(`optional of element type ${elem}`);
    } else if (field === 3) value = decodeTensorProto(r.bytes()).tensor;
    else if (field === 5) value = decodeSequence(r.bytes()).tensors;
    else if (field === 4 || field === 6 || field === 7) throw new UnsupportedDataError(`optional field ${field} (sparse, map or nested optional)`);
    else r.skipType(wireType);
  });
  return { name, value };
}

function forEachField(bytes: Uint8Array, visit: (field: number, r: protobuf.Reader, wireType: number) => void): void {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    visit(tag >>> 3, r, tag & 7);
  }
}
