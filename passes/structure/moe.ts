// Mixture-of-experts blocks. The router is a linear layer with one output per expert whose
// scores go through Softmax and TopK (or TopK then Softmax over the kept logits).
//
// Dense form (a loop over experts as torch exports it): the top-k weights are scattered into
// zeros (ScatterElements), each expert's column is taken by Slice or Gather and multiplies
// that expert's output, and an Add chain sums them. Otherwise we accept the block when the
// branch holds one feed-forward network per router output (in graph order): dense when they
// read the block input, gathered when they read tokens gathered for them.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { type Branch, branchFields, type MatchResult, mismatch } from './branch.js';
import { feedForward, type FeedForward } from './mlp.js';
import type { Expert, MoeBlock } from './types.js';
import { constNumbers, constScalar, lastAxisSlice, linearProducer, linearWidth, notTheInput, sameTokens } from './projections.js';

export function matchMoe(b: Branch): MatchResult<MoeBlock> {
  const topK = b.nodes.find((n) => n.op === Op.TopK);
  if (!topK) return mismatch('no TopK in the branch');
  const k = constScalar(topK.inputs[1]);
  if (k === undefined) return mismatch('the TopK count is not a constant', topK);
  const router = routerOf(topK);
  if (!router) return mismatch('the TopK does not rank the outputs of a router linear layer', topK);
  if (!sameTokens(router.inputs[0], b.input)) return mismatch(notTheInput('the router', router.inputs[0], b.input), router);
  const count = linearWidth(router)!;

  const dense = denseExperts(topK, count);
  if (dense && dense.length === count) {
    return { block: { kind: 'moe', ...branchFields(b), router, topK, k, experts: dense, form: 'dense' } };
  }
  // Without scattered weights: experts found as feed-forward networks in graph order. They
  // run on every token (dense, weighted some other way) or on gathered tokens.
  const found = feedForwards(b, router);
  if (found.length === count) {
    const form = found.every((e) => sameTokens(e.up.inputs[0], b.input)) ? 'dense' : 'gathered';
    return { block: { kind: 'moe', ...branchFields(b), router, topK, k, experts: found, form } };
  }
  return mismatch(`the router has ${count} outputs but ${dense?.length ?? found.length} experts were found`, topK);
}

/** The router linear under a TopK: TopK(Softmax(router(x))) or TopK(router(x)). */
function routerOf(topK: Node): Node | undefined {
  let v = topK.inputs[0]!;
  const p = v.producer;
  if (p?.op === Op.Softmax || p?.op === Op.Cast) v = p.inputs[0]!;
  return linearProducer(v);
}

/** Experts of the dense form, or undefined when the routing weights are not scattered. */
function denseExperts(topK: Node, count: number): Expert[] | undefined {
  const indices = topK.outputs[1]!;
  const scatter = usersThrough(indices, Op.ScatterElements).find((n) => n.inputs[1] !== undefined && reaches(indices, n.inputs[1]));
  if (!scatter) return undefined;
  const experts: Expert[] = [];
  for (const use of scatter.outputs[0]!.uses) {
    const index = expertColumn(use.node, count);
    if (index === undefined) continue;
    const weight = use.node.outputs[0]!;
    for (const w of weight.uses) {
      if (w.node.op !== Op.Mul) continue;
      const expertOut = w.node.inputs[1 - w.index];
      const ff = expertOut && feedForward(expertOut);
      if (!ff || 'reason' in ff) continue;
      experts.push(expert(index, ff, weight, w.node));
    }
  }
  experts.sort((a, b) => a.index - b.index);
  const distinct = new Set(experts.map((e) => e.index));
  return distinct.size === experts.length ? experts : undefined;
}

/** Which expert's weight column a Slice or Gather of the scattered weights takes. */
function expertColumn(node: Node, count: number): number | undefined {
  if (node.op === Op.Slice) {
    const r = lastAxisSlice(node, count);
    return r && r.end - r.start === 1 ? r.start : undefined;
  }
  if (node.op === Op.Gather) {
    const axis = node.attrInt('axis', 0);
    const rank = node.inputs[0]!.rank;
    const index = constNumbers(node.inputs[1]);
    if (index?.length !== 1 || !(axis === -1 || (rank !== undefined && axis === rank - 1))) return undefined;
    return index[0]! < 0 ? index[0]! + count : index[0];
  }
  return undefined;
}

function expert(index: number, ff: FeedForward, weight?: Value, combine?: Node): Expert {
  return {
    index,
    up: ff.up,
    ...(ff.gate ? { gate: ff.gate } : {}),
    down: ff.down,
    activation: ff.activation,
    ...(weight ? { weight } : {}),
    ...(combine ? { combine } : {}),
  };
}

/** Feed-forward networks in the branch other than the router, in graph order. */
function feedForwards(b: Branch, router: Node): Expert[] {
  const experts: Expert[] = [];
  const seen = new Set<Node>();
  for (const n of b.nodes) {
    if (n === router || seen.has(n) || linearWidth(n) === undefined) continue;
    const ff = feedForward(n.outputs[0]!);
    if ('reason' in ff || ff.down !== n) continue;
    for (const x of [ff.up, ff.gate, ff.down]) if (x) seen.add(x);
    // The routing weight usually scales the expert's output right away.
    const out = ff.down.outputs[0]!;
    const combine = out.uses.length === 1 && out.uses[0]!.node.op === Op.Mul ? out.uses[0]!.node : undefined;
    const weight = combine?.inputs[1 - out.uses[0]!.index];
    experts.push(expert(experts.length, ff, weight, combine));
  }
  return experts;
}

/** Nodes of type `op` reading v directly or through Cast/Unsqueeze/Reshape. */
function usersThrough(v: Value, op: Op): Node[] {
  const out: Node[] = [];
  const stack = [v];
  for (let i = 0; stack.length > 0 && i < 16; i++) {
    const x = stack.pop()!;
    for (const u of x.uses) {
      if (u.node.op === op) out.push(u.node);
      else if (u.node.op === Op.Cast || u.node.op === Op.Unsqueeze || u.node.op === Op.Reshape) stack.push(u.node.outputs[0]!);
    }
  }
  return out;
}

function reaches(from: Value, to: Value): boolean {
  for (let v: Value | undefined = to, i = 0; v && i < 4; i++) {
    if (v === from) return true;
    v = v.producer?.inputs[0];
  }
  return false;
}
