// ModelProto -> IR Model. Names are kept verbatim; initializers and Constant nodes become
// constant values; subgraphs become nested Graphs that see enclosing values lexically; every
// ai.onnx node is brought to its opset-21 form by upgrade.ts; model-local functions are
// inlined; anything else (other domains, ops newer than the IR) becomes an Opaque node.

import { error, type Diagnostic, type Location } from '../ir/diagnostics.js';
import { Graph, Model, toInt64, type Attr, type Value } from '../ir/graph.js';
import { Op, isOnnxOp } from '../ir/ops.js';
import { Tensor } from '../ir/tensor.js';
import { attrFromProto } from './attributes.js';
import { dtypeAttrsToNames } from './dtype-attrs.js';
import { ExternalDataReader } from './external-data.js';
import { applyOutputKind, applyValueType, collectNames, sortNodes, trimTrainingOutputs } from './import-util.js';
import { parseProto } from './parse.js';
import {
  ModelProto,
  int64ToNumber,
  type AttributeProtoMsg,
  type FunctionProtoMsg,
  type GraphProtoMsg,
  type ModelProtoMsg,
  type NodeProtoMsg,
  type TypeProtoMsg,
} from './schema.js';
import { sparseTensorFromProto, tensorFromProto, type TensorDecodeContext } from './tensor-proto.js';
import { CANONICAL_OPSET, newerOpsetWarning, upgradeNode, type UpgradeBuilder } from './upgrade.js';

export interface DecodeOptions {
  /** The model file, named in diagnostics. */
  file?: string;
  /** Folder that external data locations are relative to; without it external data is an error. */
  baseDir?: string;
  /** Chunk size of external data reads (tests use small ones). */
  chunkBytes?: number;
}

/** Annotation on nodes listing output indices that were '' (omitted) in the file. */
export const OMITTED_OUTPUTS = 'onnx.omittedOutputs';

export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Model {
  const proto = parseProto<ModelProtoMsg>(ModelProto, bytes, opts.file, 'ModelProto');
  const external = opts.baseDir !== undefined
    ? new ExternalDataReader({ file: opts.file ?? 'model.onnx', baseDir: opts.baseDir, chunkBytes: opts.chunkBytes })
    : undefined;
  try {
    return importModel(proto, { file: opts.file, external });
  } finally {
    external?.close();
  }
}

/** Lexical scope: a graph's values, falling back to the enclosing graph's. */
class Scope {
  private readonly values = new Map<string, Value>();
  constructor(readonly parent?: Scope) {}
  get(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.get(name);
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  set(name: string, v: Value): void {
    this.values.set(name, v);
  }
}

interface ModelContext {
  file?: string;
  tensors: TensorDecodeContext;
  warnings: Diagnostic[];
  functions: Map<string, FunctionProtoMsg>;
  nextDim: number;
  nodeNames: Set<string>;
}

/** Where nodes are being imported: a graph, its scope, its opsets and how outputs are named. */
interface Frame {
  graph: Graph;
  scope: Scope;
  opsets: ReadonlyMap<string, number>;
  types: ReadonlyMap<string, TypeProtoMsg>;
  /** Final name of a value written as `name` in the file (inlined functions rename). */
  outputName(name: string): string;
  /** Call-site attributes for `ref_attr_name` inside an inlined function. */
  attrRefs?: ReadonlyMap<string, AttributeProtoMsg>;
  depth: number;
}

const normDomain = (d: string | undefined): string => (d === 'ai.onnx' ? '' : d ?? '');

export function importModel(proto: ModelProtoMsg, opts: { file?: string; external?: ExternalDataReader }): Model {
  const file = opts.file;
  if (!proto.graph) {
    throw error('BAD_MODEL', 'cannot parse ONNX model (truncated or not an ONNX file): it has no graph', file ? { file } : undefined);
  }
  const ctx: ModelContext = {
    file,
    tensors: { file, external: opts.external },
    warnings: [],
    functions: new Map((proto.functions ?? []).map((f) => [`${normDomain(f.domain)}::${f.name}`, f])),
    nextDim: 0,
    nodeNames: new Set(),
  };
  const graph = new Graph(proto.graph.name || 'main');
  const model = new Model(graph);
  for (const o of proto.opsetImport ?? []) model.opsets.set(normDomain(o.domain), int64ToNumber(o.version));
  if (!model.opsets.has('')) model.opsets.set('', 1);
  const onnxVersion = model.opsets.get('')!;
  if (onnxVersion > CANONICAL_OPSET) ctx.warnings.push(newerOpsetWarning(onnxVersion, file));

  model.irVersion = int64ToNumber(proto.irVersion);
  model.producerName = proto.producerName ?? '';
  model.producerVersion = proto.producerVersion ?? '';
  model.domain = proto.domain ?? '';
  model.modelVersion = int64ToNumber(proto.modelVersion);
  model.docString = proto.docString ?? '';
  for (const p of proto.metadataProps ?? []) model.metadata.set(p.key ?? '', p.value ?? '');
  model.sourcePath = file;

  // Reserve every name in the file first, so names we generate never take one of them.
  for (const n of collectNames(proto.graph)) graph.reserveName(n);
  importGraph(proto.graph, graph, new Scope(), model.opsets, ctx);
  trimTrainingOutputs(graph);
  model.warnings.push(...ctx.warnings);
  return model;
}

function rename(v: Value, name: string): void {
  const g = v.graph;
  if (v.const && g.constants.get(v.name) === v) {
    g.constants.delete(v.name);
    g.constants.set(name, v);
  }
  v.name = name;
}

function importGraph(gp: GraphProtoMsg, graph: Graph, scope: Scope, opsets: ReadonlyMap<string, number>, ctx: ModelContext): void {
  graph.docString = gp.docString ?? '';
  const types = new Map<string, TypeProtoMsg>();
  for (const vi of [...(gp.valueInfo ?? []), ...(gp.input ?? []), ...(gp.output ?? [])]) {
    if (vi.name && vi.type) types.set(vi.name, vi.type);
  }
  const frame: Frame = { graph, scope, opsets, types, outputName: (n) => n, depth: 0 };
  const define = (name: string, v: Value) => {
    if (scope.has(name)) throw error('BAD_MODEL', `value '${name}' is defined twice in graph '${graph.name}'`, { file: ctx.file, value: name });
    rename(v, name);
    scope.set(name, v);
  };

  for (const t of gp.initializer ?? []) define(t.name ?? '', graph.addConstant(t.name ?? '', tensorFromProto(t, ctx.tensors)));
  for (const st of gp.sparseInitializer ?? []) {
    const name = st.values?.name ?? '';
    define(name, graph.addConstant(name, sparseTensorFromProto(st, ctx.tensors)));
  }
  for (const vi of gp.input ?? []) {
    const name = vi.name ?? '';
    // IR < 4 listed initializers among the inputs too; they stay constants.
    if (scope.has(name)) continue;
    const v = graph.addInput(name, undefined, undefined);
    define(name, v);
    applyValueType(v, vi.type, () => `unk__${ctx.nextDim++}`);
  }
  for (const np of sortNodes(gp.node ?? [], (n) => scope.get(n) !== undefined)) importNode(np, frame, ctx);
  for (const vi of gp.output ?? []) {
    const name = vi.name ?? '';
    const v = scope.get(name);
    if (!v) throw error('BAD_MODEL', `graph '${graph.name}' output '${name}' is not computed by any node`, { file: ctx.file, value: name });
    if (!v.const && v.dtype === undefined) applyValueType(v, vi.type, () => `unk__${ctx.nextDim++}`);
    graph.outputs.push(v);
  }
}

function uniqueNodeName(name: string, opType: string, graph: Graph, ctx: ModelContext): string {
  if (name && !ctx.nodeNames.has(name)) {
    ctx.nodeNames.add(name);
    return name;
  }
  const fresh = graph.uniqueName(name || opType.toLowerCase());
  ctx.nodeNames.add(fresh);
  return fresh;
}

function importNode(np: NodeProtoMsg, frame: Frame, ctx: ModelContext): void {
  const { graph, scope } = frame;
  const opType = np.opType ?? '';
  const domain = normDomain(np.domain);
  const name = uniqueNodeName(np.name ?? '', opType, graph, ctx);
  const loc: Location = { file: ctx.file, node: name, opType };

  const inputs = (np.input ?? []).map((n) => {
    if (n === '') return undefined;
    const v = scope.get(n);
    if (!v) throw error('BAD_MODEL', `input '${n}' is not computed by any node, graph input or initializer`, loc);
    return v;
  });
  const attrProtos = resolveAttrRefs(np.attribute ?? [], frame.attrRefs);
  const attrs = new Map<string, Attr>();
  for (const a of attrProtos) {
    const attr = attrFromProto(a, {
      tensors: ctx.tensors,
      location: loc,
      importGraph: (g, attrName) => {
        const sub = new Graph(g.name || `${name}_${attrName}`, graph);
        importGraph(g, sub, new Scope(scope), frame.opsets, ctx);
        return sub;
      },
      freshDim: () => `unk__${ctx.nextDim++}`,
    });
    attrs.set(a.name ?? '', attr);
  }
  const outputs = np.output ?? [];
  const emitter = new Emitter(frame, ctx, name, loc);

  if (domain === '' && opType === 'Constant') return emitter.constant(constantValue(attrs, loc), outputs[0] ?? '');
  const fn = ctx.functions.get(`${domain}::${opType}`);
  if (fn) return inlineFunction(fn, inputs, attrProtos, outputs, frame, ctx, loc);
  const version = frame.opsets.get(domain) ?? 1;
  if (domain === '' && (isOnnxOp(opType) || opType === 'ImageScaler')) {
    const form = upgradeNode({ opType, name, inputs, attrs, outputs }, emitter.builder(version));
    if (form && isOnnxOp(form.opType)) {
      dtypeAttrsToNames(form.opType, form.attrs, loc);
      emitter.emit(form.opType, form.inputs, form.attrs, form.outputs, { name });
    }
    else if (form) emitter.emit(Op.Opaque, form.inputs, form.attrs, form.outputs, { name, domain, opType: form.opType, opsetVersion: version });
    return;
  }
  emitter.emit(Op.Opaque, inputs, attrs, outputs, { name, domain, opType, opsetVersion: version });
}

/** Builds IR nodes for one imported node: final outputs with file names, helpers with fresh ones. */
class Emitter {
  constructor(
    private readonly frame: Frame,
    private readonly ctx: ModelContext,
    private readonly nodeName: string,
    private readonly loc: Location,
  ) {}

  emit(
    op: Op,
    inputs: readonly (Value | undefined)[],
    attrs: Map<string, Attr> | Record<string, Attr>,
    outputs: readonly string[],
    extra: { name?: string; domain?: string; opType?: string; opsetVersion?: number },
  ): Value[] {
    const { graph } = this.frame;
    const node = graph.addNode({ op, inputs, attrs, outputs: outputs.map((o) => o || 'unused'), ...extra });
    if (extra.name !== undefined) node.name = extra.name;
    applyOutputKind(node);
    const omitted: number[] = [];
    outputs.forEach((o, i) => {
      const v = node.outputs[i]!;
      if (o === '') omitted.push(i);
      else this.define(o, v);
    });
    if (omitted.length) node.annotations.set(OMITTED_OUTPUTS, omitted);
    return node.outputs;
  }

  constant(tensor: Tensor, name: string): void {
    this.define(name, this.frame.graph.addConstant(name || `${this.nodeName}_value`, tensor));
  }

  /** Make `v` (already named) visible as `name` in this frame's scope. */
  bind(name: string, v: Value): void {
    if (this.frame.scope.has(name)) throw error('BAD_MODEL', `value '${name}' is computed twice`, this.loc);
    this.frame.scope.set(name, v);
  }

  /** Bind file name `name` to `v` in scope; the value takes the frame's final name for it. */
  private define(name: string, v: Value): void {
    const { scope, types } = this.frame;
    if (scope.has(name)) throw error('BAD_MODEL', `value '${name}' is computed twice`, this.loc);
    rename(v, this.frame.outputName(name));
    scope.set(name, v);
    if (!v.const) applyValueType(v, types.get(name), () => `unk__${this.ctx.nextDim++}`);
  }

  builder(opsetVersion: number): UpgradeBuilder {
    const { graph } = this.frame;
    const base = this.nodeName;
    return {
      opsetVersion,
      constant: (t, hint) => graph.addConstant(`${base}_${hint ?? 'const'}`, t),
      node: (op, inputs, attrs = {}, outputs = 1) => {
        if (typeof outputs === 'number') {
          return graph.addNode({ op, inputs, attrs, outputs, name: `${base}/${op}` }).outputs;
        }
        return this.emit(op, inputs, attrs, outputs, { name: graph.uniqueName(`${base}/${op}`) });
      },
      rank: (v) => (v?.const ? v.const.rank : v?.kind === 'tensor' ? v.shape?.length : undefined),
      fail: (text, hint) => error('OPSET_UNSUPPORTED', `${text} (opset ${opsetVersion})`, this.loc, hint),
    };
  }
}

/** The tensor a Constant node defines, from whichever value attribute it carries. */
function constantValue(attrs: Map<string, Attr>, loc: Location): Tensor {
  const a = attrs.get('value') ?? attrs.get('sparse_value');
  if (a?.kind === 'tensor') return a.value;
  const f = attrs.get('value_float');
  if (f?.kind === 'float') return tensorOf('float32', [], [f.value]);
  const fs = attrs.get('value_floats');
  if (fs?.kind === 'floats') return tensorOf('float32', [fs.value.length], fs.value);
  const i = attrs.get('value_int');
  if (i?.kind === 'int') return tensorOf('int64', [], [i.value]);
  const is = attrs.get('value_ints');
  if (is?.kind === 'ints') return tensorOf('int64', [is.value.length], is.value);
  const s = attrs.get('value_string');
  if (s?.kind === 'string') return new Tensor('string', [], [s.value]);
  const ss = attrs.get('value_strings');
  if (ss?.kind === 'strings') return new Tensor('string', [ss.value.length], [...ss.value]);
  throw error('BAD_MODEL', 'Constant node has no value attribute', loc);
}

function tensorOf(dtype: 'float32' | 'int64', shape: number[], values: number[]): Tensor {
  if (dtype === 'int64') return new Tensor('int64', shape, BigInt64Array.from(values, (v) => toInt64(v)));
  return new Tensor('float32', shape, Float32Array.from(values));
}

/** Inside an inlined function, attributes with ref_attr_name take the call site's value. */
function resolveAttrRefs(attrs: readonly AttributeProtoMsg[], refs: ReadonlyMap<string, AttributeProtoMsg> | undefined): AttributeProtoMsg[] {
  if (!refs) return [...attrs];
  const out: AttributeProtoMsg[] = [];
  for (const a of attrs) {
    if (!a.refAttrName) {
      out.push(a);
      continue;
    }
    const bound = refs.get(a.refAttrName);
    if (bound) out.push({ ...bound, name: a.name } as AttributeProtoMsg);
  }
  return out;
}

/**
 * Inline a call to a model-local function: its body is imported in a fresh scope holding only
 * the formal inputs; body outputs take the call's output names, other body values fresh names.
 */
function inlineFunction(
  fn: FunctionProtoMsg,
  inputs: readonly (Value | undefined)[],
  callAttrs: readonly AttributeProtoMsg[],
  outputs: readonly string[],
  outer: Frame,
  ctx: ModelContext,
  loc: Location,
): void {
  if (outer.depth > 32) throw error('BAD_MODEL', `function '${fn.name}' calls itself recursively`, loc);
  const scope = new Scope();
  (fn.input ?? []).forEach((n, i) => {
    const v = inputs[i];
    if (v) scope.set(n, v);
  });
  const refs = new Map<string, AttributeProtoMsg>();
  for (const a of fn.attributeProto ?? []) refs.set(a.name ?? '', a);
  for (const a of callAttrs) refs.set(a.name ?? '', a);
  const outMap = new Map<string, string>();
  (fn.output ?? []).forEach((n, i) => {
    if (outputs[i]) outMap.set(n, outer.outputName(outputs[i]!));
  });
  const opsets = new Map(outer.opsets);
  for (const o of fn.opsetImport ?? []) opsets.set(normDomain(o.domain), int64ToNumber(o.version));
  const frame: Frame = {
    graph: outer.graph,
    scope,
    opsets,
    types: new Map(),
    outputName: (n) => outMap.get(n) ?? outer.graph.uniqueName(`${loc.node}/${n}`),
    attrRefs: refs,
    depth: outer.depth + 1,
  };
  for (const np of fn.node ?? []) importNode(np, frame, ctx);
  const emitter = new Emitter(outer, ctx, loc.node ?? fn.name ?? '', loc);
  (fn.output ?? []).forEach((n, i) => {
    const name = outputs[i];
    if (!name) return;
    const v = scope.get(n);
    if (!v) throw error('BAD_MODEL', `function '${fn.name}' does not compute its output '${n}'`, loc);
    // A body value already carries the call's output name; a formal input passed straight
    // through needs a node to carry it.
    if ((fn.input ?? []).includes(n)) emitter.emit(Op.Identity, [v], {}, [name], {});
    else emitter.bind(name, v);
  });
}
