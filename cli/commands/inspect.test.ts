// `sparsec inspect --structure`: the per-layer text and the JSON form (names, not objects).

import { describe, expect, it } from 'vitest';
import { cli } from '../test-helpers.js';

describe('sparsec inspect --structure', () => {
  it('prints one line per sublayer with heads, kv heads, rotary, causal and the MLP widths', async () => {
    const r = await cli(['inspect', 'fixtures/llama/model.onnx', '--structure']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('layer 0  attention  heads 4 (kv 2) x 16, rotary, causal, q/k/v separate  <- rmsnorm_8');
    expect(r.stdout).toMatch(/\n {11}mlp {8}swiglu 64 -> 176 -> 64 {2}<- rmsnorm_7\n/);
    expect(r.stdout.match(/layer \d+ +attention/g)).toHaveLength(4);
    expect(r.stdout).not.toContain('not recognized');
  });

  it('gives the structure as names in --json', async () => {
    const r = await cli(['inspect', 'fixtures/gpt2/model.onnx', '--structure', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout).structure;
    expect(s.layers).toHaveLength(4);
    expect(s.layers[0].sublayers[0]).toMatchObject({ kind: 'attention', heads: 4, kvHeads: 4, headDim: 16, fused: true, q: { offset: 0, width: 64 }, v: { offset: 128 } });
    expect(typeof s.layers[0].sublayers[0].out).toBe('string');
    expect(s.layers[0].sublayers[1]).toMatchObject({ kind: 'mlp', activation: 'gelu', hidden: 256 });
    expect(s.head).toEqual({ node: expect.any(String), tied: true });
    expect(s.stream.states).toHaveLength(9);
    expect(s.unrecognized).toEqual([]);
  });

  it('lists what it could not recognize, with the reason, for a model that is not a transformer', async () => {
    const r = await cli(['inspect', 'fixtures/mobilenet/model.onnx', '--structure']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not recognized \(1\)\n {2}no residual stream/);
    const j = JSON.parse((await cli(['inspect', 'fixtures/mobilenet/model.onnx', '--structure', '--json'])).stdout);
    expect(j.structure.layers).toEqual([]);
    expect(j.structure.unrecognized[0].reason).toMatch(/no residual stream/);
  });

  it('shows MoE blocks, post-norm arrows and the head', async () => {
    const moe = (await cli(['inspect', 'fixtures/moe/model.onnx', '--structure'])).stdout;
    expect(moe).toMatch(/\n {11}moe {8}8 experts, top-2 \(dense\), swiglu experts 64 -> 64 -> 64, router \S+ {2}<- rmsnorm_3\n/);
    expect(moe).toMatch(/\n {2}head {7}\S+, untied\n/);
    const bert = (await cli(['inspect', 'fixtures/bert/model.onnx', '--structure'])).stdout;
    expect(bert).toContain('stream     width 64, post-norm, 5 states');
    expect(bert).toMatch(/layer 0 {2}attention {2}heads 4 x 16, q\/k\/v separate, biases {2}-> \/layers\.0\/attention_norm\/LayerNormalization\n/);
    const gpt2 = (await cli(['inspect', 'fixtures/gpt2/model.onnx', '--structure'])).stdout;
    expect(gpt2).toContain('fused qkv (Split), biases');
    expect(gpt2).toMatch(/head {7}\S+, tied to the token embedding/);
  });

  it('names what stopped the walk, with the reason, and lists it under "not recognized"', async () => {
    const r = await cli(['inspect', 'passes/structure/test/models/moe_shared_op17.onnx', '--structure']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not recognized \(2\)\n {2}Linear '[^']+': sublayer 1 \(residual Add '[^']+'\) not recognized: moe: linear layer/);
  });

  it('leaves the structure out without the flag', async () => {
    const r = await cli(['inspect', 'fixtures/gpt2/model.onnx', '--json']);
    expect(JSON.parse(r.stdout).structure).toBeUndefined();
  });
});
