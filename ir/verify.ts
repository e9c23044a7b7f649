// The IR verifier: checks the structural invariants every pass may rely on, and a small
// per-op spec (arity, attribute kinds, a few type rules). The pass manager runs it after each
// pass in debug mode, so a broken rewrite is caught where it happens, not three passes later.
//
// It reports every problem it finds (one diagnostic each, VERIFY_FAILED), never just the first:
// a broken rewrite usually breaks several things at once, and the set says more than one line.

import { SparsecError, type Diagnostic, type Location } from './diagnostics.js';
import type { AttrKind, Graph, Node, Value } from './graph.js';
import { ElementwiseBinary, ElementwiseUnary, Reduce, type Op } from './ops.js';

/** Throws SparsecError (VERIFY_FAILED, one diagnostic per problem) when the graph is broken. */
export function verify(graph: Graph, file?: string): void {
  const problems = verifyProblems(graph, file);
  if (problems.length > 0) throw new SparsecError(problems);
}

/** Every problem found in the graph and its subgraphs, in graph order. */
export function verifyProblems(graph: Graph, file?: string): Diagnostic[] {
  const checker = new Checker(graph, file);
  checker.collect(graph);
  checker.checkScopes(graph, undefined);
  checker.checkUses();
  for (const node of checker.nodes) {
    checkOpSpec(node, (text, value) => checker.report(text, node.graph, node, value));
  }
  return checker.problems;
}

/** Values visible at a point of a graph: its own (so far) and those of enclosing graphs. */
class Scope {
  private readonly own = new Set<Value>();
  constructor(private readonly outer: Scope | undefined) {}
  add(v: Value): void {
    this.own.add(v);
  }
  has(v: Value): boolean {
    return this.own.has(v) || (this.outer?.has(v) ?? false);
  }
}

class Checker {
  readonly problems: Diagnostic[] = [];
  /** Every value declared by some graph of the tree (inputs, constants, node outputs). */
  readonly values = new Set<Value>();
  readonly nodes = new Set<Node>();
  private readonly names = new Map<string, Value>();

  constructor(
    private readonly root: Graph,
    private readonly file: string | undefined,
  ) {}

  report(text: string, graph: Graph, node?: Node, value?: Value): void {
    const location: Location = { file: this.file };
    if (node) {
      location.node = node.name;
      location.opType = node.opType;
    }
    if (value) location.value = value.name;
    const where = graph === this.root ? '' : ` (in subgraph '${graph.name}')`;
    this.problems.push({ code: 'VERIFY_FAILED', severity: 'error', text: text + where, location });
  }

  /** Record every value and node of the tree, checking ownership and unique names. */
  collect(g: Graph): void {
    for (const v of g.inputs) {
      this.declare(g, v);
      if (v.producer) this.report(`graph input is also produced by ${v.producer.describe()}`, g, undefined, v);
    }
    for (const [key, v] of g.constants) {
      this.declare(g, v);
      if (key !== v.name) this.report(`constant is registered under the name '${key}'`, g, undefined, v);
      if (!v.const) this.report('value in the constant table has no tensor', g, undefined, v);
      if (v.producer) this.report(`constant is also produced by ${v.producer.describe()}`, g, undefined, v);
      if (v.const) checkConstantType(v, (text) => this.report(text, g, undefined, v));
    }
    for (const node of g.nodes) {
      if (this.nodes.has(node)) {
        this.report('node appears twice in the graph tree', g, node);
        continue;
      }
      this.nodes.add(node);
      if (node.graph !== g) this.report(`node belongs to graph '${node.graph.name}' but sits in '${g.name}'`, g, node);
      for (const out of node.outputs) {
        this.declare(g, out);
        if (out.producer !== node) this.report('output value does not name this node as its producer', g, node, out);
        if (out.const) this.report('node output carries a constant tensor (register it as a constant instead)', g, node, out);
      }
      for (const sub of node.subgraphs()) {
        if (sub.parent !== g) this.report(`subgraph '${sub.name}' does not have this node's graph as its parent`, g, node);
        this.collect(sub);
      }
    }
  }

  private declare(g: Graph, v: Value): void {
    if (this.values.has(v)) {
      this.report('value is declared twice (as input, constant or node output)', g, v.producer, v);
      return;
    }
    this.values.add(v);
    if (v.graph !== g) this.report(`value belongs to graph '${v.graph.name}' but is declared in '${g.name}'`, g, v.producer, v);
    const other = this.names.get(v.name);
    if (other) this.report(`value name '${v.name}' is used by two values`, g, v.producer, v);
    else this.names.set(v.name, v);
  }

  /** Topological order and dangling values: each input must be visible where it is used. */
  checkScopes(g: Graph, outer: Scope | undefined): void {
    const scope = new Scope(outer);
    for (const v of g.inputs) scope.add(v);
    for (const v of g.constants.values()) scope.add(v);
    for (const node of g.nodes) {
      node.inputs.forEach((v, i) => {
        if (v && !scope.has(v)) this.report(this.whyNotVisible(v, g, i), g, node, v);
      });
      for (const sub of node.subgraphs()) this.checkScopes(sub, scope);
      for (const out of node.outputs) scope.add(out);
    }
    g.outputs.forEach((v, i) => {
      if (!scope.has(v)) this.report(`graph output ${i} is ${this.values.has(v) ? 'not defined in this graph or an enclosing one' : 'a value of no graph (dangling)'}`, g, undefined, v);
      else if (g === this.root && v.graph !== g) this.report(`graph output ${i} belongs to another graph`, g, undefined, v);
    });
  }

  private whyNotVisible(v: Value, g: Graph, i: number): string {
    if (!this.values.has(v)) {
      return `input ${i} is a value of no graph (dangling: its producer was removed or it was never added)`;
    }
    if (v.graph === g) return `input ${i} is used before it is produced (nodes are out of topological order)`;
    for (let outer = g.parent; outer; outer = outer.parent) {
      if (outer === v.graph) {
        return `input ${i} is produced in enclosing graph '${outer.name}' only after the node holding this subgraph (out of topological order)`;
      }
    }
    return `input ${i} belongs to graph '${v.graph.name}', which does not enclose this use`;
  }

  /** Use lists must match node inputs exactly: one use per (node, input index), nothing stale. */
  checkUses(): void {
    for (const node of this.nodes) {
      node.inputs.forEach((v, i) => {
        if (!v) return;
        const n = v.uses.filter((u) => u.node === node && u.index === i).length;
        if (n !== 1) this.report(`input ${i} is recorded ${n} times in the value's use list (expected once)`, node.graph, node, v);
      });
    }
    for (const v of this.values) {
      for (const use of v.uses) {
        if (!this.nodes.has(use.node)) {
          this.report(`use list names ${use.node.describe()}, which is not in the graph`, v.graph, v.producer, v);
        } else if (use.node.inputs[use.index] !== v) {
          this.report(`use list says ${use.node.describe()} reads it as input ${use.index}, but it does not`, v.graph, v.producer, v);
        }
      }
    }
  }
}

function checkConstantType(v: Value, report: (text: string) => void): void {
  const t = v.const!;
  if (v.dtype !== undefined && v.dtype !== t.dtype) report(`declared dtype ${v.dtype} differs from its tensor's ${t.dtype}`);
  if (v.shape !== undefined && (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i]))) {
    report(`declared shape [${v.shape.join(',')}] differs from its tensor's [${t.shape.join(',')}]`);
  }
}

// ---- the per-op spec: cheap checks only; the executor's OpDefs hold the full semantics ----

interface OpSpec {
  /** [min, max] input count, counting absent optional inputs that precede present ones. */
  inputs?: readonly [number, number];
  outputs?: readonly [number, number];
  attrs?: Readonly<Record<string, AttrKind>>;
  required?: readonly string[];
  /** Extra rule; returns a problem text (and the value at fault) or undefined. */
  check?: (node: Node) => { text: string; value?: Value } | undefined;
}

const ANY = Infinity;
const ONE: readonly [number, number] = [1, 1];
const TWO: readonly [number, number] = [2, 2];
const convAttrs = { auto_pad: 'string', dilations: 'ints', group: 'int', kernel_shape: 'ints', pads: 'ints', strides: 'ints' } as const;
const poolAttrs = { auto_pad: 'string', ceil_mode: 'int', dilations: 'ints', kernel_shape: 'ints', pads: 'ints', strides: 'ints' } as const;

const specs = new Map<Op, OpSpec>([
  ['ArgMax', { inputs: ONE, outputs: ONE, attrs: { axis: 'int', keepdims: 'int', select_last_index: 'int' } }],
  ['ArgMin', { inputs: ONE, outputs: ONE, attrs: { axis: 'int', keepdims: 'int', select_last_index: 'int' } }],
  ['AveragePool', { inputs: ONE, outputs: ONE, attrs: { ...poolAttrs, count_include_pad: 'int' }, required: ['kernel_shape'] }],
  ['BatchNormalization', { inputs: [5, 5], outputs: [1, 3], attrs: { epsilon: 'float', momentum: 'float', training_mode: 'int' } }],
  ['Cast', { inputs: ONE, outputs: ONE, attrs: { saturate: 'int', to: 'string' }, required: ['to'] }],
  ['Clip', { inputs: [1, 3], outputs: ONE }],
  ['Concat', { inputs: [1, ANY], outputs: ONE, attrs: { axis: 'int' }, required: ['axis'] }],
  ['ConstantOfShape', { inputs: ONE, outputs: ONE, attrs: { value: 'tensor' } }],
  ['Conv', { inputs: [2, 3], outputs: ONE, attrs: convAttrs }],
  ['ConvTranspose', { inputs: [2, 3], outputs: ONE, attrs: { ...convAttrs, output_padding: 'ints', output_shape: 'ints' } }],
  ['CumSum', { inputs: TWO, outputs: ONE, attrs: { exclusive: 'int', reverse: 'int' } }],
  ['Dropout', { inputs: [1, 3], outputs: [1, 2], attrs: { seed: 'int' } }],
  ['Einsum', { inputs: [1, ANY], outputs: ONE, attrs: { equation: 'string' }, required: ['equation'] }],
  ['Expand', { inputs: TWO, outputs: ONE }],
  ['Flatten', { inputs: ONE, outputs: ONE, attrs: { axis: 'int' } }],
  ['Gather', { inputs: TWO, outputs: ONE, attrs: { axis: 'int' } }],
  ['GatherElements', { inputs: TWO, outputs: ONE, attrs: { axis: 'int' } }],
  ['Gemm', { inputs: [2, 3], outputs: ONE, attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' } }],
  ['Gelu', { inputs: ONE, outputs: ONE, attrs: { approximate: 'string' } }],
  ['Hardmax', { inputs: ONE, outputs: ONE, attrs: { axis: 'int' } }],
  ['If', { inputs: ONE, outputs: [1, ANY], attrs: { else_branch: 'graph', then_branch: 'graph' }, required: ['else_branch', 'then_branch'] }],
  ['LayerNormalization', { inputs: [2, 3], outputs: [1, 3], attrs: { axis: 'int', epsilon: 'float', stash_type: 'int' } }],
  ['Linear', { inputs: [2, 3], outputs: ONE, check: checkLinear }],
  ['LogSoftmax', { inputs: ONE, outputs: ONE, attrs: { axis: 'int' } }],
  ['Loop', { inputs: [2, ANY], outputs: [1, ANY], attrs: { body: 'graph' }, required: ['body'] }],
  ['MatMul', { inputs: TWO, outputs: ONE }],
  ['MaxPool', { inputs: ONE, outputs: [1, 2], attrs: { ...poolAttrs, storage_order: 'int' }, required: ['kernel_shape'] }],
  ['Optional', { inputs: [0, 1], outputs: ONE, attrs: { type: 'type' }, check: checkOptional }],
  ['Pad', { inputs: [2, 4], outputs: ONE, attrs: { mode: 'string' } }],
  ['RMSNorm', { inputs: TWO, outputs: ONE, attrs: { axis: 'int', epsilon: 'float' } }],
  ['Reshape', { inputs: TWO, outputs: ONE, attrs: { allowzero: 'int' } }],
  ['Resize', { inputs: [1, 4], outputs: ONE, attrs: { mode: 'string', coordinate_transformation_mode: 'string', nearest_mode: 'string' } }],
  ['Scan', { inputs: [1, ANY], outputs: [1, ANY], attrs: { body: 'graph', num_scan_inputs: 'int' }, required: ['body', 'num_scan_inputs'] }],
  ['Shape', { inputs: ONE, outputs: ONE, attrs: { end: 'int', start: 'int' } }],
  ['Slice', { inputs: [3, 5], outputs: ONE }],
  ['Softmax', { inputs: ONE, outputs: ONE, attrs: { axis: 'int' } }],
  ['Split', { inputs: [1, 2], outputs: [1, ANY], attrs: { axis: 'int', num_outputs: 'int' } }],
  ['Squeeze', { inputs: [1, 2], outputs: ONE }],
  ['Tile', { inputs: TWO, outputs: ONE }],
  ['TopK', { inputs: TWO, outputs: TWO, attrs: { axis: 'int', largest: 'int', sorted: 'int' } }],
  ['Transpose', { inputs: ONE, outputs: ONE, attrs: { perm: 'ints' } }],
  ['Unsqueeze', { inputs: TWO, outputs: ONE }],
  ['Where', { inputs: [3, 3], outputs: ONE }],
]);

/** Binary ops whose operands and result share one element type. */
const SameTypeBinary: ReadonlySet<Op> = new Set<Op>(['Add', 'Sub', 'Mul', 'Div', 'Mod', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor']);
const Comparison: ReadonlySet<Op> = new Set<Op>(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual']);

function specOf(op: Op): OpSpec | undefined {
  const s = specs.get(op);
  if (s) return s;
  if (ElementwiseUnary.has(op)) return { inputs: ONE, outputs: ONE };
  if (ElementwiseBinary.has(op)) return { inputs: TWO, outputs: ONE };
  if (Reduce.has(op)) return { inputs: [1, 2], outputs: ONE, attrs: { keepdims: 'int', noop_with_empty_axes: 'int' } };
  return undefined;
}

function checkOpSpec(node: Node, report: (text: string, value?: Value) => void): void {
  if (node.op === 'Opaque') return;
  const spec = specOf(node.op);
  if (spec) {
    const count = (n: number, [min, max]: readonly [number, number], what: string) => {
      if (n < min || n > max) {
        const want = min === max ? `${min}` : max === ANY ? `at least ${min}` : `${min} to ${max}`;
        report(`has ${n} ${what} but ${node.op} takes ${want}`);
      }
    };
    if (spec.inputs) count(node.inputs.length, spec.inputs, 'inputs');
    if (spec.outputs) count(node.outputs.length, spec.outputs, 'outputs');
    for (const [name, kind] of Object.entries(spec.attrs ?? {})) {
      const a = node.attrs.get(name);
      if (a && a.kind !== kind) report(`attribute '${name}' is ${a.kind} but must be ${kind}`);
    }
    for (const name of spec.required ?? []) if (!node.attrs.has(name)) report(`required attribute '${name}' is missing`);
    const extra = spec.check?.(node);
    if (extra) report(extra.text, extra.value);
  }
  checkTypes(node, report);
}

function checkTypes(node: Node, report: (text: string, value?: Value) => void): void {
  const [a, b] = node.inputs;
  const out = node.outputs[0];
  if (SameTypeBinary.has(node.op) && a?.dtype && b?.dtype && a.dtype !== b.dtype) {
    report(`operands have different dtypes (${a.dtype} and ${b.dtype})`, b);
  }
  if ((SameTypeBinary.has(node.op) || node.op === 'Identity' || node.op === 'Relu') && a?.dtype && out?.dtype && a.dtype !== out.dtype) {
    report(`result dtype ${out.dtype} differs from operand dtype ${a.dtype}`, out);
  }
  if (Comparison.has(node.op) && out?.dtype && out.dtype !== 'bool') report(`comparison result has dtype ${out.dtype}, not bool`, out);
}

function checkOptional(node: Node): { text: string } | undefined {
  if (node.inputs[0] || node.attrs.has('type')) return undefined;
  return { text: 'Optional needs an input or a type attribute' };
}

function checkLinear(node: Node): { text: string; value?: Value } | undefined {
  const w = node.inputs[1];
  if (!w) return { text: 'Linear has no weight input' };
  if (!w.isConstant) return { text: 'Linear weight must be a constant', value: w };
  if (w.const!.rank !== 2) return { text: `Linear weight must be 2-D [K, N], not [${w.const!.shape.join(',')}]`, value: w };
  return undefined;
}
