// Pattern rewriting: rules are data ({name, benefit, pattern with root ops, rewrite}); one
// greedy driver runs a rule set to a fixpoint. Every edit goes through a Rewriter so the driver
// can requeue what an edit affects (users of a replaced value, producers of an erased node's
// inputs) and erase nodes that became dead.

import type { Graph, Node, NodeInit, Value } from '../ir/graph.js';
import { ControlFlow, type Op } from '../ir/ops.js';
import type { Tensor } from '../ir/tensor.js';
import { isLive, subgraphOutputCaptures, walkGraphs } from './liveness.js';

/** A pattern knows which ops it can be rooted at; `match` returns bindings or undefined. */
export interface Pattern<M> {
  readonly roots: readonly Op[];
  match(root: Node): M | undefined;
}

/**
 * A rewrite rule. `rewrite` returns the values replacing the root's outputs (one value for a
 * single-output root), or undefined when it declines after all.
 */
export interface Rule<M = unknown> {
  readonly name: string;
  /** Higher first, among rules rooted at the same op. */
  readonly benefit: number;
  readonly pattern: Pattern<M>;
  rewrite(match: M, rw: Rewriter): Value | readonly Value[] | undefined;
}

export function rule<M>(
  name: string,
  pattern: Pattern<M>,
  rewrite: (match: M, rw: Rewriter) => Value | readonly Value[] | undefined,
  benefit = 1,
): Rule<M> {
  return { name, benefit, pattern, rewrite };
}

/** A pattern written as a function over the root node. */
export function matcher<M>(roots: Op | readonly Op[], match: (root: Node) => M | undefined): Pattern<M> {
  return { roots: typeof roots === 'string' ? [roots] : roots, match };
}

/** Callbacks a driver installs to learn what an edit touched. */
interface RewriteListener {
  nodeChanged(node: Node): void;
  nodeErased(node: Node): void;
}

/** All graph edits of passes go through here. */
export class Rewriter {
  private insertBefore: Node | undefined;
  private graph: Graph | undefined;
  /** Edits made so far (creations, replacements, erasures). */
  edits = 0;

  constructor(private readonly listener?: RewriteListener) {}

  /** New nodes go into `node`'s graph, just before it (so they precede all of its users). */
  setInsertionPoint(node: Node): void {
    this.insertBefore = node;
    this.graph = node.graph;
  }

  /** New nodes go at the end of `graph`. */
  setInsertionGraph(graph: Graph): void {
    this.insertBefore = undefined;
    this.graph = graph;
  }

  private target(): Graph {
    if (!this.graph) throw new Error('Rewriter: no insertion point set');
    return this.graph;
  }

  create(init: NodeInit): Node {
    const node = this.target().addNode(init, this.insertBefore);
    this.edits++;
    this.listener?.nodeChanged(node);
    return node;
  }

  /** A single-output node; `type` gives the output's dtype and shape when known. */
  op(op: Op, inputs: readonly (Value | undefined)[], attrs?: NodeInit['attrs'], type?: Pick<Value, 'dtype' | 'shape'>, name?: string): Value {
    const out = this.create({ op, inputs, outputs: 1, attrs, name }).outputs[0]!;
    if (type) {
      out.dtype = type.dtype;
      out.shape = type.shape;
    }
    return out;
  }

  constant(name: string, tensor: Tensor): Value {
    this.edits++;
    return this.target().addConstant(name, tensor);
  }

  /** Point every use of `from` at `to`; `to` inherits `from`'s type where its own is unknown. */
  replaceAllUsesWith(from: Value, to: Value): void {
    if (from === to) return;
    if (to.dtype === undefined) to.dtype = from.dtype;
    if (to.shape === undefined) to.shape = from.shape;
    const users = from.uses.map((u) => u.node);
    from.replaceAllUsesWith(to);
    redirectSubgraphOutputs(from, to);
    this.edits++;
    for (const u of users) this.listener?.nodeChanged(u);
    for (const u of to.uses) this.listener?.nodeChanged(u.node);
    if (to.producer) this.listener?.nodeChanged(to.producer);
  }

  setInput(node: Node, index: number, value: Value | undefined): void {
    const old = node.inputs[index];
    node.setInput(index, value);
    this.edits++;
    this.listener?.nodeChanged(node);
    if (old?.producer) this.listener?.nodeChanged(old.producer);
  }

  /** Remove a node whose outputs are no longer used. */
  erase(node: Node): void {
    const producers = node.inputs.map((v) => v?.producer).filter((p): p is Node => p !== undefined);
    node.graph.removeNode(node);
    this.edits++;
    this.listener?.nodeErased(node);
    for (const p of producers) this.listener?.nodeChanged(p);
  }

  /**
   * Replace each output of `node` by the matching value, then erase it. Trailing outputs
   * without a value (Dropout's mask) must be unused.
   */
  replaceNode(node: Node, values: readonly Value[]): void {
    const unmatched = node.outputs.slice(values.length);
    if (values.length > node.outputs.length || unmatched.some((o) => o.uses.length > 0 || o.isGraphOutput)) {
      throw new Error(`replaceNode: ${node.describe()} has ${node.outputs.length} outputs, got ${values.length} values`);
    }
    values.forEach((v, i) => this.replaceAllUsesWith(node.outputs[i]!, v));
    if (node.outputs.every((o) => o.uses.length === 0 && !o.isGraphOutput)) this.erase(node);
  }
}

/**
 * A subgraph may return an outer value directly (an If branch returning a captured tensor);
 * such a reference is not in `uses`, so it is redirected here.
 */
function redirectSubgraphOutputs(from: Value, to: Value): void {
  for (const n of from.graph.nodes) {
    if (!ControlFlow.has(n.op)) continue;
    for (const sub of n.subgraphs()) {
      for (const g of walkGraphs(sub)) {
        g.outputs.forEach((v, i) => {
          if (v === from) g.outputs[i] = to;
        });
      }
    }
  }
}

export interface RewriteConfig {
  /** Full sweeps over the graph before giving up (each sweep drains the worklist). */
  maxIterations?: number;
  /** Cap on rewrites in one call, which stops rule cycles inside a sweep. */
  maxRewrites?: number;
  /** Test-only: throw when the cap is hit instead of returning converged: false. */
  failIfNotConverged?: boolean;
}

export interface RewriteResult {
  changed: boolean;
  converged: boolean;
  iterations: number;
  /** Rewrites applied per rule name, plus 'dead-nodes' erased by the driver. */
  counts: Record<string, number>;
}

/** Rules grouped by root op, highest benefit first. */
export function indexRules(rules: readonly Rule<any>[]): Map<Op, Rule<any>[]> {
  const byOp = new Map<Op, Rule<any>[]>();
  for (const r of rules) {
    for (const op of r.pattern.roots) {
      const list = byOp.get(op) ?? [];
      list.push(r);
      byOp.set(op, list);
    }
  }
  for (const list of byOp.values()) list.sort((a, b) => b.benefit - a.benefit);
  return byOp;
}

/**
 * Apply rules to a fixpoint over `graph` and its subgraphs. Nodes are visited users-first
 * (reverse topological order) so the largest pattern, rooted at the last node of a decomposed
 * op, is tried before a smaller one rooted inside it.
 */
export function applyRules(graph: Graph, rules: readonly Rule<any>[], config: RewriteConfig = {}): RewriteResult {
  const byOp = indexRules(rules);
  const maxIterations = config.maxIterations ?? 10;
  let totalNodes = 0;
  for (const g of walkGraphs(graph)) totalNodes += g.nodes.length;
  const maxRewrites = config.maxRewrites ?? 10 * totalNodes + 100;
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

  const stack: Node[] = [];
  const queued = new Set<Node>();
  const erased = new Set<Node>();
  const push = (n: Node) => {
    if (!erased.has(n) && !queued.has(n)) {
      queued.add(n);
      stack.push(n);
    }
  };
  const rw = new Rewriter({ nodeChanged: push, nodeErased: (n) => erased.add(n) });

  let rewrites = 0;
  let changed = false;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && rewrites <= maxRewrites) {
    iterations++;
    let changedThisSweep = false;
    // Outer graphs first on the stack, so subgraph nodes are visited before them.
    for (const g of walkGraphs(graph)) for (const n of g.nodes) push(n);
    const captures = subgraphOutputCaptures(graph);
    while (stack.length > 0 && rewrites <= maxRewrites) {
      const node = stack.pop()!;
      queued.delete(node);
      if (erased.has(node)) continue;
      if (!node.outputs.some((o) => isLive(o, captures))) {
        rw.erase(node);
        bump('dead-nodes');
        changedThisSweep = true;
        continue;
      }
      for (const r of byOp.get(node.op) ?? []) {
        const m = r.pattern.match(node);
        if (m === undefined) continue;
        rw.setInsertionPoint(node);
        const editsBefore = rw.edits;
        const result = r.rewrite(m, rw);
        if (result === undefined) {
          if (rw.edits !== editsBefore) throw new Error(`rule '${r.name}' edited the graph and then declined`);
          continue;
        }
        const values = Array.isArray(result) ? (result as Value[]) : [result as Value];
        rw.replaceNode(node, values);
        bump(r.name);
        rewrites++;
        changedThisSweep = true;
        break;
      }
    }
    changed ||= changedThisSweep;
    if (!changedThisSweep) {
      converged = true;
      break;
    }
  }
  if (!converged && config.failIfNotConverged) {
    const fired = Object.entries(counts).map(([k, v]) => `${k} x${v}`).join(', ');
    throw new Error(`rewrite did not converge after ${iterations} iterations and ${rewrites} rewrites (${fired})`);
  }
  return { changed, converged, iterations, counts };
}
