// The interpreter loop: runs a graph's nodes in order over runtime values held in scoped frames.
// A subgraph (If branch, Loop body) runs in a child frame whose lookups fall through to the
// enclosing frames, which is how ONNX's lexical scoping of captured values works. Each frame
// drops a value right after its last use, so peak memory is the live set, not the whole graph:
// calibration runs full models through here.

import { SparsecError } from '../diagnostics.js';
import { capturedValues, type Graph, type Node, type Value } from '../graph.js';
import type { RunContext, RuntimeValue } from '../opdef.js';
import { Tensor } from '../tensor.js';
import { getOpDef } from './registry.js';

export interface ExecuteOptions {
  /** Called with every tensor a node produces (for calibration statistics), subgraphs included. */
  onValue?: (v: Value, t: Tensor) => void;
  /** Filled in during the run: how many values were alive at most (memory diagnostics, tests). */
  stats?: ExecutionStats;
}

export interface ExecutionStats {
  /** The most runtime values held at once, over all frames. */
  peakLiveValues: number;
}

/** An internal failure inside an op, wrapped with the node it happened in. Not a user error. */
export class ExecutionError extends Error {
  constructor(
    readonly node: Node,
    cause: unknown,
  ) {
    const text = cause instanceof Error ? cause.message : String(cause);
    super(`${node.describe()} (${node.op}): ${text}`, { cause });
    this.name = 'ExecutionError';
  }
}

/** When each value may be dropped: after the node at this index (its last reader). */
interface Plan {
  readonly freeAfter: readonly Value[][];
}

function makePlan(graph: Graph): Plan {
  const lastUse = new Map<Value, number>();
  graph.nodes.forEach((node, i) => {
    for (const v of node.inputs) if (v) lastUse.set(v, i);
    for (const sub of node.subgraphs()) for (const v of capturedValues(sub)) lastUse.set(v, i);
  });
  const outputs = new Set(graph.outputs);
  const freeAfter: Value[][] = graph.nodes.map(() => []);
  // Values nobody reads are dropped right after their producer runs.
  graph.nodes.forEach((node, i) => {
    for (const o of node.outputs) if (!lastUse.has(o) && !outputs.has(o)) freeAfter[i]!.push(o);
  });
  for (const [v, i] of lastUse) if (!outputs.has(v) && !v.isConstant) freeAfter[i]!.push(v);
  return { freeAfter };
}

class Frame {
  readonly values = new Map<Value, RuntimeValue>();
  constructor(readonly parent?: Frame) {}

  lookup(v: Value): RuntimeValue {
    if (v.const) return v.const;
    for (let f: Frame | undefined = this; f; f = f.parent) {
      const r = f.values.get(v);
      if (r !== undefined) return r;
    }
    throw new Error(`value '${v.name}' is read before it is computed (or after it was freed)`);
  }
}

export class Execution {
  private readonly plans = new Map<Graph, Plan>();
  private live = 0;

  constructor(private readonly opts: ExecuteOptions = {}) {}

  /** Run `graph` with its formal inputs bound in order; returns its outputs in order. */
  runGraph(graph: Graph, inputs: readonly RuntimeValue[], parent?: Frame): RuntimeValue[] {
    const frame = new Frame(parent);
    graph.inputs.forEach((v, i) => frame.values.set(v, inputs[i] ?? null));
    this.live += frame.values.size;
    let plan = this.plans.get(graph);
    if (!plan) this.plans.set(graph, (plan = makePlan(graph)));
    const ctx: RunContext = { runSubgraph: (g, ins) => this.runGraph(g, ins, frame) };
    graph.nodes.forEach((node, i) => {
      this.runNode(node, frame, ctx);
      for (const v of plan.freeAfter[i]!) if (frame.values.delete(v)) this.live--;
    });
    const results = graph.outputs.map((v) => frame.lookup(v));
    this.live -= frame.values.size;
    return results;
  }

  private runNode(node: Node, frame: Frame, ctx: RunContext): void {
    const def = getOpDef(node.op);
    const args = node.inputs.map((v) => (v ? frame.lookup(v) : undefined));
    let results: RuntimeValue[];
    try {
      if (def?.runValues) results = def.runValues(node, args, ctx);
      else if (def?.run) results = def.run(node, args.map((a) => asTensor(a, node)), ctx);
      else throw new Error(`no executor definition for ${node.op}`);
    } catch (e) {
      if (e instanceof SparsecError || e instanceof ExecutionError) throw e;
      throw new ExecutionError(node, e);
    }
    if (results.length < node.outputs.length) {
      throw new ExecutionError(node, new Error(`produced ${results.length} outputs, the node has ${node.outputs.length}`));
    }
    node.outputs.forEach((v, k) => {
      const r = results[k]!;
      frame.values.set(v, r);
      this.live++;
      if (this.opts.stats) this.opts.stats.peakLiveValues = Math.max(this.opts.stats.peakLiveValues, this.live);
      if (this.opts.onValue && r instanceof Tensor) this.opts.onValue(v, r);
    });
  }
}

function asTensor(a: RuntimeValue | undefined, node: Node): Tensor | undefined {
  if (a === undefined || a instanceof Tensor) return a;
  throw new Error(`${node.op} takes tensors, got ${a === null ? 'an empty optional' : 'a sequence'}`);
}
