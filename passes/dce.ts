// Dead code elimination: nodes none of whose outputs are used (by a node, a graph output, or a
// subgraph returning a captured value), and constants nothing uses, in every graph.

import type { Graph } from '../ir/graph.js';
import { definePass } from './pass.js';
import { isLive, subgraphOutputCaptures, walkGraphs } from './liveness.js';
import { Rewriter } from './rewrite.js';

export function eliminateDeadCode(graph: Graph): { nodes: number; constants: number } {
  const rw = new Rewriter();
  let nodes = 0;
  let constants = 0;
  // Removing a node can make its producers dead, possibly in an enclosing graph (a captured
  // value), so repeat until nothing changes. Reverse order removes whole chains in one sweep.
  for (let again = true; again; ) {
    again = false;
    const captures = subgraphOutputCaptures(graph);
    for (const g of [...walkGraphs(graph)].reverse()) {
      for (let i = g.nodes.length - 1; i >= 0; i--) {
        const n = g.nodes[i]!;
        if (n.outputs.some((o) => isLive(o, captures))) continue;
        rw.erase(n);
        nodes++;
        again = true;
      }
    }
    for (const g of walkGraphs(graph)) {
      for (const [name, v] of [...g.constants]) {
        if (isLive(v, captures)) continue;
        g.constants.delete(name);
        constants++;
      }
    }
  }
  return { nodes, constants };
}

export const dcePass = definePass({
  name: 'dce',
  summary: 'Remove nodes whose outputs are unused and constants nothing reads, in all subgraphs.',
  run(model) {
    const r = eliminateDeadCode(model.graph);
    return { changed: r.nodes + r.constants > 0, stats: r };
  },
});
