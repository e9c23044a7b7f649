// The typed SSA graph. A Value has exactly one producer (a node, or none for graph inputs and
// constants) and a list of uses; nodes sit in `graph.nodes` in topological order.
//
// Every edit goes through the methods here (or a Rewriter built on them) so that use lists stay
// exact: passes may rely on `value.uses` without rescanning the graph.

import type { Diagnostic } from './diagnostics.js';
import type { DType } from './dtype.js';
import type { Op } from './ops.js';
import { Tensor } from './tensor.js';

/** A dimension: a number when known, or a symbol (ONNX dim_param) such as 'batch'. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** Tensors are the common case; sequences and optionals exist for the ops that need them. */
export type ValueKind = 'tensor' | 'sequence' | 'optional';

/**
 * A type held by an attribute (ONNX TypeProto), such as Optional's `type`. Sparse tensor types
 * read as tensor types (sparse tensors are dense in the IR); maps have no IR form.
 */
export type TypeDesc =
  | { kind: 'tensor'; dtype?: DType; shape?: Shape }
  | { kind: 'sequence'; elem: TypeDesc }
  | { kind: 'optional'; elem: TypeDesc };

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'graph'; value: Graph }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensors'; value: Tensor[] }
  | { kind: 'graphs'; value: Graph[] }
  | { kind: 'type'; value: TypeDesc }
  | { kind: 'types'; value: TypeDesc[] };
export type AttrKind = Attr['kind'];

export interface Use {
  readonly node: Node;
  readonly index: number;
}

export class Value {
  producer: Node | undefined = undefined;
  readonly uses: Use[] = [];
  /** Set for constants (ONNX initializers and Constant nodes). */
  const: Tensor | undefined = undefined;
  kind: ValueKind = 'tensor';
  /** For sequences and optionals: the element type. */
  elemDtype: DType | undefined = undefined;

  constructor(
    readonly graph: Graph,
    readonly id: number,
    public name: string,
    public dtype: DType | undefined,
    public shape: Shape | undefined,
  ) {}

  get isConstant(): boolean {
    return this.const !== undefined;
  }

  get isGraphInput(): boolean {
    return this.graph.inputs.includes(this);
  }

  get isGraphOutput(): boolean {
    return this.graph.outputs.includes(this);
  }

  /** Shape with every dim known, or undefined. */
  get staticShape(): number[] | undefined {
    if (!this.shape) return undefined;
    return this.shape.every((d) => typeof d === 'number') ? (this.shape as number[]) : undefined;
  }

  get rank(): number | undefined {
    return this.shape?.length;
  }

  /** Point every use (and graph output slot) of this value at `other`. */
  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (const use of [...this.uses]) use.node.setInput(use.index, other);
    const outs = this.graph.outputs;
    for (let i = 0; i < outs.length; i++) {
      if (outs[i] === this) this.graph.replaceOutput(i, other);
    }
  }

  toString(): string {
    return `%${this.name}`;
  }
}

export interface NodeInit {
  op: Op;
  inputs: readonly (Value | undefined)[];
  /** Output count, or names for the outputs (made unique if taken). */
  outputs: number | readonly string[];
  attrs?: Record<string, Attr> | Map<string, Attr>;
  name?: string;
  /** ONNX domain; '' is ai.onnx. Only Opaque nodes and sparsec ops use another. */
  domain?: string;
  /** The original op_type, kept for Opaque nodes so export can write them back unchanged. */
  opType?: string;
  /** For Opaque nodes: the opset version of their domain. */
  opsetVersion?: number;
}

export class Node {
  readonly inputs: (Value | undefined)[] = [];
  readonly outputs: Value[] = [];
  readonly attrs: Map<string, Attr>;
  domain: string;
  opType: string;
  /** For Opaque nodes: the opset version of their domain (from NodeInit). */
  opsetVersion: number | undefined;
  /** Free-form annotations set by analysis passes (e.g. 'structure', 'layout'). */
  readonly annotations = new Map<string, unknown>();

  constructor(
    readonly graph: Graph,
    readonly id: number,
    public name: string,
    public op: Op,
    init: NodeInit,
  ) {
    this.attrs = init.attrs instanceof Map ? new Map(init.attrs) : new Map(Object.entries(init.attrs ?? {}));
    this.domain = init.domain ?? '';
    this.opType = init.opType ?? op;
    this.opsetVersion = init.opsetVersion;
  }

  /** Replace input i, keeping both values' use lists exact. */
  setInput(index: number, value: Value | undefined): void {
    const old = this.inputs[index];
    if (old) {
      const k = old.uses.findIndex((u) => u.node === this && u.index === index);
      if (k >= 0) old.uses.splice(k, 1);
    }
    this.inputs[index] = value;
    if (value) value.uses.push({ node: this, index });
  }

  /** Set all inputs at once (the count may change). */
  setInputs(values: readonly (Value | undefined)[]): void {
    for (let i = 0; i < this.inputs.length; i++) this.setInput(i, undefined);
    this.inputs.length = 0;
    values.forEach((v, i) => {
      this.inputs.push(undefined);
      this.setInput(i, v);
    });
  }

  input(i: number): Value | undefined {
    return this.inputs[i];
  }

  // ---- typed attribute access; `def` is returned when the attribute is absent ----

  attr(name: string): Attr | undefined {
    return this.attrs.get(name);
  }
  attrInt(name: string, def: number): number;
  attrInt(name: string): number | undefined;
  attrInt(name: string, def?: number): number | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'int' ? a.value : def;
  }
  attrFloat(name: string, def: number): number;
  attrFloat(name: string): number | undefined;
  attrFloat(name: string, def?: number): number | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'float' ? a.value : def;
  }
  attrString(name: string, def: string): string;
  attrString(name: string): string | undefined;
  attrString(name: string, def?: string): string | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'string' ? a.value : def;
  }
  attrInts(name: string, def: number[]): number[];
  attrInts(name: string): number[] | undefined;
  attrInts(name: string, def?: number[]): number[] | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'ints' ? a.value : def;
  }
  attrFloats(name: string): number[] | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'floats' ? a.value : undefined;
  }
  attrStrings(name: string): string[] | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'strings' ? a.value : undefined;
  }
  attrTensor(name: string): Tensor | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'tensor' ? a.value : undefined;
  }
  attrGraph(name: string): Graph | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'graph' ? a.value : undefined;
  }
  attrType(name: string): TypeDesc | undefined {
    const a = this.attrs.get(name);
    return a && a.kind === 'type' ? a.value : undefined;
  }

  /** Subgraphs held in attributes (If branches, Loop bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attrs.values()) {
      if (a.kind === 'graph') out.push(a.value);
      else if (a.kind === 'graphs') out.push(...a.value);
    }
    return out;
  }

  /** A short description for diagnostics: `Conv 'conv1'`. */
  describe(): string {
    return `${this.opType} '${this.name}'`;
  }
}

/**
 * A graph (the model's main graph or a subgraph of If/Loop). Subgraph nodes may use values of
 * enclosing graphs directly, as ONNX's lexical scoping allows.
 */
export class Graph {
  inputs: Value[] = [];
  outputs: Value[] = [];
  nodes: Node[] = [];
  /** Constants owned by this graph, by name (ONNX initializers and folded Constant nodes). */
  readonly constants = new Map<string, Value>();
  docString = '';
  private nextId = 0;
  private readonly names: Set<string>;

  constructor(
    public name: string,
    readonly parent?: Graph,
  ) {
    // Names are unique across a graph and its subgraphs, so that SSA names never shadow.
    this.names = parent ? parent.names : new Set<string>();
  }

  /** A name not used by any value or node of this graph tree, derived from `base`. */
  uniqueName(base: string): string {
    if (!this.names.has(base)) {
      this.names.add(base);
      return base;
    }
    for (let i = 1; ; i++) {
      const n = `${base}_${i}`;
      if (!this.names.has(n)) {
        this.names.add(n);
        return n;
      }
    }
  }

  /** Record a name as taken (the frontend calls this for names it keeps verbatim). */
  reserveName(name: string): void {
    this.names.add(name);
  }

  newValue(name: string, dtype?: DType, shape?: Shape): Value {
    return new Value(this, this.nextId++, this.uniqueName(name), dtype, shape);
  }

  addInput(name: string, dtype: DType | undefined, shape: Shape | undefined): Value {
    const v = this.newValue(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  addConstant(name: string, tensor: Tensor): Value {
    const v = this.newValue(name, tensor.dtype, tensor.shape);
    v.const = tensor;
    this.constants.set(v.name, v);
    return v;
  }

  /**
   * Create a node with fresh output values. It is appended, or inserted before `before`;
   * keeping topological order is the caller's job (the verifier checks it).
   */
  addNode(init: NodeInit, before?: Node): Node {
    const name = this.uniqueName(init.name ?? init.op.toLowerCase());
    const node = new Node(this, this.nextId++, name, init.op, init);
    node.setInputs(init.inputs);
    const outNames = typeof init.outputs === 'number'
      ? Array.from({ length: init.outputs }, (_, i) => (init.outputs === 1 ? `${name}_out` : `${name}_out${i}`))
      : init.outputs;
    for (const n of outNames) {
      const v = this.newValue(n);
      v.producer = node;
      node.outputs.push(v);
    }
    if (before) {
      const at = this.nodes.indexOf(before);
      if (at < 0) throw new Error(`addNode: ${before.describe()} is not in graph '${this.name}'`);
      this.nodes.splice(at, 0, node);
    } else {
      this.nodes.push(node);
    }
    return node;
  }

  /** Remove a node whose outputs are unused (or `force`: drop their uses too). */
  removeNode(node: Node, force = false): void {
    for (const out of node.outputs) {
      if (!force && (out.uses.length > 0 || this.outputs.includes(out))) {
        throw new Error(`removeNode: output ${out} of ${node.describe()} is still used`);
      }
    }
    node.setInputs([]);
    const at = this.nodes.indexOf(node);
    if (at >= 0) this.nodes.splice(at, 1);
  }

  /** Drop constants no node uses (graph outputs that are constants are kept). */
  removeUnusedConstants(): number {
    let n = 0;
    for (const [name, v] of this.constants) {
      if (v.uses.length === 0 && !this.outputs.includes(v)) {
        this.constants.delete(name);
        n++;
      }
    }
    return n;
  }

  /**
   * Replace graph output i with `value`, keeping the output's public name: the model's
   * interface never changes because a pass rewrote what computes it.
   */
  replaceOutput(i: number, value: Value): void {
    const old = this.outputs[i]!;
    if (old === value) return;
    const publicName = old.name;
    const needsIdentity = value.isGraphInput || value.isGraphOutput || value.isConstant || value.graph !== this;
    let out = value;
    if (needsIdentity) {
      out = this.addNode({ op: 'Identity', inputs: [value], outputs: 1 }).outputs[0]!;
      out.dtype = value.dtype;
      out.shape = value.shape;
    }
    old.name = this.uniqueName(`${publicName}_replaced`);
    out.name = publicName;
    this.outputs[i] = out;
  }

  /** Every value of this graph: inputs, constants, node outputs. */
  *values(): Iterable<Value> {
    yield* this.inputs;
    yield* this.constants.values();
    for (const n of this.nodes) yield* n.outputs;
  }

  /** Re-sort nodes topologically (stable: keeps the current order where it is valid). */
  topoSort(): void {
    const placed = new Set<Node>();
    const order: Node[] = [];
    const visiting = new Set<Node>();
    const visit = (n: Node): void => {
      if (placed.has(n)) return;
      if (visiting.has(n)) throw new Error(`cycle through ${n.describe()}`);
      visiting.add(n);
      for (const dep of nodeDependencies(n)) if (dep.graph === this) visit(dep);
      visiting.delete(n);
      placed.add(n);
      order.push(n);
    };
    for (const n of this.nodes) visit(n);
    this.nodes = order;
  }
}

/** Producers a node depends on, including values its subgraphs capture from outer scopes. */
export function nodeDependencies(n: Node): Node[] {
  const deps: Node[] = [];
  for (const v of n.inputs) if (v?.producer) deps.push(v.producer);
  for (const g of n.subgraphs()) {
    for (const v of capturedValues(g)) if (v.producer) deps.push(v.producer);
  }
  // Captured values produced inside an enclosing graph are attributed to its top-level node.
  return deps.map((d) => topLevelAncestor(d, n.graph)).filter((d): d is Node => d !== undefined);
}

function topLevelAncestor(node: Node, graph: Graph): Node | undefined {
  return node.graph === graph ? node : undefined;
}

/** Values used inside a subgraph (recursively) that belong to an enclosing graph. */
export function capturedValues(g: Graph): Set<Value> {
  const own = new Set<Value>(g.values());
  const out = new Set<Value>();
  for (const n of g.nodes) {
    for (const v of n.inputs) if (v && !own.has(v)) out.add(v);
    for (const sub of n.subgraphs()) for (const v of capturedValues(sub)) if (!own.has(v)) out.add(v);
  }
  for (const v of g.outputs) if (!own.has(v)) out.add(v);
  return out;
}

/** A whole model: the main graph and the metadata ONNX carries around it. */
export class Model {
  /** Opset version per domain ('' = ai.onnx) as imported; export may raise ai.onnx's. */
  readonly opsets = new Map<string, number>();
  irVersion = 10;
  producerName = '';
  producerVersion = '';
  domain = '';
  modelVersion = 0;
  docString = '';
  readonly metadata = new Map<string, string>();
  /** Where the model was read from, for diagnostics. */
  sourcePath: string | undefined;
  /** Warnings found while loading (e.g. an opset newer than the IR knows). */
  readonly warnings: Diagnostic[] = [];

  constructor(readonly graph: Graph) {}
}

/** Clamp a JS number to the int64 range (attributes such as Slice ends use INT64_MAX). */
export function toInt64(n: number): bigint {
  if (n >= 9223372036854775807) return 9223372036854775807n;
  if (n <= -9223372036854775808) return -9223372036854775808n;
  return BigInt(Math.trunc(n));
}
