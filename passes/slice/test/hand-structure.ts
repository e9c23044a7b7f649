// A hand-built ModelStructure for the pre-norm fixture graphs (canonical form), standing in for
// structure recognition in the slicing tests: the norms in graph order, the residual Add on each
// norm's input, and the linear layer producing the Add's other operand as the sublayer's writer.

import type { Graph, Node, Value } from '../../../ir/graph.js';
import { Op } from '../../../ir/ops.js';
import type { ModelStructure, Norm, Sublayer } from '../../structure/types.js';

function norm(node: Node): Norm {
  const kind = node.op === Op.RMSNorm ? 'rmsnorm' : 'layernorm';
  return { kind, node, input: node.inputs[0]!, output: node.outputs[0]!, scale: node.inputs[1], ...(node.inputs[2] ? { bias: node.inputs[2] } : {}) };
}

export function handStructure(graph: Graph): ModelStructure {
  const norms = graph.nodes.filter((n) => n.op === Op.LayerNormalization || n.op === Op.RMSNorm).map(norm);
  const final = norms[norms.length - 1]!;
  const states: Value[] = [norms[0]!.input];
  const layers: { index: number; sublayers: Sublayer[] }[] = [];
  for (const [i, n] of norms.slice(0, -1).entries()) {
    const add = n.input.uses.find((u) => u.node.op === Op.Add)!.node;
    const branch = add.inputs.find((v) => v !== n.input)!;
    const linearOf = (v: Value): Node => (v.producer!.op === Op.Linear ? v.producer! : linearOf(v.producer!.inputs[0]!));
    const writer = linearOf(branch);
    const attention = i % 2 === 0;
    const sub = attention
      ? ({ kind: 'attention', norm: n, input: n.output, out: writer, output: branch, residualAdd: add } as unknown as Sublayer)
      : ({ kind: 'mlp', norm: n, input: n.output, down: writer, output: branch, residualAdd: add } as unknown as Sublayer);
    if (attention) layers.push({ index: layers.length, sublayers: [] });
    layers[layers.length - 1]!.sublayers.push(sub);
    states.push(add.outputs[0]!);
  }
  const first = states[0]!;
  const gathers = graph.nodes.filter((n) => n.op === Op.Gather && n.inputs[0]?.const && n.inputs[0].const.rank === 2);
  const token = gathers.find((g) => g.inputs[1]!.isGraphInput)!;
  const pos = gathers.find((g) => g !== token);
  const head = final.output.uses.find((u) => u.node.op === Op.Linear)!.node;
  return {
    embedding: {
      gather: token,
      table: token.inputs[0]!,
      ...(pos && first.producer?.op === Op.Add ? { positions: { gather: pos, table: pos.inputs[0]!, add: first.producer } } : {}),
      output: first,
    },
    stream: { width: first.shape![first.shape!.length - 1] as number, states, normPlacement: 'pre' },
    layers,
    finalNorm: final,
    head: { node: head, tied: pos !== undefined },
    unrecognized: [],
  };
}
