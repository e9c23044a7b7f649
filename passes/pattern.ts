// A small pattern language over values, in the spirit of tinygrad's UPat: `op(Op.Add,
// [op(Op.MatMul, [any('x'), constant('w')]), constant('b')], {commutative: true})`. A name
// bound twice must bind the same value, so `any('x')` twice means "the same x".
//
// `pattern(p)` turns a value pattern into a rewrite Pattern rooted at its op and checks that
// the matched interior nodes are used only inside the match (else the rewrite would have to
// keep them and would duplicate work).

import type { Node, Value } from '../ir/graph.js';
import type { Op } from '../ir/ops.js';
import type { Tensor } from '../ir/tensor.js';
import type { Pattern } from './rewrite.js';

export interface Bindings {
  readonly v: Readonly<Record<string, Value>>;
  readonly n: Readonly<Record<string, Node>>;
  /** Every node the match went through, root first. */
  readonly nodes: readonly Node[];
}

export interface Match extends Bindings {
  readonly root: Node;
}

export interface Pat {
  /** Set for op patterns: the ops the matched value's producer may have. */
  readonly ops?: readonly Op[];
  match(v: Value | undefined, b: Bindings): Bindings | undefined;
}

const empty: Bindings = { v: {}, n: {}, nodes: [] };

function bindValue(b: Bindings, name: string | undefined, v: Value): Bindings | undefined {
  if (name === undefined) return b;
  const old = b.v[name];
  if (old) return old === v ? b : undefined;
  return { ...b, v: { ...b.v, [name]: v } };
}

/** Any present value. */
export function any(name?: string): Pat {
  return { match: (v, b) => (v ? bindValue(b, name, v) : undefined) };
}

/** A constant value, optionally satisfying `where`. */
export function constant(name?: string, where?: (t: Tensor) => boolean): Pat {
  return { match: (v, b) => (v?.const && (!where || where(v.const)) ? bindValue(b, name, v) : undefined) };
}

/** A one-element constant close to `value` (relative 1e-4: exporters round through float32). */
export function scalar(value: number, name?: string): Pat {
  return constant(name, (t) => t.size === 1 && isClose(t.get(0), value));
}

export function isClose(a: number, b: number, rel = 1e-4): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-30);
}

/** Matches `p`, or an absent input. */
export function optional(p: Pat): Pat {
  return { match: (v, b) => (v === undefined ? b : p.match(v, b)) };
}

/** Either pattern (first that matches). */
export function oneOf(...pats: Pat[]): Pat {
  const ops = pats.every((p) => p.ops) ? pats.flatMap((p) => p.ops!) : undefined;
  return {
    ops,
    match: (v, b) => {
      for (const p of pats) {
        const r = p.match(v, b);
        if (r) return r;
      }
      return undefined;
    },
  };
}

export interface OpPatOptions {
  /** Binds the node under this name in `n`, and its (first) output in `v`. */
  name?: string;
  /** Try the two inputs in both orders (Add, Mul). */
  commutative?: boolean;
  where?: (node: Node) => boolean;
}

/** A value produced by one of `ops`, whose inputs match `inputs` position by position. */
export function op(ops: Op | readonly Op[], inputs: readonly Pat[], opts: OpPatOptions = {}): Pat {
  const opList: readonly Op[] = typeof ops === 'string' ? [ops] : ops;
  const matchInputs = (node: Node, order: readonly Pat[], b: Bindings): Bindings | undefined => {
    if (node.inputs.slice(order.length).some((x) => x !== undefined)) return undefined;
    let cur: Bindings | undefined = b;
    for (let i = 0; i < order.length && cur; i++) cur = order[i]!.match(node.inputs[i], cur);
    return cur;
  };
  return {
    ops: opList,
    match(v, b) {
      const node = v?.producer;
      if (!node || !opList.includes(node.op) || (opts.where && !opts.where(node))) return undefined;
      if (opts.name !== undefined) {
        const old = b.n[opts.name];
        if (old && old !== node) return undefined;
      }
      let start = bindValue(b, opts.name, v);
      if (!start) return undefined;
      if (!start.nodes.includes(node)) start = { ...start, nodes: [...start.nodes, node] };
      if (opts.name !== undefined) start = { ...start, n: { ...start.n, [opts.name]: node } };
      const direct = matchInputs(node, inputs, start);
      if (direct || !opts.commutative || inputs.length !== 2) return direct;
      return matchInputs(node, [inputs[1]!, inputs[0]!], start);
    },
  };
}

/** A rewrite Pattern rooted at `p`'s ops. Interior nodes must not be used outside the match. */
export function pattern(p: Pat): Pattern<Match> {
  if (!p.ops) throw new Error('pattern: the root must be an op pattern');
  return {
    roots: p.ops,
    match(root) {
      if (root.outputs.length === 0) return undefined;
      const b = p.match(root.outputs[0], empty);
      if (!b || !interiorIsPrivate(root, b.nodes)) return undefined;
      return { ...b, root };
    },
  };
}

/** Whether every output of the matched non-root nodes is used only by matched nodes. */
export function interiorIsPrivate(root: Node, nodes: readonly Node[]): boolean {
  const inMatch = new Set(nodes);
  for (const n of nodes) {
    if (n === root) continue;
    for (const out of n.outputs) {
      if (out.isGraphOutput) return false;
      if (out.uses.some((u) => !inMatch.has(u.node))) return false;
    }
  }
  return true;
}
