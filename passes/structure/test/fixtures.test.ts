// Structure recognition on the fixture models, as the PyTorch exporter wrote them.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../frontend/index.js';
import { canonicalStructure } from '../canonical.js';
import type { AttentionBlock, MlpBlock, ModelStructure, MoeBlock, Sublayer } from '../types.js';

async function structureOf(name: string): Promise<ModelStructure> {
  return canonicalStructure(await loadModel(`fixtures/${name}/model.onnx`)).structure;
}

const kinds = (s: ModelStructure) => s.layers.map((l) => l.sublayers.map((b) => b.kind).join('+'));
const attention = (s: ModelStructure) => s.layers.map((l) => l.sublayers.find((b): b is AttentionBlock => b.kind === 'attention')!);
const second = <T extends Sublayer>(s: ModelStructure) => s.layers.map((l) => l.sublayers[1] as T);

function expectStreamInvariant(s: ModelStructure): void {
  const subs = s.layers.flatMap((l) => l.sublayers);
  expect(s.stream!.states).toHaveLength(subs.length + 1);
  expect(s.stream!.states[0]).toBe(s.embedding!.output);
  subs.forEach((b, i) => {
    const next = b.postNorm ? b.postNorm.output : b.residualAdd!.outputs[0];
    expect(next).toBe(s.stream!.states[i + 1]);
    expect(b.residualAdd!.inputs).toContain(s.stream!.states[i]);
    expect(b.residualAdd!.inputs).toContain(b.output);
    expect(b.input).toBe(b.norm ? b.norm.output : s.stream!.states[i]);
  });
}

describe('recognizeStructure on the fixtures', () => {
  it('gpt2: pre-LayerNorm, fused qkv + Split, causal, GELU, learned positions, tied head', async () => {
    const s = await structureOf('gpt2');
    expect(s.unrecognized).toEqual([]);
    expect(kinds(s)).toEqual(['attention+mlp', 'attention+mlp', 'attention+mlp', 'attention+mlp']);
    expect(s.stream).toMatchObject({ width: 64, normPlacement: 'pre' });
    expect(s.stream!.states).toHaveLength(2 * 4 + 1);
    expectStreamInvariant(s);
    expect(s.embedding!.positions).toBeDefined();
    for (const a of attention(s)) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 4, headDim: 16, fused: true, rotary: false, causalMask: true });
      expect(a.norm!.kind).toBe('layernorm');
      expect([a.q.offset, a.k.offset, a.v.offset]).toEqual([0, 64, 128]);
      expect(a.q.node).toBe(a.v.node);
      expect(a.q.value.producer!.op).toBe('Split');
    }
    for (const m of second<MlpBlock>(s)) expect(m).toMatchObject({ kind: 'mlp', activation: 'gelu', hidden: 256 });
    expect(s.finalNorm!.kind).toBe('layernorm');
    expect(s.head!.tied).toBe(true);
  });

  it('llama: RMSNorm, rotary, grouped-query attention, SwiGLU, untied head', async () => {
    const s = await structureOf('llama');
    expect(s.unrecognized).toEqual([]);
    expect(kinds(s)).toHaveLength(4);
    expect(s.stream!.states).toHaveLength(2 * 4 + 1);
    expectStreamInvariant(s);
    expect(s.embedding!.positions).toBeUndefined();
    for (const a of attention(s)) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 2, headDim: 16, fused: false, rotary: true, causalMask: true });
      expect(a.norm!.kind).toBe('rmsnorm');
      expect([a.q.width, a.k.width, a.v.width]).toEqual([64, 32, 32]);
      expect(new Set([a.q.node, a.k.node, a.v.node]).size).toBe(3);
    }
    for (const m of second<MlpBlock>(s)) {
      expect(m).toMatchObject({ kind: 'mlp', activation: 'swiglu', hidden: 176 });
      expect(m.gate).toBeDefined();
      expect(m.gate!.outputs[0]!.uses.some((u) => u.node.op === 'Sigmoid')).toBe(true);
    }
    expect(s.finalNorm!.kind).toBe('rmsnorm');
    expect(s.head!.tied).toBe(false);
  });

  it('moe: 8 SwiGLU experts, top-2, dense form', async () => {
    const s = await structureOf('moe');
    expect(s.unrecognized).toEqual([]);
    expect(kinds(s)).toEqual(['attention+moe', 'attention+moe']);
    expect(s.stream!.states).toHaveLength(2 * 2 + 1);
    expectStreamInvariant(s);
    for (const a of attention(s)) expect(a).toMatchObject({ heads: 4, kvHeads: 2, headDim: 16, rotary: true, causalMask: true });
    for (const m of second<MoeBlock>(s)) {
      expect(m).toMatchObject({ kind: 'moe', k: 2, form: 'dense' });
      expect(m.experts.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (const e of m.experts) {
        expect(e.gate).toBeDefined();
        expect(e.combine!.op).toBe('Mul');
        expect(e.combine!.inputs).toContain(e.down.outputs[0]);
        expect(e.up.inputs[0]).toBe(m.input);
      }
      expect(m.router.inputs[0]).toBe(m.input);
    }
    expect(s.head!.tied).toBe(false);
  });

  it('bert: post-norm encoder with an embedding norm, no causal mask, no head', async () => {
    const s = await structureOf('bert');
    expect(s.unrecognized).toEqual([]);
    expect(kinds(s)).toEqual(['attention+mlp', 'attention+mlp']);
    expect(s.stream!.normPlacement).toBe('post');
    expect(s.stream!.states).toHaveLength(2 * 2 + 1);
    expect(s.embedding!.norm!.kind).toBe('layernorm');
    expect(s.embedding!.positions!.table.name).toBe('position_embeddings.weight');
    expect(s.embedding!.extra!.map((e) => e.table.name)).toEqual(['token_type_embeddings.weight']);
    expectStreamInvariant(s);
    for (const a of attention(s)) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 4, headDim: 16, fused: false, rotary: false, causalMask: false });
      expect(a.norm).toBeUndefined();
      expect(a.postNorm!.kind).toBe('layernorm');
      expect(a.q.node.inputs[2]).toBeDefined();
    }
    for (const m of second<MlpBlock>(s)) expect(m).toMatchObject({ activation: 'gelu', hidden: 256 });
    expect(s.finalNorm).toBeUndefined();
    expect(s.head).toBeUndefined();
  });

  it('mobilenet: no layers, a reason, no crash', async () => {
    const s = await structureOf('mobilenet');
    expect(s.layers).toEqual([]);
    expect(s.stream).toBeUndefined();
    expect(s.unrecognized).toHaveLength(1);
    expect(s.unrecognized[0]!.reason).toMatch(/no residual stream/);
  });
});
