import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../ir/builder.js';
import { SparsecError } from '../../../ir/diagnostics.js';
import { Tensor } from '../../../ir/tensor.js';
import { FIXTURES, fixtureModel, tokenWindows } from '../../prune/test/lm-fixtures.js';
import { compareOutputs, difference } from '../compare.js';
import { perplexity } from '../perplexity.js';

/** A bigram "model": logits[b, t] = table[ids[b, t]] (Gather from a [V, V] constant). */
function bigramModel(table: number[][]) {
  const v = table.length;
  const b = new GraphBuilder('main');
  const ids = b.input('input_ids', 'int64', ['batch', 'sequence']);
  const logits = b.op('Gather', [b.constant('table', Tensor.float32(table.flat(), [v, v])), ids], { attrs: { axis: 0 } });
  b.output(logits);
  return b.graph;
}

describe('perplexity', () => {
  it('is exp(mean NLL of the next token), batched the same whatever the batch size', () => {
    const table = [
      [0, Math.log(3), 0],
      [Math.log(2), 0, 0],
      [0, 0, 0],
    ];
    const windows = Tensor.int64([0, 1, 0, 2, 1, 1], [2, 3]);
    // Windows [0,1,0] and [2,1,1]: p(1|0)=3/5, p(0|1)=2/4, p(1|2)=1/3, p(1|1)=1/4.
    const nll = -(Math.log(3 / 5) + Math.log(2 / 4) + Math.log(1 / 3) + Math.log(1 / 4)) / 4;
    for (const batch of [1, 2, 5]) {
      const r = perplexity(bigramModel(table), windows, { batch });
      expect(r.tokens).toBe(4);
      expect(r.windows).toBe(2);
      expect(r.nll).toBeCloseTo(nll, 7);
      expect(r.perplexity).toBeCloseTo(Math.exp(nll), 7);
    }
  });

  it('matches torch on the gpt2 fixture (meta.json)', () => {
    const meta = JSON.parse(readFileSync(`${FIXTURES}/gpt2/meta.json`, 'utf8')) as { perplexity: { held_out: number } };
    const r = perplexity(fixtureModel('gpt2').graph, tokenWindows('gpt2', 'eval_tokens'), { batch: 32 });
    expect(r.tokens).toBe(128 * 64);
    expect(Math.abs(r.perplexity / meta.perplexity.held_out - 1)).toBeLessThan(1e-3);
  });

  it.each([
    [Tensor.float32([0, 1], [1, 2]), /must be int64 \[N, T\+1\]/],
    [Tensor.int64([0], [1, 1]), /T >= 1/],
    [Tensor.int64([0, 7], [1, 2]), /token 7 in window 0 is outside the vocabulary \[0, 3\)/],
  ])('rejects bad windows (%#)', (windows, message) => {
    const run = () => perplexity(bigramModel([[0, 0, 0], [0, 0, 0], [0, 0, 0]]), windows);
    expect(run).toThrow(SparsecError);
    expect(run).toThrow(message);
  });
});

describe('compare', () => {
  it('max abs, relative to the reference magnitude, cosine, mean abs', () => {
    const d = difference('y', Tensor.float32([1, -2, 4, 0]), Tensor.float32([1, -2, 3, 1]));
    expect(d.maxAbs).toBe(1);
    expect(d.relative).toBe(0.25);
    expect(d.meanAbs).toBe(0.5);
    expect(d.cosine).toBeCloseTo((1 + 4 + 12) / Math.sqrt(21 * 15), 12);
    expect(difference('z', Tensor.float32([0, 0]), Tensor.float32([0, 0]))).toMatchObject({ maxAbs: 0, relative: 0, cosine: 1 });
  });

  it('a NaN never reads as a match', () => {
    expect(difference('y', Tensor.float32([1, 2]), Tensor.float32([NaN, 2])).maxAbs).toBeNaN();
  });

  it('matches outputs by name and rejects a shape change or a missing output', () => {
    const a = new Map([['y', Tensor.float32([1, 2])]]);
    expect(compareOutputs(a, new Map([['y', Tensor.float32([1, 2])]]))[0]).toMatchObject({ name: 'y', maxAbs: 0, shape: [2] });
    expect(() => compareOutputs(a, new Map([['z', Tensor.float32([1, 2])]]))).toThrow(/has no output 'y'/);
    expect(() => compareOutputs(a, new Map([['y', Tensor.float32([1, 2], [1, 2])]]))).toThrow(/is \[2\] in the first model but \[1,2\]/);
  });
});
