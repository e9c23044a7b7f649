// Type and shape inference: runs each op's OpDef.infer over the nodes in order and merges the
// results into the values' dtype and shape. Declared shapes (ONNX value_info) and inferred ones
// are merged dim by dim: a number beats a symbol, two different numbers are a SHAPE_MISMATCH
// naming the node. Small constant computations (shape arithmetic feeding Reshape, for example)
// are evaluated on the way, so later nodes see their values.

import { error, SparsecError } from './diagnostics.js';
import { ExecutionError } from './executor/executor.js';
import { getOpDef } from './executor/registry.js';
import type { Dim, Graph, Node, Shape, Value } from './graph.js';
import type { InferContext, TypeInfo } from './opdef.js';
import { NonDeterministic, Op } from './ops.js';
import type { Tensor } from './tensor.js';

export interface InferOptions {
  /**
   * Replace existing dtypes and shapes with the inferred ones instead of merging (for graphs a
   * pass has changed, whose old annotations may be stale). Graph inputs are never changed.
   */
  overwrite?: boolean;
}

/** Constant inputs larger than this are not evaluated during inference (it must stay cheap). */
const FOLD_LIMIT = 4096;

export function inferTypes(graph: Graph, opts: InferOptions = {}): void {
  const taken = new Set<string>();
  collectSymbols(graph, taken);
  let counter = 0;
  const ctx: InferContext = {
    freshDim(hint = 'dim') {
      let name: string;
      do name = `${hint}_${counter++}`;
      while (taken.has(name));
      taken.add(name);
      return name;
    },
  };
  new Inference(ctx, opts.overwrite ?? false).graph(graph);
}

class Inference {
  /** Values known to be constant: initializers and what inference computed. */
  private readonly known = new Map<Value, Tensor>();

  constructor(
    private readonly ctx: InferContext,
    private readonly overwrite: boolean,
  ) {}

  graph(g: Graph): void {
    for (const node of g.nodes) {
      for (const sub of node.subgraphs()) this.graph(sub);
      this.node(node);
    }
  }

  private node(node: Node): void {
    const def = node.op === Op.Opaque ? undefined : getOpDef(node.op);
    if (!def) return;
    const inputs = node.inputs.map((v): TypeInfo | undefined =>
      v ? { dtype: v.dtype, shape: v.shape, value: v.const ?? this.known.get(v) } : undefined,
    );
    let results: TypeInfo[];
    try {
      results = def.infer(node, inputs, this.ctx);
    } catch (e) {
      if (e instanceof SparsecError || e instanceof ExecutionError) throw e;
      throw new ExecutionError(node, e);
    }
    const folded = results.some((r) => r?.value === undefined) ? this.fold(node, inputs) : undefined;
    node.outputs.forEach((out, k) => {
      const r = results[k];
      const value = r?.value ?? folded?.[k];
      if (value) {
        this.known.set(out, value);
        this.merge(node, out, { dtype: value.dtype, shape: value.shape });
      }
      if (r) this.merge(node, out, r);
    });
  }

  /** Evaluate a node whose inputs are all small known constants, or undefined. */
  private fold(node: Node, inputs: readonly (TypeInfo | undefined)[]): Tensor[] | undefined {
    const def = getOpDef(node.op);
    if (!def?.run || NonDeterministic.has(node.op) || node.subgraphs().length > 0) return undefined;
    let size = 0;
    for (const t of inputs) {
      if (!t) continue;
      if (!t.value) return undefined;
      size += t.value.size;
    }
    if (size > FOLD_LIMIT) return undefined;
    try {
      const out = def.run(node, inputs.map((t) => t?.value), { runSubgraph: () => [] });
      return out.every((t) => t.size <= FOLD_LIMIT) ? out : undefined;
    } catch {
      // Folding is only a help for later nodes; the executor reports bad constants when it runs.
      return undefined;
    }
  }

  private merge(node: Node, v: Value, r: TypeInfo): void {
    if (r.dtype !== undefined) {
      if (v.dtype !== undefined && v.dtype !== r.dtype && !this.overwrite) {
        throw error('TYPE_MISMATCH', `output '${v.name}' is inferred as ${r.dtype} but declared ${v.dtype}`, {
          node: node.name,
          opType: node.opType,
          value: v.name,
        });
      }
      v.dtype = r.dtype;
    }
    if (r.shape !== undefined) v.shape = this.overwrite || !v.shape ? [...r.shape] : mergeShapes(node, v, v.shape, r.shape);
  }
}

/** Combine a declared and an inferred shape, keeping the more specific dim. */
export function mergeShapes(node: Node, v: Value, declared: Shape, inferred: Shape): Dim[] {
  const conflict = () =>
    error('SHAPE_MISMATCH', `output '${v.name}' is inferred as [${inferred.join(',')}] but declared [${declared.join(',')}]`, {
      node: node.name,
      opType: node.opType,
      value: v.name,
    });
  if (declared.length !== inferred.length) throw conflict();
  return declared.map((d, i) => {
    const e = inferred[i]!;
    if (d === e || typeof e === 'string') return d;
    if (typeof d === 'string') return e;
    throw conflict();
  });
}

function collectSymbols(g: Graph, into: Set<string>): void {
  for (const v of g.values()) for (const d of v.shape ?? []) if (typeof d === 'string') into.add(d);
  for (const n of g.nodes) for (const sub of n.subgraphs()) collectSymbols(sub, into);
}
