// Reachability in a graph in topological order: what lies between two values, and whether
// one is computed from another, both bounded to the stretch of the graph that can matter.

import type { Graph, Node, Value } from '../../ir/graph.js';

/** Positions of nodes in graph order, for bounding searches to a stretch of the graph. */
export function nodePositions(graph: Graph): Map<Node, number> {
  return new Map(graph.nodes.map((n, i) => [n, i]));
}

/**
 * Nodes between `from` and `to`: those `to` depends on that depend on `from` (both
 * exclusive of the values themselves), in graph order.
 */
export function nodesBetween(from: Value, to: Value, pos: ReadonlyMap<Node, number>): Node[] {
  const lo = from.producer ? pos.get(from.producer)! : -1;
  const back = new Set<Node>();
  const stack: Node[] = to.producer ? [to.producer] : [];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (back.has(n) || (pos.get(n) ?? -1) <= lo) continue;
    back.add(n);
    for (const i of n.inputs) if (i?.producer) stack.push(i.producer);
  }
  const forward = new Set<Node>();
  const queue: Node[] = from.uses.map((u) => u.node);
  while (queue.length > 0) {
    const n = queue.pop()!;
    if (forward.has(n) || !back.has(n)) continue;
    forward.add(n);
    for (const o of n.outputs) for (const u of o.uses) queue.push(u.node);
  }
  return [...forward].sort((a, b) => pos.get(a)! - pos.get(b)!);
}

/** Whether v depends on `target` (searching producers no earlier than target's producer). */
export function dependsOn(v: Value, target: Value, pos: ReadonlyMap<Node, number>): boolean {
  if (v === target) return true;
  const lo = target.producer ? pos.get(target.producer)! : -1;
  const seen = new Set<Node>();
  const stack: Node[] = v.producer ? [v.producer] : [];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n) || (pos.get(n) ?? -1) <= lo) continue;
    seen.add(n);
    for (const i of n.inputs) {
      if (i === target) return true;
      if (i?.producer) stack.push(i.producer);
    }
  }
  return false;
}

/** The other input of a two-input node. */
export function otherInput(node: Node, v: Value): Value | undefined {
  const [a, b] = node.inputs;
  return a === v ? b : b === v ? a : undefined;
}
