// Attention blocks: out( merge( softmax(mask(q k^T * scale)) v ) ), read back from the output
// projection. Each of q, k and v is traced from the attention MatMuls back to the Reshape that
// splits a projection (part) into heads, looking through transposes, scaling by constants,
// rotary embeddings (x*cos + rotate_half(x)*sin) and the Unsqueeze/Expand/Reshape that
// repeats key/value heads for grouped-query attention.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { type Branch, branchFields, type MatchResult, mismatch, notLinearOutput } from './branch.js';
import { isCausalMask } from './masks.js';
import { isNorm } from './norms.js';
import type { AttentionBlock, ProjectionPart } from './types.js';
import { beforeTokenReshapes, headSplit, linearInWidth, linearProducer, notTheInput, projectionPart, sameTokens } from './projections.js';

/** Ops that move or repeat head data without changing it, on the way back to a projection. */
const LAYOUT_OPS = new Set<Op>([Op.Transpose, Op.Reshape, Op.Expand, Op.Unsqueeze, Op.Squeeze, Op.Identity, Op.Cast, Op.Tile]);

interface HeadTrace {
  readonly part: ProjectionPart;
  readonly reshape: Node;
  readonly heads: number;
  readonly headDim: number;
  readonly rotary: boolean;
}

export function matchAttention(b: Branch): MatchResult<AttentionBlock> {
  const out = linearProducer(b.output);
  if (!out) return mismatch(notLinearOutput(b.output), b.output.producer);
  const merged = mergedHeads(beforeTokenReshapes(out.inputs[0])!);
  if (!merged) return mismatch('the output projection does not read heads merged by a Reshape from a MatMul', out);
  const { merge, pv } = merged;
  const softmax = softmaxOf(pv.inputs[0]!);
  if (!softmax) return mismatch('the attention MatMul before the output projection does not read Softmax probabilities', pv);

  const masks: Value[] = [];
  const scores = scoresMatMul(softmax.inputs[0]!, masks, 0);
  if (!scores) return mismatch('no q·k MatMul before the attention Softmax', softmax);

  const q = traceToHeads(scores.inputs[0]!);
  if ('reason' in q) return mismatch(`q is not a projection split into heads by a Reshape: its trace ${q.reason}`, scores);
  const k = traceToHeads(scores.inputs[1]!);
  if ('reason' in k) return mismatch(`k is not a projection split into heads by a Reshape: its trace ${k.reason}`, scores);
  const v = traceToHeads(pv.inputs[1]!);
  if ('reason' in v) return mismatch(`v is not a projection split into heads by a Reshape: its trace ${v.reason}`, pv);

  if (k.heads !== v.heads || k.headDim !== q.headDim || q.heads % k.heads !== 0) {
    return mismatch(`inconsistent heads: q ${q.heads}x${q.headDim}, k ${k.heads}x${k.headDim}, v ${v.heads}x${v.headDim}`, scores);
  }
  if (linearInWidth(out) !== q.heads * v.headDim) {
    return mismatch(`the output projection reads ${linearInWidth(out)} channels, not heads x head dim = ${q.heads * v.headDim}`, out);
  }
  for (const t of [q, k, v]) {
    if (!readsInput(t.part.node, b.input)) return mismatch(notTheInput('a q/k/v projection', t.part.node.inputs[0], b.input), t.part.node);
  }
  return {
    block: {
      kind: 'attention',
      ...branchFields(b),
      q: q.part,
      k: k.part,
      v: v.part,
      fused: q.part.node === k.part.node || q.part.node === v.part.node || k.part.node === v.part.node,
      out,
      heads: q.heads,
      kvHeads: k.heads,
      headDim: q.headDim,
      rotary: q.rotary || k.rotary,
      causalMask: masks.some((m) => isCausalMask(m)),
      softmax,
      headReshapes: { q: q.reshape, k: k.reshape, v: v.reshape, merge },
    },
  };
}

function readsInput(node: Node, input: Value): boolean {
  return sameTokens(node.inputs[0], input);
}

/** The Softmax whose probabilities a MatMul reads (through casts, as fp16 exports upcast). */
function softmaxOf(v: Value): Node | undefined {
  for (let depth = 0; depth < 4; depth++) {
    const p = v.producer;
    if (p?.op === Op.Softmax) return p;
    // Reshape/Flatten: opset < 13 Softmax coerces to 2-D; the importer writes that out.
    if (p?.op !== Op.Cast && p?.op !== Op.Identity && p?.op !== Op.Dropout && p?.op !== Op.Reshape && p?.op !== Op.Flatten) return undefined;
    v = p.inputs[0]!;
  }
  return undefined;
}

/**
 * The Reshape merging heads before the output projection and the probs @ v MatMul before it:
 * the merge is the Reshape nearest the MatMul.
 */
function mergedHeads(v: Value): { merge: Node; pv: Node } | undefined {
  let merge: Node | undefined;
  for (let depth = 0; depth < 6; depth++) {
    const p = v.producer;
    if (!p) return undefined;
    if (p.op === Op.MatMul) return merge && p.inputs.every((i) => i && !i.isConstant) ? { merge, pv: p } : undefined;
    if (p.op === Op.Reshape) merge = p;
    else if (p.op !== Op.Transpose && p.op !== Op.Cast && p.op !== Op.Identity) return undefined;
    v = p.inputs[0]!;
  }
  return undefined;
}

/**
 * The q·k MatMul under the Softmax, looking through scaling by constants, additive masks
 * (Add) and Where masks; the mask operands found on the way are collected in `masks`.
 */
function scoresMatMul(v: Value, masks: Value[], depth: number): Node | undefined {
  const p = v.producer;
  if (!p || depth > 8) return undefined;
  switch (p.op) {
    case Op.MatMul:
      return p.inputs.every((i) => i && !i.isConstant) ? p : undefined;
    case Op.Mul:
    case Op.Div: {
      const [a, b] = p.inputs;
      if (b?.isConstant) return scoresMatMul(a!, masks, depth + 1);
      if (a?.isConstant && p.op === Op.Mul) return scoresMatMul(b!, masks, depth + 1);
      // A scale computed at run time (sqrt of a dim read by Shape): the scores are input 0.
      return scoresMatMul(a!, masks, depth + 1);
    }
    case Op.Add:
    case Op.Sub: {
      const [a, b] = p.inputs;
      // Try the scores on either side; masks met on a failed side must not count.
      for (const [scores, mask] of p.op === Op.Add ? [[a!, b!], [b!, a!]] : [[a!, b!]]) {
        const found: Value[] = [];
        const mm = scoresMatMul(scores, found, depth + 1);
        if (mm) {
          masks.push(...found, mask);
          return mm;
        }
      }
      return undefined;
    }
    case Op.Where: {
      const [cond, a, b] = p.inputs;
      for (const scores of [a, b]) {
        if (!scores || scores.isConstant) continue;
        const found: Value[] = [];
        const mm = scoresMatMul(scores, found, depth + 1);
        if (mm) {
          masks.push(...found, cond!);
          return mm;
        }
      }
      return undefined;
    }
    case Op.Cast:
    case Op.Identity:
    case Op.Reshape:
    case Op.Flatten:
      return scoresMatMul(p.inputs[0]!, masks, depth + 1);
    default:
      return undefined;
  }
}

/**
 * From an attention MatMul operand back to the Reshape that splits a projection part into
 * heads. The first Reshape (walking back) whose input is a projection part is the head split;
 * Reshapes after it (GQA's repeat) are layout. Returns why the trace stopped otherwise.
 */
function traceToHeads(start: Value): HeadTrace | { reason: string } {
  let v = start;
  let rotary = false;
  for (let depth = 0; depth < 24; depth++) {
    const p = v.producer;
    if (!p) return { reason: v.isConstant ? `reaches the constant ${v.name}` : `reaches the model input ${v.name}` };
    if (p.op === Op.Reshape) {
      const part = projectionPart(p.inputs[0]);
      if (part) {
        const split = headSplit(p, part.width);
        return split ? { part, reshape: p, ...split, rotary } : { reason: `${p.describe()} does not split ${part.width} channels into [heads, head dim] readable from its target` };
      }
    }
    if (LAYOUT_OPS.has(p.op) || perHeadNorm(p)) {
      v = p.inputs[0]!;
      continue;
    }
    if ((p.op === Op.Mul || p.op === Op.Div) && p.inputs[1]?.isConstant) {
      v = p.inputs[0]!;
      continue;
    }
    if (p.op === Op.Mul && p.inputs[0]?.isConstant) {
      v = p.inputs[1]!;
      continue;
    }
    if (p.op === Op.Concat) return concatOfOneHead(p, rotary);
    if (p.op === Op.Split) {
      // Heads taken apart along the head axis to be repeated (repeat_interleave's export).
      v = p.inputs[0]!;
      continue;
    }
    if (p.op === Op.Add) {
      const x = rotarySource(p);
      if (!x) return { reason: `${p.describe()} is neither layout nor a rotary embedding` };
      rotary = true;
      v = x;
      continue;
    }
    return { reason: `stops at ${p.describe()}` };
  }
  return { reason: 'no head Reshape within 24 nodes' };
}

/**
 * A norm over the head dim after the heads are split (Qwen3/OLMo's q/k norms): each head is
 * normalized alone, so it does not mix heads and the trace goes through it.
 */
function perHeadNorm(p: Node): boolean {
  const rank = p.inputs[0]?.rank;
  const axis = p.attrInt('axis', -1);
  return isNorm(p) && rank !== undefined && rank >= 4 && (axis === -1 || axis === rank - 1);
}

/** A Concat of pieces that all trace to one head split (GQA heads repeated piece by piece). */
function concatOfOneHead(concat: Node, rotary: boolean): HeadTrace | { reason: string } {
  const cache = concat.inputs.find((i) => i?.isGraphInput);
  if (cache) return { reason: `${concat.describe()} joins the model input ${cache.name} (a key/value cache, not supported)` };
  const traces = concat.inputs.map((i) => (i ? traceToHeads(i) : { reason: 'an empty Concat input' }));
  const failed = traces.find((t): t is { reason: string } => 'reason' in t);
  if (failed) return failed;
  const heads = traces as HeadTrace[];
  if (!heads.every((t) => t.reshape === heads[0]!.reshape)) return { reason: `${concat.describe()} joins pieces of different projections` };
  return { ...heads[0]!, rotary: rotary || heads.some((t) => t.rotary) };
}

/**
 * Rotary embedding written out: Add(Mul(x, cos), Mul(Concat(Neg(Slice(x)), Slice(x)), sin))
 * (either operand order). Returns x.
 */
function rotarySource(add: Node): Value | undefined {
  const muls = add.inputs.map((i) => i?.producer);
  if (muls.length !== 2 || !muls.every((m) => m?.op === Op.Mul)) return undefined;
  for (const [rotMul, plainMul] of [[muls[0]!, muls[1]!], [muls[1]!, muls[0]!]] as const) {
    for (const operand of rotMul.inputs) {
      const concat = operand?.producer;
      if (concat?.op !== Op.Concat) continue;
      const neg = concat.inputs.map((i) => i?.producer).find((n) => n?.op === Op.Neg);
      const slice = neg?.inputs[0]?.producer;
      const x = slice?.op === Op.Slice ? slice.inputs[0] : undefined;
      if (x && plainMul.inputs.includes(x)) return x;
    }
  }
  return undefined;
}
