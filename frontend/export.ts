// IR Model -> ModelProto at ai.onnx opset 21, IR version 10. Constants become initializers
// (raw_data, or external data past a size threshold), known types become value_info, sparsec's
// own ops are decomposed into standard ops (decompose.ts), and Opaque nodes are written back
// with their domain, op_type and their domain's opset.

import { error } from '../ir/diagnostics.js';
import type { Graph, Model, Node, Value } from '../ir/graph.js';
import { attrToProto } from './attributes.js';
import { attrForExport } from './dtype-attrs.js';
import { decomposeNode, type NodeSink } from './decompose.js';
import { OMITTED_OUTPUTS } from './import.js';
import { declaredNonTensorTypes } from './import-util.js';
import {
  ModelProto,
  type GraphProtoMsg,
  type ModelProtoMsg,
  type NodeProtoMsg,
  type TypeProtoMsg,
  type ValueInfoProtoMsg,
} from './schema.js';
import { tensorToProto, type ExternalSink } from './tensor-proto.js';
import { typeDescToProto } from './type-desc.js';
import { CANONICAL_OPSET } from './upgrade.js';

export const EXPORT_IR_VERSION = 10;

export interface EncodeOptions {
  /** Where large tensors go instead of raw_data (see saveModel's externalDataThreshold). */
  external?: ExternalSink;
}

/** Hands out names no value or node of the model uses. */
class NameAllocator {
  private readonly taken = new Set<string>();
  constructor(model: Model) {
    const visit = (g: Graph): void => {
      for (const v of g.values()) this.taken.add(v.name);
      for (const n of g.nodes) {
        this.taken.add(n.name);
        for (const sub of n.subgraphs()) visit(sub);
      }
    };
    visit(model.graph);
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }
}

interface ExportContext {
  names: NameAllocator;
  external?: ExternalSink;
  opsets: Map<string, number>;
  model: Model;
}

export function modelToProto(model: Model, opts: EncodeOptions = {}): ModelProtoMsg {
  const ctx: ExportContext = { names: new NameAllocator(model), external: opts.external, opsets: new Map([['', CANONICAL_OPSET]]), model };
  const graph = graphToProto(model.graph, ctx);
  return {
    irVersion: EXPORT_IR_VERSION,
    producerName: model.producerName || 'sparsec',
    producerVersion: model.producerVersion,
    domain: model.domain,
    modelVersion: model.modelVersion,
    docString: model.docString,
    graph,
    opsetImport: [...ctx.opsets].map(([domain, version]) => ({ domain, version })),
    metadataProps: [...model.metadata].map(([key, value]) => ({ key, value })),
  };
}

export function encodeModel(model: Model, opts: EncodeOptions = {}): Uint8Array {
  const proto = modelToProto(model, opts);
  try {
    return ModelProto.encode(proto).finish();
  } catch (e) {
    if (e instanceof RangeError) {
      throw error(
        'BAD_MODEL',
        'the model is too large to write as one ONNX file (protobuf limit of 2 GiB)',
        model.sourcePath ? { file: model.sourcePath } : undefined,
        'Save it with saveModel(model, path, { externalDataThreshold: 1024 }) so weights go to a data file.',
      );
    }
    throw e;
  }
}

function typeProto(v: Value): TypeProtoMsg | undefined {
  const declared = v.kind !== 'tensor' ? declaredNonTensorTypes.get(v) : undefined;
  if (declared) return declared;
  const elem = v.kind === 'tensor' ? v.dtype : v.elemDtype;
  if (!elem) return undefined;
  if (v.kind === 'tensor') return typeDescToProto({ kind: 'tensor', dtype: elem, shape: v.shape });
  return typeDescToProto({ kind: v.kind, elem: { kind: 'tensor', dtype: elem } });
}

const valueInfo = (v: Value, name = v.name): ValueInfoProtoMsg => ({ name, type: typeProto(v) });

function graphToProto(g: Graph, ctx: ExportContext): GraphProtoMsg {
  const nodes: NodeProtoMsg[] = [];
  const initializer = [...g.constants.values()].map((v) => tensorToProto(v.name, v.const!, ctx.external));
  const sink: NodeSink = {
    fresh: (base) => ctx.names.fresh(base),
    constant: (name, t) => initializer.push(tensorToProto(name, t, ctx.external)),
    node: (n) => nodes.push(n),
  };
  for (const n of g.nodes) {
    if (!decomposeNode(n, sink)) nodes.push(nodeToProto(n, ctx));
  }

  // Graph outputs must be values of this graph, each listed once; others go through Identity.
  const own = new Set<Value>(g.values());
  const listed = new Set<string>();
  const output: ValueInfoProtoMsg[] = [];
  for (const v of g.outputs) {
    let name = v.name;
    if (!own.has(v) || listed.has(name)) {
      name = ctx.names.fresh(`${v.name}_out`);
      nodes.push({ name: ctx.names.fresh(`${name}_identity`), opType: 'Identity', input: [v.name], output: [name] });
    }
    listed.add(name);
    output.push(valueInfo(v, name));
  }

  const valueInfos: ValueInfoProtoMsg[] = [];
  for (const n of g.nodes) {
    for (const v of n.outputs) {
      if (!listed.has(v.name) && typeProto(v)) valueInfos.push(valueInfo(v));
    }
  }
  return {
    name: g.name,
    docString: g.docString,
    node: nodes,
    initializer,
    input: g.inputs.map((v) => valueInfo(v)),
    output,
    valueInfo: valueInfos,
  };
}

function nodeToProto(n: Node, ctx: ExportContext): NodeProtoMsg {
  let opType: string = n.op;
  let domain = '';
  if (n.op === 'Opaque') {
    opType = n.opType;
    domain = n.domain;
    // Other domains keep the version they were imported with; an ai.onnx op sparsec does not
    // know keeps a newer ai.onnx opset if the model had one.
    const version = ctx.model.opsets.get(domain) ?? 1;
    ctx.opsets.set(domain, Math.max(ctx.opsets.get(domain) ?? 0, version));
  }
  const omitted = new Set((n.annotations.get(OMITTED_OUTPUTS) as number[] | undefined) ?? []);
  const inputs = n.inputs.map((v) => v?.name ?? '');
  while (inputs.length && inputs[inputs.length - 1] === '') inputs.pop();
  const outputs = n.outputs.map((v, i) => (omitted.has(i) && v.uses.length === 0 && !v.isGraphOutput ? '' : v.name));
  while (outputs.length > 1 && outputs[outputs.length - 1] === '') outputs.pop();
  return {
    name: n.name,
    opType,
    domain,
    input: inputs,
    output: outputs,
    attribute: [...n.attrs].map(([name, a]) =>
      attrToProto(name, n.op === 'Opaque' ? a : attrForExport(opType, name, a), {
        tensor: (t) => tensorToProto('', t),
        graph: (sub) => graphToProto(sub, ctx),
      }),
    ),
  };
}
