// Structure recognition: find the residual stream of a transformer and describe each branch
// off it (attention, MLP or MoE), the embeddings at its start and the head at its end. Runs
// on the canonical graph (see canonical.ts). Never throws on an unfamiliar graph: what it
// cannot place is listed in `unrecognized` with the node and the reason.

import type { Graph, Node } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { matchAttention } from './attention.js';
import type { Branch, MatchResult, Mismatch } from './branch.js';
import { findEmbedding, findHead } from './embedding.js';
import { matchMlp } from './mlp.js';
import { matchMoe } from './moe.js';
import { linearWidth } from './projections.js';
import { findBranch, postNormOf, streamInput, streamWidth } from './stream.js';
import type { ModelStructure, Sublayer, TransformerLayer, Unrecognized } from './types.js';
import { nodePositions } from './walk.js';

/** Sublayers of a stream longer than this are not looked for (a guard against cycles in bad input). */
const MAX_SUBLAYERS = 100_000;

export function recognizeStructure(graph: Graph): ModelStructure {
  try {
    return recognize(graph);
  } catch (e) {
    // A bug meeting an unfamiliar graph must not take the command down with it.
    return { layers: [], unrecognized: [{ reason: `structure recognition failed: ${e instanceof Error ? e.message : String(e)}` }] };
  }
}

function recognize(graph: Graph): ModelStructure {
  const unrecognized: Unrecognized[] = [];
  const pos = nodePositions(graph);
  const embedding = findEmbedding(graph, pos);
  const start = embedding?.output ?? streamInput(graph);
  if (!start) {
    return {
      layers: [],
      unrecognized: [{ reason: 'no residual stream: no token embedding (a Gather from a constant table by a model input) and no float [batch, sequence, width] input' }],
    };
  }

  const states = [start];
  const sublayers: Sublayer[] = [];
  let state = start;
  while (sublayers.length < MAX_SUBLAYERS) {
    const branch = findBranch(state, pos);
    if (!branch) break;
    const result = classify(branch);
    if ('mismatch' in result) {
      const where = branch.residualAdd ? ` (residual ${branch.residualAdd.describe()})` : '';
      unrecognized.push({ node: result.mismatch.node ?? branch.residualAdd, reason: `sublayer ${sublayers.length}${where} not recognized: ${result.mismatch.reason}` });
      break;
    }
    let next = branch.residualAdd!.outputs[0]!;
    // A norm after the Add is a post-norm only in a model without pre-norms: in a pre-norm
    // model the norm reading the last Add is the final norm.
    const preNorms = branch.norm !== undefined || sublayers.some((s) => s.norm);
    const postNorm = preNorms ? undefined : postNormOf(next);
    if (postNorm) next = postNorm.output;
    sublayers.push(postNorm ? { ...result.block, postNorm } : result.block);
    states.push(next);
    state = next;
  }
  const onward = unrecognized.length === 0 ? state.uses.find((u) => u.node.op === Op.Add)?.node : undefined;
  if (onward) {
    // The stream goes on, but through an Add whose other side does not come from it.
    unrecognized.push({ node: onward, reason: `the stream ${state.name} goes on through ${onward.describe()}, whose other input is not computed from it (parallel attention and MLP?)` });
  }
  if (sublayers.length === 0 && unrecognized.length === 0) {
    unrecognized.push({ node: start.producer, reason: `no residual Add reads the stream value ${start.name}: no transformer layers` });
  }

  const normPlacement = sublayers.some((s) => s.postNorm) ? 'post' : 'pre';
  const width = streamWidth(start) ?? embedding?.table.const?.shape[1];
  // Where the walk stopped at an unrecognized branch, the stream goes on: no head to look for.
  const stopped = unrecognized.length > 0;
  const { finalNorm, head } = stopped ? {} : findHead(state, normPlacement, embedding);
  const structure: ModelStructure = {
    ...(embedding ? { embedding } : {}),
    ...(width !== undefined ? { stream: { width, states, normPlacement } } : {}),
    layers: groupLayers(sublayers),
    ...(finalNorm ? { finalNorm } : {}),
    ...(head ? { head } : {}),
    unrecognized,
  };
  if (width === undefined) unrecognized.push({ node: start.producer, reason: `the stream width of ${start.name} is not static` });
  unrecognized.push(...strayNodes(graph, sublayers));
  return structure;
}

/** Try the matcher the branch's content points at; collect every matcher's reason otherwise. */
function classify(b: Branch): MatchResult<Sublayer> {
  const tries: [string, (b: Branch) => MatchResult<Sublayer>][] = [];
  if (b.nodes.some((n) => n.op === Op.TopK)) tries.push(['moe', matchMoe]);
  if (b.nodes.some((n) => n.op === Op.Softmax)) tries.push(['attention', matchAttention]);
  tries.push(['mlp', matchMlp]);
  const reasons: Mismatch[] = [];
  for (const [name, match] of tries) {
    const r = safely(match, b);
    const stray = 'block' in r ? strayLinear(b, r.block) : undefined;
    if ('block' in r && !stray) return r;
    const m = 'block' in r ? { reason: `linear layer ${stray!.describe()} in the branch is not part of the ${name} block`, node: stray } : r.mismatch;
    reasons.push({ ...m, reason: `${name}: ${m.reason}${m.node && 'mismatch' in r ? ` at ${m.node.describe()}` : ''}` });
  }
  return { mismatch: { reason: reasons.map((r) => r.reason).join('; '), ...(reasons[0]?.node ? { node: reasons[0].node } : {}) } };
}

/** A matcher's exceptions are bugs on unfamiliar graphs: report them as a mismatch, never throw. */
function safely(match: (b: Branch) => MatchResult<Sublayer>, b: Branch): MatchResult<Sublayer> {
  try {
    return match(b);
  } catch (e) {
    return { mismatch: { reason: `internal error: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

/**
 * A linear layer in the branch that the block does not list (a MoE's shared expert, a second
 * MLP): passes that rewrite every reader and writer of the stream must not miss it.
 */
function strayLinear(b: Branch, block: Sublayer): Node | undefined {
  const known = new Set(blockLinears(block));
  return b.nodes.find((n) => linearWidth(n) !== undefined && !known.has(n));
}

function blockLinears(s: Sublayer): Node[] {
  switch (s.kind) {
    case 'attention':
      return [s.q.node, s.k.node, s.v.node, s.out];
    case 'mlp':
      return [s.up, s.down, ...(s.gate ? [s.gate] : [])];
    case 'moe':
      return [s.router, ...s.experts.flatMap((e) => [e.up, e.down, ...(e.gate ? [e.gate] : [])])];
  }
}

/** Layers: an attention sublayer starts one; an MLP/MoE joins the attention before it. */
function groupLayers(sublayers: readonly Sublayer[]): TransformerLayer[] {
  const layers: { index: number; sublayers: Sublayer[] }[] = [];
  for (const s of sublayers) {
    const current = layers.at(-1);
    const joins = current && s.kind !== 'attention' && current.sublayers.every((x) => x.kind === 'attention');
    if (joins) current.sublayers.push(s);
    else layers.push({ index: layers.length, sublayers: [s] });
  }
  return layers;
}

/** Attention Softmaxes and routing TopKs outside every recognized block. */
function strayNodes(graph: Graph, sublayers: readonly Sublayer[]): Unrecognized[] {
  const placed = new Set<Node>();
  for (const s of sublayers) {
    if (s.kind === 'attention') placed.add(s.softmax);
    if (s.kind === 'moe') placed.add(s.topK);
  }
  const out: Unrecognized[] = [];
  for (const n of graph.nodes) {
    if (placed.has(n)) continue;
    if (n.op === Op.Softmax && n.outputs[0]!.uses.some((u) => u.node.op === Op.MatMul)) {
      out.push({ node: n, reason: `attention-like ${n.describe()} (Softmax feeding a MatMul) is outside every recognized attention block` });
    } else if (n.op === Op.TopK && !sublayers.some((s) => s.kind === 'moe')) {
      out.push({ node: n, reason: `${n.describe()} is outside every recognized MoE block` });
    }
  }
  return out;
}
