// The ONNX protobuf schema (IR version 10), built with protobufjs's reflection API from the
// field numbers of the ONNX specification. We build it here rather than depend on the npm
// `onnx-proto` package, which stops at IR 8 (no float8/int4 types, no IR 9/10 fields).
//
// ONNX's .proto is proto2: repeated numeric fields are packed only where the spec marks them
// so (the TensorProto data arrays); the others (dims, ints) are written expanded. Parsers accept
// both forms either way. TrainingInfoProto and quantization annotations are not modelled: their
// fields are skipped on decode.

import protobuf from 'protobufjs';
import { toInt64 } from '../ir/graph.js';

const { Root, Type, Field, Enum, OneOf } = protobuf;

/** Plain-object views of decoded messages (only the fields the frontend reads or writes). */
export type Int64 = number | bigint | { low: number; high: number; unsigned?: boolean };

export interface StringStringEntry {
  key?: string;
  value?: string;
}

export interface TensorProtoMsg {
  dims?: Int64[];
  dataType?: number;
  segment?: { begin?: Int64; end?: Int64 };
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: Int64[];
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData?: StringStringEntry[];
  dataLocation?: number;
  doubleData?: number[];
  uint64Data?: Int64[];
  metadataProps?: StringStringEntry[];
}

export interface SparseTensorProtoMsg {
  values?: TensorProtoMsg;
  indices?: TensorProtoMsg;
  dims?: Int64[];
}

export interface DimensionMsg {
  dimValue?: Int64;
  dimParam?: string;
  denotation?: string;
  value?: 'dimValue' | 'dimParam';
}

export interface TensorShapeProtoMsg {
  dim?: DimensionMsg[];
}

export interface TypeProtoMsg {
  tensorType?: { elemType?: number; shape?: TensorShapeProtoMsg };
  sequenceType?: { elemType?: TypeProtoMsg };
  mapType?: { keyType?: number; valueType?: TypeProtoMsg };
  optionalType?: { elemType?: TypeProtoMsg };
  sparseTensorType?: { elemType?: number; shape?: TensorShapeProtoMsg };
  denotation?: string;
  value?: 'tensorType' | 'sequenceType' | 'mapType' | 'optionalType' | 'sparseTensorType';
}

export interface ValueInfoProtoMsg {
  name?: string;
  type?: TypeProtoMsg;
  docString?: string;
  metadataProps?: StringStringEntry[];
}

export interface AttributeProtoMsg {
  name?: string;
  refAttrName?: string;
  docString?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProtoMsg;
  g?: GraphProtoMsg;
  sparseTensor?: SparseTensorProtoMsg;
  tp?: TypeProtoMsg;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProtoMsg[];
  graphs?: GraphProtoMsg[];
  sparseTensors?: SparseTensorProtoMsg[];
  typeProtos?: TypeProtoMsg[];
}

export interface NodeProtoMsg {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  overload?: string;
  attribute?: AttributeProtoMsg[];
  docString?: string;
  metadataProps?: StringStringEntry[];
}

export interface GraphProtoMsg {
  node?: NodeProtoMsg[];
  name?: string;
  initializer?: TensorProtoMsg[];
  sparseInitializer?: SparseTensorProtoMsg[];
  docString?: string;
  input?: ValueInfoProtoMsg[];
  output?: ValueInfoProtoMsg[];
  valueInfo?: ValueInfoProtoMsg[];
  metadataProps?: StringStringEntry[];
}

export interface OperatorSetIdMsg {
  domain?: string;
  version?: Int64;
}

export interface FunctionProtoMsg {
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  attributeProto?: AttributeProtoMsg[];
  node?: NodeProtoMsg[];
  docString?: string;
  opsetImport?: OperatorSetIdMsg[];
  domain?: string;
  overload?: string;
  valueInfo?: ValueInfoProtoMsg[];
  metadataProps?: StringStringEntry[];
}

export interface ModelProtoMsg {
  irVersion?: Int64;
  opsetImport?: OperatorSetIdMsg[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: GraphProtoMsg;
  metadataProps?: StringStringEntry[];
  functions?: FunctionProtoMsg[];
}

/** ONNX TensorProto.DataType codes. */
export const DataTypeCode = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8,
  BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15,
  BFLOAT16: 16, FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20,
  UINT4: 21, INT4: 22,
} as const;

/** ONNX AttributeProto.AttributeType codes. */
export const AttributeTypeCode = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

export const DataLocationCode = { DEFAULT: 0, EXTERNAL: 1 } as const;

// A field spec: [name, number, type, rule?, packed?]. Names are camelCase, as protobufjs
// exposes them (ONNX's snake_case names map one to one).
type FieldSpec = [name: string, id: number, type: string, rule?: 'repeated', packed?: true];

function message(name: string, fields: FieldSpec[]): protobuf.Type {
  const t = new Type(name);
  for (const [fname, id, type, rule, packed] of fields) {
    t.add(new Field(fname, id, type, rule ?? 'optional', undefined, packed ? { packed: true } : undefined));
  }
  return t;
}

function buildRoot(): protobuf.Root {
  const root = new Root();
  const onnx = root.define('onnx');

  onnx.add(message('StringStringEntryProto', [['key', 1, 'string'], ['value', 2, 'string']]));
  onnx.add(message('OperatorSetIdProto', [['domain', 1, 'string'], ['version', 2, 'int64']]));

  const tensor = message('TensorProto', [
    ['dims', 1, 'int64', 'repeated'],
    ['dataType', 2, 'int32'],
    ['segment', 3, 'Segment'],
    ['floatData', 4, 'float', 'repeated', true],
    ['int32Data', 5, 'int32', 'repeated', true],
    ['stringData', 6, 'bytes', 'repeated'],
    ['int64Data', 7, 'int64', 'repeated', true],
    ['name', 8, 'string'],
    ['rawData', 9, 'bytes'],
    ['doubleData', 10, 'double', 'repeated', true],
    ['uint64Data', 11, 'uint64', 'repeated', true],
    ['docString', 12, 'string'],
    ['externalData', 13, 'StringStringEntryProto', 'repeated'],
    ['dataLocation', 14, 'DataLocation'],
    ['metadataProps', 16, 'StringStringEntryProto', 'repeated'],
  ]);
  tensor.add(message('Segment', [['begin', 1, 'int64'], ['end', 2, 'int64']]));
  tensor.add(new Enum('DataType', { ...DataTypeCode }));
  tensor.add(new Enum('DataLocation', { ...DataLocationCode }));
  onnx.add(tensor);

  onnx.add(message('SparseTensorProto', [
    ['values', 1, 'TensorProto'],
    ['indices', 2, 'TensorProto'],
    ['dims', 3, 'int64', 'repeated'],
  ]));

  const shape = message('TensorShapeProto', [['dim', 1, 'Dimension', 'repeated']]);
  const dim = message('Dimension', [['dimValue', 1, 'int64'], ['dimParam', 2, 'string'], ['denotation', 3, 'string']]);
  dim.add(new OneOf('value', ['dimValue', 'dimParam']));
  shape.add(dim);
  onnx.add(shape);

  const typeProto = message('TypeProto', [
    ['tensorType', 1, 'Tensor'],
    ['sequenceType', 4, 'Sequence'],
    ['mapType', 5, 'Map'],
    ['denotation', 6, 'string'],
    ['sparseTensorType', 8, 'SparseTensor'],
    ['optionalType', 9, 'Optional'],
  ]);
  typeProto.add(new OneOf('value', ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType']));
  typeProto.add(message('Tensor', [['elemType', 1, 'int32'], ['shape', 2, 'TensorShapeProto']]));
  typeProto.add(message('Sequence', [['elemType', 1, 'TypeProto']]));
  typeProto.add(message('Map', [['keyType', 1, 'int32'], ['valueType', 2, 'TypeProto']]));
  typeProto.add(message('Optional', [['elemType', 1, 'TypeProto']]));
  typeProto.add(message('SparseTensor', [['elemType', 1, 'int32'], ['shape', 2, 'TensorShapeProto']]));
  onnx.add(typeProto);

  onnx.add(message('ValueInfoProto', [
    ['name', 1, 'string'],
    ['type', 2, 'TypeProto'],
    ['docString', 3, 'string'],
    ['metadataProps', 4, 'StringStringEntryProto', 'repeated'],
  ]));

  const attribute = message('AttributeProto', [
    ['name', 1, 'string'],
    ['f', 2, 'float'],
    ['i', 3, 'int64'],
    ['s', 4, 'bytes'],
    ['t', 5, 'TensorProto'],
    ['g', 6, 'GraphProto'],
    ['floats', 7, 'float', 'repeated'],
    ['ints', 8, 'int64', 'repeated'],
    ['strings', 9, 'bytes', 'repeated'],
    ['tensors', 10, 'TensorProto', 'repeated'],
    ['graphs', 11, 'GraphProto', 'repeated'],
    ['docString', 13, 'string'],
    ['tp', 14, 'TypeProto'],
    ['typeProtos', 15, 'TypeProto', 'repeated'],
    ['type', 20, 'AttributeType'],
    ['refAttrName', 21, 'string'],
    ['sparseTensor', 22, 'SparseTensorProto'],
    ['sparseTensors', 23, 'SparseTensorProto', 'repeated'],
  ]);
  attribute.add(new Enum('AttributeType', { ...AttributeTypeCode }));
  onnx.add(attribute);

  onnx.add(message('NodeProto', [
    ['input', 1, 'string', 'repeated'],
    ['output', 2, 'string', 'repeated'],
    ['name', 3, 'string'],
    ['opType', 4, 'string'],
    ['attribute', 5, 'AttributeProto', 'repeated'],
    ['docString', 6, 'string'],
    ['domain', 7, 'string'],
    ['overload', 8, 'string'],
    ['metadataProps', 9, 'StringStringEntryProto', 'repeated'],
  ]));

  onnx.add(message('GraphProto', [
    ['node', 1, 'NodeProto', 'repeated'],
    ['name', 2, 'string'],
    ['initializer', 5, 'TensorProto', 'repeated'],
    ['docString', 10, 'string'],
    ['input', 11, 'ValueInfoProto', 'repeated'],
    ['output', 12, 'ValueInfoProto', 'repeated'],
    ['valueInfo', 13, 'ValueInfoProto', 'repeated'],
    ['sparseInitializer', 15, 'SparseTensorProto', 'repeated'],
    ['metadataProps', 16, 'StringStringEntryProto', 'repeated'],
  ]));

  onnx.add(message('FunctionProto', [
    ['name', 1, 'string'],
    ['input', 4, 'string', 'repeated'],
    ['output', 5, 'string', 'repeated'],
    ['attribute', 6, 'string', 'repeated'],
    ['node', 7, 'NodeProto', 'repeated'],
    ['docString', 8, 'string'],
    ['opsetImport', 9, 'OperatorSetIdProto', 'repeated'],
    ['domain', 10, 'string'],
    ['attributeProto', 11, 'AttributeProto', 'repeated'],
    ['valueInfo', 12, 'ValueInfoProto', 'repeated'],
    ['overload', 13, 'string'],
    ['metadataProps', 14, 'StringStringEntryProto', 'repeated'],
  ]));

  onnx.add(message('ModelProto', [
    ['irVersion', 1, 'int64'],
    ['producerName', 2, 'string'],
    ['producerVersion', 3, 'string'],
    ['domain', 4, 'string'],
    ['modelVersion', 5, 'int64'],
    ['docString', 6, 'string'],
    ['graph', 7, 'GraphProto'],
    ['opsetImport', 8, 'OperatorSetIdProto', 'repeated'],
    ['metadataProps', 14, 'StringStringEntryProto', 'repeated'],
    ['functions', 25, 'FunctionProto', 'repeated'],
  ]));

  root.resolveAll();
  return root;
}

const root = buildRoot();

export const ModelProto = root.lookupType('onnx.ModelProto');
export const GraphProto = root.lookupType('onnx.GraphProto');
export const TensorProto = root.lookupType('onnx.TensorProto');
export const NodeProto = root.lookupType('onnx.NodeProto');
export const AttributeProto = root.lookupType('onnx.AttributeProto');
export const TypeProto = root.lookupType('onnx.TypeProto');
export const ValueInfoProto = root.lookupType('onnx.ValueInfoProto');
export const SparseTensorProto = root.lookupType('onnx.SparseTensorProto');
export const FunctionProto = root.lookupType('onnx.FunctionProto');

/** Convert a decoded protobuf int64 (number, Long or bigint) to a bigint. */
export function int64ToBigInt(v: Int64 | undefined | null, unsigned = false): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned || v.unsigned ? bits : BigInt.asIntN(64, bits);
}

/** A decoded int64 as a JS number (exact below 2^53; INT64_MAX becomes 9.223372036854776e18). */
export function int64ToNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  return Number(int64ToBigInt(v));
}

/** An int64 for protobufjs's writer, which takes numbers or {low, high} words but not bigints. */
export function bigIntToInt64(v: bigint | number): Int64 {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    v = toInt64(v);
  }
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}
