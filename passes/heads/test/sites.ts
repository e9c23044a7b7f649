// Head and MLP sites of the fixture models' canonical graphs, found by hand from the attention
// pattern (a Reshape to heads feeding the score MatMul, the merge Reshape before the output
// projection) so these tests do not depend on structure recognition.

import type { Graph, Node, Value } from '../../../ir/graph.js';
import { Op } from '../../../ir/ops.js';
import type { ProjectionPart } from '../../structure/types.js';
import type { HeadSite, Labeled, MlpSite } from '../index.js';

/** What each fixture's attention looks like (from its meta.json). */
const CONFIG: Record<string, { heads: number; kvHeads: number; headDim: number }> = {
  gpt2: { heads: 4, kvHeads: 4, headDim: 16 },
  llama: { heads: 4, kvHeads: 2, headDim: 16 },
  moe: { heads: 4, kvHeads: 2, headDim: 16 },
};

/** The projection part feeding a head Reshape: a Linear output or a Split part of one. */
function part(v: Value): ProjectionPart {
  const p = v.producer!;
  if (p.op === Op.Linear) return { node: p, offset: 0, width: v.shape![v.shape!.length - 1] as number, value: v };
  const index = p.outputs.indexOf(v);
  const sizes = p.inputs[1]!.const!.toNumbers();
  const offset = sizes.slice(0, index).reduce((a, b) => a + b, 0);
  return { node: p.inputs[0]!.producer!, offset, width: sizes[index]!, value: v };
}

export function headSites(graph: Graph, fixture: string): Labeled<HeadSite>[] {
  const cfg = CONFIG[fixture]!;
  // Per layer, in graph order: the q, k, v Reshapes to heads read a projection (part); the
  // merge Reshape is the one read by a Linear.
  const splits = graph.nodes.filter((n) => n.op === Op.Reshape && readsProjection(n));
  const merges = graph.nodes.filter((n) => n.op === Op.Reshape && n.outputs[0]!.uses.some((u) => u.node.op === Op.Linear));
  return merges.map((merge, layer) => {
    const [q, , v] = splits.slice(3 * layer, 3 * layer + 3) as [Node, Node, Node];
    const out = merge.outputs[0]!.uses.find((u) => u.node.op === Op.Linear)!.node;
    return { layer, name: `layer ${layer}`, site: { q: part(q.inputs[0]!), v: part(v.inputs[0]!), out, ...cfg } };
  });
}

function readsProjection(n: Node): boolean {
  const p = n.inputs[0]!.producer;
  return p !== undefined && (p.op === Op.Linear || (p.op === Op.Split && p.inputs[0]!.producer?.op === Op.Linear));
}

/** SwiGLU (llama, moe experts: down(silu(gate) * up)) or GELU (gpt2: down(gelu(up))) MLPs. */
export function mlpSites(graph: Graph): Labeled<MlpSite>[] {
  const sites: Labeled<MlpSite>[] = [];
  for (const n of graph.nodes) {
    if (n.op === Op.Gelu) {
      const down = n.outputs[0]!.uses[0]!.node;
      sites.push({ layer: sites.length, name: `mlp ${sites.length}`, site: { up: n.inputs[0]!.producer!, down } });
    } else if (n.op === Op.Sigmoid) {
      const silu = n.outputs[0]!.uses[0]!.node;
      const product = silu.outputs[0]!.uses[0]!.node;
      const upValue = product.inputs[0] === silu.outputs[0] ? product.inputs[1]! : product.inputs[0]!;
      const down = product.outputs[0]!.uses[0]!.node;
      sites.push({ layer: sites.length, name: `mlp ${sites.length}`, site: { up: upValue.producer!, gate: n.inputs[0]!.producer!, down } });
    }
  }
  return sites;
}
