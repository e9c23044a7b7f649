// The language-model fixtures carry evaluation and calibration tokens and their torch-measured
// perplexity; later passes (pruning, slicing) measure their quality cost against these.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../ir/npy.js';
import { fixturePath } from './harness.js';

const SEQ_LEN = 64;

interface LmMeta {
  opset: number;
  config: Record<string, unknown>;
  perplexity: { held_out: number; untrained: number };
  training: { steps: number };
  corpus: { source: string; sha256: string };
}

function readMeta(name: string): LmMeta {
  return JSON.parse(readFileSync(fixturePath(name, 'meta.json'), 'utf8')) as LmMeta;
}

describe.each(['gpt2', 'llama', 'moe'])('language model fixture %s', (name) => {
  it.each(['eval_tokens', 'calib_tokens'])('%s.npy is int64 [N, seq_len + 1] byte tokens', (file) => {
    const t = readNpy(new Uint8Array(readFileSync(fixturePath(name, `${file}.npy`))));
    expect(t.dtype).toBe('int64');
    expect(t.shape.length).toBe(2);
    expect(t.shape[0]).toBeGreaterThanOrEqual(64);
    expect(t.shape[1]).toBe(SEQ_LEN + 1);
    const values = t.toNumbers();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(256);
  });

  it('was trained: held-out perplexity is far below the untrained one', () => {
    const meta = readMeta(name);
    expect(meta.training.steps).toBeGreaterThan(0);
    expect(meta.perplexity.untrained).toBeGreaterThan(200);
    expect(meta.perplexity.held_out).toBeLessThan(meta.perplexity.untrained / 10);
    expect(meta.corpus.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('fixture configurations later tasks rely on', () => {
  it('moe has 8 experts, top-2', () => {
    const { config, opset } = readMeta('moe');
    expect(config['n_experts']).toBe(8);
    expect(config['top_k']).toBe(2);
    expect(opset).toBe(17);
  });

  it('llama uses grouped-query attention', () => {
    const { config } = readMeta('llama');
    expect(config['n_heads']).toBe(4);
    expect(config['n_kv_heads']).toBe(2);
  });

  it('gpt2 is exported at opset 14 (decomposed LayerNorm)', () => {
    expect(readMeta('gpt2').opset).toBe(14);
  });
});
