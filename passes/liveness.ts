// Whether a value is still needed. Uses by subgraph nodes are in `value.uses` (they reference
// the outer Value directly); the one use that is not is a subgraph *output* naming an outer
// value (an If branch returning a captured tensor), collected here.

import type { Graph, Value } from '../ir/graph.js';

/** The graph and all its subgraphs, recursively, outer graphs first. */
export function* walkGraphs(graph: Graph): Iterable<Graph> {
  yield graph;
  for (const n of graph.nodes) for (const sub of n.subgraphs()) yield* walkGraphs(sub);
}

/** Values of enclosing graphs that some subgraph returns as an output. */
export function subgraphOutputCaptures(graph: Graph): Set<Value> {
  const out = new Set<Value>();
  for (const g of walkGraphs(graph)) {
    if (g === graph && !g.parent) continue;
    for (const v of g.outputs) if (v.graph !== g) out.add(v);
  }
  return out;
}

export function isLive(v: Value, captures: ReadonlySet<Value>): boolean {
  return v.uses.length > 0 || v.isGraphOutput || captures.has(v);
}
