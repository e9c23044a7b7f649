// MLP blocks: down(act(up(x))), or gated: down(act(gate(x)) * up(x)) (SwiGLU, GeGLU). The
// matcher starts at the down projection and reads the activation in front of it; the same
// reading serves the experts of a MoE block.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { type Branch, branchFields, type MatchResult, mismatch, notLinearOutput } from './branch.js';
import type { MlpActivation, MlpBlock } from './types.js';
import { beforeTokenReshapes, linearProducer, linearWidth, notTheInput, sameTokens } from './projections.js';

export interface FeedForward {
  readonly up: Node;
  readonly gate?: Node;
  readonly down: Node;
  readonly activation: MlpActivation;
  readonly hidden: number;
}

type Unary = 'gelu' | 'relu' | 'silu' | 'other';

/** Activations applied elementwise to one projection (for a gate, or a plain MLP). */
const OTHER_ACTIVATIONS = new Set<Op>([Op.Tanh, Op.Sigmoid, Op.HardSwish, Op.HardSigmoid, Op.LeakyRelu, Op.Elu, Op.Selu, Op.Mish, Op.Softplus, Op.Celu]);

export function matchMlp(b: Branch): MatchResult<MlpBlock> {
  const ff = feedForward(b.output);
  if ('reason' in ff) return mismatch(ff.reason, ff.node);
  for (const proj of [ff.up, ff.gate]) {
    if (proj && !sameTokens(proj.inputs[0], b.input)) return mismatch(notTheInput('an MLP projection', proj.inputs[0], b.input), proj);
  }
  return { block: { kind: 'mlp', ...branchFields(b), ...ff } };
}

/** The feed-forward network whose down projection produces `output`. */
export function feedForward(output: Value): FeedForward | { reason: string; node?: Node } {
  const down = linearProducer(output);
  if (!down) return { reason: notLinearOutput(output), node: output.producer };
  const h = beforeTokenReshapes(down.inputs[0])!;
  const single = activated(h);
  if (single) {
    const up = linearProducer(single.x);
    if (up) return { up, down, activation: single.kind, hidden: linearWidth(up)! };
  }
  const p = h.producer;
  if (p?.op === Op.Mul) {
    const [a, b] = p.inputs;
    for (const [gated, plain] of [[a, b], [b, a]] as const) {
      const act = gated && activated(gated);
      const gate = act && linearProducer(act.x);
      const up = linearProducer(plain);
      if (gate && up && gate !== up) {
        return { up, gate, down, activation: act.kind === 'silu' ? 'swiglu' : act.kind === 'gelu' ? 'geglu' : 'other', hidden: linearWidth(up)! };
      }
    }
  }
  return { reason: 'the down projection does not read an activation of an up projection', node: p ?? down };
}

/** v as act(x): Gelu, Relu, x*Sigmoid(x) (SiLU) or another elementwise activation. */
function activated(v: Value | undefined): { kind: Unary; x: Value } | undefined {
  const p = v?.producer;
  if (!p) return undefined;
  if (p.op === Op.Gelu) return { kind: 'gelu', x: p.inputs[0]! };
  if (p.op === Op.Relu) return { kind: 'relu', x: p.inputs[0]! };
  if (p.op === Op.Mul) {
    const [a, b] = p.inputs;
    if (b?.producer?.op === Op.Sigmoid && b.producer.inputs[0] === a) return { kind: 'silu', x: a! };
    if (a?.producer?.op === Op.Sigmoid && a.producer.inputs[0] === b) return { kind: 'silu', x: b! };
  }
  if (OTHER_ACTIVATIONS.has(p.op)) return { kind: 'other', x: p.inputs[0]! };
  return undefined;
}
