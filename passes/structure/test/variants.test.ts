// Structure recognition on small torch exports the fixtures do not cover (written by
// scripts/make_structure_models.py): opsets 13-17, biases, ReLU/GeGLU, Slice-fused qkv,
// post-norm, repeat_interleave GQA, Trilu and Range causal masks, a gathered MoE.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../frontend/index.js';
import { canonicalStructure } from '../canonical.js';
import type { AttentionBlock, MlpBlock, ModelStructure, MoeBlock } from '../types.js';

async function structureOf(name: string): Promise<ModelStructure> {
  return canonicalStructure(await loadModel(`passes/structure/test/models/${name}.onnx`)).structure;
}

const blocks = <T>(s: ModelStructure, kind: string) => s.layers.flatMap((l) => l.sublayers.filter((b) => b.kind === kind)) as T[];

describe('recognizeStructure on exporter variants', () => {
  it('opset 13: decomposed LayerNorm, separate q/k/v with biases, view(.., -1), ReLU MLP, positions', async () => {
    const s = await structureOf('sepqkv_relu_op13');
    expect(s.unrecognized).toEqual([]);
    expect(s.layers).toHaveLength(2);
    expect(s.stream!.states).toHaveLength(5);
    expect(s.embedding!.positions).toBeDefined();
    for (const a of blocks<AttentionBlock>(s, 'attention')) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 4, headDim: 8, fused: false, rotary: false, causalMask: true });
      expect(a.norm!.kind).toBe('layernorm');
      for (const p of [a.q, a.k, a.v]) expect(p.node.inputs[2]?.isConstant).toBe(true);
    }
    for (const m of blocks<MlpBlock>(s, 'mlp')) expect(m).toMatchObject({ activation: 'relu', hidden: 48 });
    expect(s.head).toMatchObject({ tied: false });
  });

  it('opset 15: post-norm, fused qkv taken apart by Slice, tanh GELU, no head', async () => {
    const s = await structureOf('postnorm_sliceqkv_op15');
    expect(s.unrecognized).toEqual([]);
    expect(s.stream!.normPlacement).toBe('post');
    expect(s.stream!.states).toHaveLength(5);
    for (const a of blocks<AttentionBlock>(s, 'attention')) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 4, headDim: 8, fused: true, causalMask: false });
      expect([a.q.offset, a.k.offset, a.v.offset]).toEqual([0, 32, 64]);
      expect(a.k.value.producer!.op).toBe('Slice');
      expect(a.postNorm).toBeDefined();
    }
    for (const m of blocks<MlpBlock>(s, 'mlp')) expect(m).toMatchObject({ activation: 'gelu', hidden: 48 });
    expect(s.head).toBeUndefined();
    expect(s.stream!.states.at(-1)!.isGraphOutput).toBe(true);
  });

  it("opset 14: HF GPT-2's Conv1D (Gemm on flattened tokens between Reshapes), gelu_new, tied head", async () => {
    const s = await structureOf('conv1d_addmm_op14');
    expect(s.unrecognized).toEqual([]);
    expect(s.layers.map((l) => l.sublayers.map((b) => b.kind))).toEqual([['attention', 'mlp'], ['attention', 'mlp']]);
    for (const a of blocks<AttentionBlock>(s, 'attention')) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 4, headDim: 8, fused: true, causalMask: true });
      expect([a.q.offset, a.k.offset, a.v.offset]).toEqual([0, 32, 64]);
      // The merge is the heads' Reshape, not the flattening in front of the Gemm.
      expect(a.headReshapes.merge.outputs[0]!.rank).toBe(3);
    }
    for (const m of blocks<MlpBlock>(s, 'mlp')) expect(m).toMatchObject({ activation: 'gelu', hidden: 128 });
    expect(s.head).toMatchObject({ tied: true });
  });

  it('opset 16: RMSNorm, GQA by repeat_interleave, GeGLU, Trilu causal mask', async () => {
    const s = await structureOf('gqa_geglu_trilu_op16');
    expect(s.unrecognized).toEqual([]);
    for (const a of blocks<AttentionBlock>(s, 'attention')) {
      expect(a).toMatchObject({ heads: 4, kvHeads: 2, headDim: 8, fused: false, causalMask: true });
      expect(a.norm!.kind).toBe('rmsnorm');
    }
    for (const m of blocks<MlpBlock>(s, 'mlp')) {
      expect(m).toMatchObject({ activation: 'geglu', hidden: 48 });
      expect(m.gate!.outputs[0]!.uses[0]!.node.op).toBe('Gelu');
    }
    expect(s.finalNorm!.kind).toBe('rmsnorm');
  });

  it('opset 17: Range-comparison causal mask, gathered MoE with flattened tokens', async () => {
    const s = await structureOf('moe_gathered_op17');
    expect(s.unrecognized).toEqual([]);
    expect(s.layers.map((l) => l.sublayers.map((b) => b.kind))).toEqual([['attention', 'moe'], ['attention', 'moe']]);
    for (const a of blocks<AttentionBlock>(s, 'attention')) expect(a.causalMask).toBe(true);
    for (const m of blocks<MoeBlock>(s, 'moe')) {
      expect(m).toMatchObject({ form: 'gathered', k: 2 });
      expect(m.experts.map((e) => e.index)).toEqual([0, 1, 2, 3]);
      for (const e of m.experts) {
        expect(e.gate).toBeDefined();
        expect(e.combine?.op).toBe('Mul');
      }
    }
  });

  it('opset 14: a causal Range-comparison mask added to a padding mask from an input is still causal', async () => {
    const s = await structureOf('padded_causal_op14');
    expect(s.unrecognized).toEqual([]);
    const [a] = blocks<AttentionBlock>(s, 'attention');
    expect(a).toMatchObject({ heads: 4, headDim: 8, causalMask: true });
  });

  it('opset 13: a dense MoE whose weights come from comparing top-k indices (no ScatterElements)', async () => {
    const s = await structureOf('moe_masked_op13');
    expect(s.unrecognized).toEqual([]);
    const [m] = blocks<MoeBlock>(s, 'moe');
    expect(m).toMatchObject({ form: 'dense', k: 2 });
    expect(m!.experts.map((e) => [e.index, e.activation])).toEqual([[0, 'relu'], [1, 'relu'], [2, 'relu'], [3, 'relu']]);
    for (const e of m!.experts) {
      expect(e.up.inputs[0]).toBe(m!.input);
      expect(e.combine!.inputs).toContain(e.down.outputs[0]);
    }
  });

  it('a MoE with a shared expert beside the routed ones is refused, naming the unlisted linear layer', async () => {
    const s = await structureOf('moe_shared_op17');
    expect(s.layers.map((l) => l.sublayers.map((b) => b.kind))).toEqual([['attention']]);
    expect(s.stream!.states).toHaveLength(2);
    expect(s.unrecognized[0]!.reason).toMatch(/^sublayer 1 .* moe: linear layer Linear '.*' in the branch is not part of the moe block/);
    expect(s.unrecognized[0]!.node!.op).toBe('Linear');
    // The walk stopped inside the stream: what follows is not taken for the final norm and head.
    expect(s.finalNorm).toBeUndefined();
    expect(s.head).toBeUndefined();
  });
});
