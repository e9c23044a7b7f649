// MoE blocks of fixtures/moe's canonical graph, built by hand from the dense routing pattern
// (TopK -> ScatterElements -> Slice per expert -> Mul -> Add chain), so the expert tests do not
// depend on structure recognition.

import type { Graph, Node, Value } from '../../../ir/graph.js';
import { Op } from '../../../ir/ops.js';
import type { Expert, MoeBlock } from '../../structure/types.js';

export function denseMoeBlocks(graph: Graph): MoeBlock[] {
  return graph.nodes.filter((n) => n.op === Op.TopK).map((topK) => blockAt(topK));
}

function blockAt(topK: Node): MoeBlock {
  let router = topK.inputs[0]!.producer!;
  while (router.op !== Op.Linear) router = router.inputs[0]!.producer!;
  const scatter = topK.outputs[1]!.uses.find((u) => u.node.op === Op.ScatterElements)!.node;
  const combines = new Set<Node>();
  const experts: Expert[] = scatter.outputs[0]!.uses
    .filter((u) => u.node.op === Op.Slice)
    .map((u) => {
      const slice = u.node;
      const combine = slice.outputs[0]!.uses[0]!.node;
      combines.add(combine);
      const downOut = combine.inputs[0] === slice.outputs[0] ? combine.inputs[1]! : combine.inputs[0]!;
      const down = downOut.producer!;
      const [activated, upOut] = down.inputs[0]!.producer!.inputs as [Value, Value];
      const gate = activated.producer!.inputs[0]!.producer!;
      return { index: slice.inputs[1]!.const!.get(0), up: upOut.producer!, gate, down, weight: slice.outputs[0]!, combine };
    })
    .sort((a, b) => a.index - b.index);
  // The block's output: the end of the Add chain over the weighted expert outputs.
  const inChain = (v: Value | undefined) => v !== undefined && v.producer !== undefined && (combines.has(v.producer) || chain.has(v.producer));
  const chain = new Set<Node>();
  let output = experts[0]!.combine!.outputs[0]!;
  for (;;) {
    const next = output.uses[0]?.node;
    if (!next || next.op !== Op.Add || !next.inputs.every(inChain)) break;
    chain.add(next);
    output = next.outputs[0]!;
  }
  return { kind: 'moe', input: router.inputs[0]!, router, topK, k: topK.inputs[1]!.const!.get(0), experts, form: 'dense', output };
}
