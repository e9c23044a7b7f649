// The text form of a recognized structure for `sparsec inspect --structure`: one line per
// sublayer, grouped by layer, then the output head and whatever was not recognized.

import { Op } from '../../ir/ops.js';
import type { AttentionBlock, MlpBlock, ModelStructure, MoeBlock, Norm } from '../../passes/structure/types.js';
import { linearInWidth, linearWidth } from '../../passes/structure/projections.js';

function normRef(n: Norm | undefined): string {
  return n ? `  <- ${n.node.name}` : '';
}

function postRef(n: Norm | undefined): string {
  return n ? `  -> ${n.node.name}` : '';
}

export function describeAttention(a: AttentionBlock): string {
  const kv = a.kvHeads !== a.heads ? ` (kv ${a.kvHeads})` : '';
  const splitOp = a.q.value.producer?.op === Op.Slice ? 'Slice' : 'Split';
  const proj = a.fused ? `fused qkv (${splitOp})` : 'q/k/v separate';
  const bias = a.q.node.inputs[2] ? ', biases' : '';
  const traits = [a.rotary ? 'rotary' : '', a.causalMask ? 'causal' : ''].filter((x) => x).map((x) => `${x}, `).join('');
  return `attention  heads ${a.heads}${kv} x ${a.headDim}, ${traits}${proj}${bias}`;
}

function ffnWidths(up: MlpBlock['up'], down: MlpBlock['down'], hidden: number): string {
  return `${linearInWidth(up) ?? '?'} -> ${hidden} -> ${linearWidth(down) ?? '?'}`;
}

export function describeMlp(m: MlpBlock): string {
  return `mlp        ${m.activation} ${ffnWidths(m.up, m.down, m.hidden)}`;
}

export function describeMoe(m: MoeBlock): string {
  const first = m.experts[0];
  const ffn = first ? `, ${first.activation ?? (first.gate ? 'gated' : 'other')} experts ${ffnWidths(first.up, first.down, linearWidth(first.up) ?? 0)}` : '';
  return `moe        ${m.experts.length} experts, top-${m.k} (${m.form})${ffn}, router ${m.router.name}`;
}

export function formatStructure(s: ModelStructure): string[] {
  const lines: string[] = [];
  const e = s.embedding;
  if (e) {
    const table = e.table.const ? ` [${e.table.const.shape.join('x')}]` : '';
    const pos = [e.positions ? ` + positions ${e.positions.table.name}` : '', ...(e.extra ?? []).map((x) => ` + ${x.table.name}`)].join('');
    const norm = e.norm ? `, ${e.norm.kind} ${e.norm.node.name}` : '';
    lines.push(`  embedding  ${e.table.name}${table}${pos}${norm}`);
  }
  if (s.stream) lines.push(`  stream     width ${s.stream.width}, ${s.stream.normPlacement}-norm, ${s.stream.states.length} states`);
  for (const layer of s.layers) {
    layer.sublayers.forEach((b, i) => {
      const lead = i === 0 ? `  layer ${String(layer.index).padEnd(3)}` : ' '.repeat(11);
      const text = b.kind === 'attention' ? describeAttention(b) : b.kind === 'mlp' ? describeMlp(b) : describeMoe(b);
      lines.push(`${lead}${text}${normRef(b.norm)}${postRef(b.postNorm)}`);
    });
  }
  if (s.finalNorm) lines.push(`  final norm ${s.finalNorm.node.name} (${s.finalNorm.kind})`);
  if (s.head) lines.push(`  head       ${s.head.node.name}, ${s.head.tied ? 'tied to the token embedding' : 'untied'}`);
  if (s.layers.length === 0 && s.unrecognized.length === 0) lines.push('  (no transformer layers)');
  return lines;
}
