// Helpers of the importer that do not need its scoping state: value types from TypeProto,
// name collection, node ordering, and trimming of unused training outputs.

import type { DType } from '../ir/dtype.js';
import type { Dim, Graph, Node, Value, ValueKind } from '../ir/graph.js';
import type { Op } from '../ir/ops.js';
import { dtypeFromCode } from './dtype-codes.js';
import type { GraphProtoMsg, NodeProtoMsg, TensorShapeProtoMsg, TypeProtoMsg } from './schema.js';
import { int64ToNumber } from './schema.js';

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Dims from a TensorShapeProto: dim_value -> number, dim_param -> symbol, neither -> fresh symbol. */
export function shapeFromProto(s: TensorShapeProtoMsg, freshDim: () => string): Dim[] {
  return (s.dim ?? []).map((d) => {
    if (has(d, 'dimValue')) return int64ToNumber(d.dimValue);
    if (has(d, 'dimParam') && d.dimParam) return d.dimParam;
    return freshDim();
  });
}

function elemDtype(t: TypeProtoMsg | undefined | null): DType | undefined {
  if (!t) return undefined;
  if (t.tensorType) return dtypeFromCode(t.tensorType.elemType ?? 0);
  if (t.sparseTensorType) return dtypeFromCode(t.sparseTensorType.elemType ?? 0);
  if (t.sequenceType) return elemDtype(t.sequenceType.elemType);
  if (t.optionalType) return elemDtype(t.optionalType.elemType);
  return undefined;
}

/**
 * Declared ONNX types of non-tensor values (sequences, optionals, maps). The IR records only the
 * kind and element type, which cannot say "optional of a sequence"; export writes these back.
 * A side table keyed by value identity: it holds no state beyond the values it describes.
 */
export const declaredNonTensorTypes = new WeakMap<Value, TypeProtoMsg>();

/** Record a declared ONNX type (graph input/output or value_info) on a value. */
export function applyValueType(v: Value, t: TypeProtoMsg | undefined | null, freshDim: () => string): void {
  if (!t) return;
  if (!t.tensorType && !t.sparseTensorType) declaredNonTensorTypes.set(v, t);
  const tensor = t.tensorType ?? t.sparseTensorType;
  if (tensor) {
    v.kind = 'tensor';
    const dt = dtypeFromCode(tensor.elemType ?? 0);
    if (dt) v.dtype = dt;
    if (tensor.shape) v.shape = shapeFromProto(tensor.shape, freshDim);
  } else if (t.sequenceType) {
    v.kind = 'sequence';
    v.elemDtype = elemDtype(t.sequenceType.elemType);
  } else if (t.optionalType) {
    v.kind = 'optional';
    v.elemDtype = elemDtype(t.optionalType.elemType);
  }
}

/** Ops whose output is always a sequence or an optional, whatever the file declares. */
const NON_TENSOR_OUTPUT = new Map<Op, ValueKind>([
  ['Optional', 'optional'],
  ['SequenceConstruct', 'sequence'],
  ['SequenceEmpty', 'sequence'],
  ['SequenceErase', 'sequence'],
  ['SequenceInsert', 'sequence'],
  ['SplitToSequence', 'sequence'],
]);

/**
 * Mark the output of a sequence or optional producer as such, so that export does not describe
 * it as a tensor once inference has given it its element's dtype. Declared types refine it.
 */
export function applyOutputKind(n: Node): void {
  const kind = NON_TENSOR_OUTPUT.get(n.op);
  const out = n.outputs[0];
  if (!kind || !out) return;
  out.kind = kind;
  const declared = n.attrType('type');
  if (declared?.kind === 'tensor') out.elemDtype = declared.dtype;
}

/** Every value and node name in a graph and its subgraphs. */
export function collectNames(g: GraphProtoMsg, out = new Set<string>()): Set<string> {
  for (const t of g.initializer ?? []) if (t.name) out.add(t.name);
  for (const vi of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) if (vi.name) out.add(vi.name);
  for (const n of g.node ?? []) {
    if (n.name) out.add(n.name);
    for (const o of n.output ?? []) if (o) out.add(o);
    for (const a of n.attribute ?? []) {
      if (a.g) collectNames(a.g, out);
      for (const sub of a.graphs ?? []) collectNames(sub, out);
    }
  }
  return out;
}

/** Names a node reads, including those its subgraphs read from enclosing scopes. */
function namesRead(n: NodeProtoMsg, out: Set<string>): Set<string> {
  for (const i of n.input ?? []) if (i) out.add(i);
  for (const a of n.attribute ?? []) {
    for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) for (const sub of g.node ?? []) namesRead(sub, out);
  }
  return out;
}

/**
 * Nodes in an order where each comes after the producers of what it reads. Files are meant
 * to be sorted already; this keeps their order when they are and repairs it when not.
 */
export function sortNodes(nodes: readonly NodeProtoMsg[], definedOutside: (name: string) => boolean): NodeProtoMsg[] {
  const producer = new Map<string, NodeProtoMsg>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const done = new Set<NodeProtoMsg>();
  const visiting = new Set<NodeProtoMsg>();
  const order: NodeProtoMsg[] = [];
  const visit = (n: NodeProtoMsg): void => {
    if (done.has(n) || visiting.has(n)) return; // a cycle is reported when its input is missing
    visiting.add(n);
    for (const name of namesRead(n, new Set())) {
      const p = producer.get(name);
      if (p && p !== n && !definedOutside(name)) visit(p);
    }
    visiting.delete(n);
    done.add(n);
    order.push(n);
  };
  for (const n of nodes) visit(n);
  return order;
}

/**
 * BatchNormalization before opset 14 could list training outputs (running mean/var, saved
 * mean/var); inference graphs never read them and opset 14+ forbids them without
 * training_mode, so unused ones are dropped.
 */
export function trimTrainingOutputs(g: Graph): void {
  for (const n of g.nodes) {
    for (const sub of n.subgraphs()) trimTrainingOutputs(sub);
    if (n.op !== 'BatchNormalization' || n.attrInt('training_mode', 0) === 1 || n.outputs.length <= 1) continue;
    const extra = n.outputs.slice(1);
    if (extra.every((v) => v.uses.length === 0 && !isOutputAnywhere(v))) n.outputs.splice(1);
  }
}

function isOutputAnywhere(v: Value): boolean {
  for (let g: Graph | undefined = v.graph; g; g = g.parent) if (g.outputs.includes(v)) return true;
  return false;
}
