// The reference executor's public API: run a graph on concrete inputs.

import { error, SparsecError, type Diagnostic } from '../diagnostics.js';
import { Op } from '../ops.js';
import type { Graph, Node, Value } from '../graph.js';
import type { RuntimeValue } from '../opdef.js';
import { Tensor } from '../tensor.js';
import { Execution, type ExecuteOptions } from './executor.js';
import { getOpDef } from './registry.js';

export { definedOps, getOpDef } from './registry.js';
export { ExecutionError, type ExecuteOptions, type ExecutionStats } from './executor.js';

type Inputs<T> = ReadonlyMap<string, T> | Record<string, T>;

/**
 * Run `graph` on tensors given by input name and return its outputs by name. Inputs are checked
 * against the graph's declared dtypes and shapes first (BAD_INPUT); a graph with ops the executor
 * does not define fails before anything runs (UNSUPPORTED_OP, one diagnostic per node).
 */
export function execute(graph: Graph, inputs: Inputs<Tensor>, opts?: ExecuteOptions): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, v] of executeValues(graph, inputs, opts)) {
    if (!(v instanceof Tensor)) {
      throw error('BAD_INPUT', `output '${name}' is ${v === null ? 'an empty optional' : 'a sequence'}, not a tensor`, { value: name }, 'Use executeValues for graphs with sequence or optional outputs.');
    }
    out.set(name, v);
  }
  return out;
}

/** Like execute, for graphs whose inputs or outputs may be sequences or optionals. */
export function executeValues(graph: Graph, inputs: Inputs<RuntimeValue>, opts?: ExecuteOptions): Map<string, RuntimeValue> {
  const missing = unsupportedNodes(graph);
  if (missing.length > 0) throw unsupportedError(missing);
  const byName = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
  const bound = checkInputs(graph, byName);
  const results = new Execution(opts).runGraph(graph, bound);
  return new Map(graph.outputs.map((v, i) => [v.name, results[i]!]));
}

/** Nodes (subgraphs included) the executor cannot run: no definition, or an Opaque op. */
export function unsupportedNodes(graph: Graph): Node[] {
  const out: Node[] = [];
  for (const node of graph.nodes) {
    const def = node.op === Op.Opaque ? undefined : getOpDef(node.op);
    if (!def || (!def.run && !def.runValues)) out.push(node);
    for (const sub of node.subgraphs()) out.push(...unsupportedNodes(sub));
  }
  return out;
}

function unsupportedError(nodes: readonly Node[]): SparsecError {
  const diagnostics: Diagnostic[] = nodes.map((n) => {
    const what = n.op === Op.Opaque ? `op ${n.domain ? `${n.domain}.` : ''}${n.opType}` : `op ${n.op}`;
    const opset = n.opsetVersion !== undefined ? ` (opset ${n.opsetVersion})` : n.op === Op.Opaque ? '' : ' (opset 21)';
    return {
      code: 'UNSUPPORTED_OP',
      severity: 'error',
      text: `${what}${opset} is not supported by the reference executor`,
      location: { node: n.name, opType: n.opType },
    };
  });
  return new SparsecError(diagnostics);
}

/** Check every graph input is given once with the declared dtype and shape; returns them in order. */
function checkInputs(graph: Graph, given: ReadonlyMap<string, RuntimeValue>): RuntimeValue[] {
  const names = graph.inputs.map((v) => v.name);
  for (const name of given.keys()) {
    if (!names.includes(name)) {
      throw error('BAD_INPUT', `unknown input '${name}'; the graph's inputs are ${names.map((n) => `'${n}'`).join(', ') || 'none'}`, { value: name });
    }
  }
  // A symbolic dim must have one size across all inputs ('batch' is 2 everywhere or nowhere).
  const symbols = new Map<string, { size: number; input: string }>();
  return graph.inputs.map((v) => {
    const t = given.get(v.name);
    if (t === undefined) throw error('BAD_INPUT', `missing input '${v.name}' (expected ${describeType(v)})`, { value: v.name });
    if (v.kind === 'tensor') {
      if (!(t instanceof Tensor)) throw error('BAD_INPUT', `input '${v.name}' must be a tensor (expected ${describeType(v)})`, { value: v.name });
      checkTensor(v, t, symbols);
    }
    return t;
  });
}

function checkTensor(v: Value, t: Tensor, symbols: Map<string, { size: number; input: string }>): void {
  const bad = (why: string) => error('BAD_INPUT', `input '${v.name}' ${why} (expected ${describeType(v)})`, { value: v.name });
  if (v.dtype !== undefined && t.dtype !== v.dtype) throw bad(`has dtype ${t.dtype}`);
  if (!v.shape) return;
  if (t.shape.length !== v.shape.length) throw bad(`has rank ${t.shape.length} (shape [${t.shape.join(',')}])`);
  v.shape.forEach((d, i) => {
    const size = t.shape[i]!;
    if (typeof d === 'number') {
      if (d !== size) throw bad(`has size ${size} in dim ${i} (shape [${t.shape.join(',')}])`);
      return;
    }
    // Anonymous dims (no dim_param) bind nothing.
    if (d === '' || d.startsWith('?')) return;
    const seen = symbols.get(d);
    if (seen && seen.size !== size) {
      throw bad(`binds dim '${d}' to ${size} but input '${seen.input}' binds it to ${seen.size}`);
    }
    symbols.set(d, { size, input: v.name });
  });
}

function describeType(v: Value): string {
  if (v.kind !== 'tensor') return `a ${v.kind} of ${v.elemDtype ?? 'tensors'}`;
  const shape = v.shape ? `[${v.shape.join(',')}]` : 'of any shape';
  return `${v.dtype ?? 'any dtype'} ${shape}`;
}
