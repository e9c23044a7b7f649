// AttributeProto <-> IR Attr. Graph attributes are imported by a callback (the importer owns
// scoping); TypeProto attributes become TypeDesc values (type-desc.ts).

import { error, type Location } from '../ir/diagnostics.js';
import type { Attr, Graph } from '../ir/graph.js';
import { AttributeTypeCode as A, bigIntToInt64, int64ToNumber, type AttributeProtoMsg, type GraphProtoMsg } from './schema.js';
import { sparseTensorFromProto, tensorFromProto, type TensorDecodeContext } from './tensor-proto.js';
import { typeDescFromProto, typeDescToProto } from './type-desc.js';

const utf8 = new TextDecoder('utf-8');

/** AttributeProto.type, inferred from the fields present when a writer left it UNDEFINED. */
function attributeType(a: AttributeProtoMsg): number {
  if (a.type) return a.type;
  const has = (k: keyof AttributeProtoMsg) => Object.prototype.hasOwnProperty.call(a, k);
  if (has('f')) return A.FLOAT;
  if (has('i')) return A.INT;
  if (has('s')) return A.STRING;
  if (a.t) return A.TENSOR;
  if (a.g) return A.GRAPH;
  if (a.sparseTensor) return A.SPARSE_TENSOR;
  if (a.tp) return A.TYPE_PROTO;
  if (a.floats?.length) return A.FLOATS;
  if (a.ints?.length) return A.INTS;
  if (a.strings?.length) return A.STRINGS;
  if (a.tensors?.length) return A.TENSORS;
  if (a.graphs?.length) return A.GRAPHS;
  if (a.sparseTensors?.length) return A.SPARSE_TENSORS;
  if (a.typeProtos?.length) return A.TYPE_PROTOS;
  return A.UNDEFINED;
}

export interface AttrImportContext {
  tensors: TensorDecodeContext;
  location: Location;
  importGraph(g: GraphProtoMsg, attrName: string): Graph;
  /** A fresh symbol for a dim a type attribute leaves unnamed. */
  freshDim(): string;
}

/** Convert one attribute. */
export function attrFromProto(a: AttributeProtoMsg, ctx: AttrImportContext): Attr {
  const name = a.name ?? '';
  switch (attributeType(a)) {
    case A.FLOAT:
      return { kind: 'float', value: a.f ?? 0 };
    case A.INT:
      return { kind: 'int', value: int64ToNumber(a.i) };
    case A.STRING:
      return { kind: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case A.TENSOR:
      return { kind: 'tensor', value: tensorFromProto(a.t ?? {}, ctx.tensors) };
    case A.SPARSE_TENSOR:
      return { kind: 'tensor', value: sparseTensorFromProto(a.sparseTensor ?? {}, ctx.tensors) };
    case A.GRAPH:
      return { kind: 'graph', value: ctx.importGraph(a.g ?? {}, name) };
    case A.FLOATS:
      return { kind: 'floats', value: Array.from(a.floats ?? []) };
    case A.INTS:
      return { kind: 'ints', value: (a.ints ?? []).map((v) => int64ToNumber(v)) };
    case A.STRINGS:
      return { kind: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case A.TENSORS:
      return { kind: 'tensors', value: (a.tensors ?? []).map((t) => tensorFromProto(t, ctx.tensors)) };
    case A.SPARSE_TENSORS:
      return { kind: 'tensors', value: (a.sparseTensors ?? []).map((t) => sparseTensorFromProto(t, ctx.tensors)) };
    case A.GRAPHS:
      return { kind: 'graphs', value: (a.graphs ?? []).map((g, i) => ctx.importGraph(g, `${name}_${i}`)) };
    case A.TYPE_PROTO:
      return { kind: 'type', value: typeDescFromProto(a.tp ?? {}, ctx.freshDim, ctx.location) };
    case A.TYPE_PROTOS:
      return { kind: 'types', value: (a.typeProtos ?? []).map((t) => typeDescFromProto(t, ctx.freshDim, ctx.location)) };
    default:
      // An empty list attribute (ints: []) has no field on the wire to tell its kind by.
      if (a.type === undefined || a.type === A.UNDEFINED) return { kind: 'ints', value: [] };
      throw error('BAD_MODEL', `attribute '${name}' has unknown type ${a.type}`, ctx.location);
  }
}

/** The AttributeProto message for an IR attribute; graphs are encoded by the callback. */
export function attrToProto(name: string, a: Attr, enc: {
  tensor(t: Extract<Attr, { kind: 'tensor' }>['value']): object;
  graph(g: Graph): object;
}): AttributeProtoMsg {
  const e = new TextEncoder();
  switch (a.kind) {
    case 'float':
      return { name, type: A.FLOAT, f: a.value };
    case 'int':
      return { name, type: A.INT, i: bigIntToInt64(a.value) };
    case 'string':
      return { name, type: A.STRING, s: e.encode(a.value) };
    case 'tensor':
      return { name, type: A.TENSOR, t: enc.tensor(a.value) };
    case 'graph':
      return { name, type: A.GRAPH, g: enc.graph(a.value) };
    case 'floats':
      return { name, type: A.FLOATS, floats: a.value };
    case 'ints':
      return { name, type: A.INTS, ints: a.value.map((v) => bigIntToInt64(v)) };
    case 'strings':
      return { name, type: A.STRINGS, strings: a.value.map((s) => e.encode(s)) };
    case 'tensors':
      return { name, type: A.TENSORS, tensors: a.value.map((t) => enc.tensor(t)) };
    case 'graphs':
      return { name, type: A.GRAPHS, graphs: a.value.map((g) => enc.graph(g)) };
    case 'type':
      return { name, type: A.TYPE_PROTO, tp: typeDescToProto(a.value) };
    case 'types':
      return { name, type: A.TYPE_PROTOS, typeProtos: a.value.map(typeDescToProto) };
  }
}
