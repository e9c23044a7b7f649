import { describe, expect, it } from 'vitest';
import { lowestAcrossLayers, lowestPerLayer, parseHeadList } from '../select.js';

describe('choosing what to remove', () => {
  it('ranks heads across layers by score over the layer mean, keeping one per layer', () => {
    // Layer 0's scores are 100x layer 1's; relative to their means, 0:2 and 1:0 are the weakest.
    const scores = [Float64Array.from([300, 200, 10]), Float64Array.from([0.5, 3, 2.5])];
    expect(lowestAcrossLayers(scores, 2 / 6)).toEqual([[2], [0]]);
    // Asking for five of six still leaves one head in each layer.
    expect(lowestAcrossLayers(scores, 5 / 6).map((l) => l.length)).toEqual([2, 2]);
  });

  it('takes the same fraction of channels from every layer', () => {
    expect(lowestPerLayer([Float64Array.from([4, 1, 3, 2]), Float64Array.from([1, 2])], 0.5)).toEqual([[1, 3], [0]]);
  });

  it('parses layer:head lists, merging repeats', () => {
    expect([...parseHeadList('0:1, 2:3,0:0,0:1')]).toEqual([[0, [0, 1]], [2, [3]]]);
    expect(() => parseHeadList('0:1,x')).toThrow(/'x' is not layer:head/);
  });
});
