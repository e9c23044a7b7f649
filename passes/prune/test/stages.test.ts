import { describe, expect, it } from 'vitest';
import { findWeights } from '../../analysis/weights.js';
import { pruningStages } from '../index.js';
import { fixtureModel } from './lm-fixtures.js';

describe('pruningStages', () => {
  it('llama: q/k/v, then o, then gate/up, then down, block after block', () => {
    const model = fixtureModel('llama');
    const targets = findWeights(model.graph).filter((v) => v.role === 'hidden');
    const stages = pruningStages(model.graph, targets);
    expect(stages.flat().length).toBe(targets.length);
    expect(stages.map((s) => s.length)).toEqual([3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1]);
    // Weights of one stage read one activation (they share their input).
    for (const s of stages) expect(new Set(s.map((v) => v.input)).size).toBe(1);
    // Every weight's input depends only on weights of earlier stages: the stage order is a
    // topological order of the weights' nodes.
    const position = new Map(model.graph.nodes.map((n, i) => [n, i]));
    for (let i = 1; i < stages.length; i++) {
      const earliest = Math.min(...stages[i]!.map((v) => position.get(v.node)!));
      expect(stages[i - 1]!.some((v) => position.get(v.node)! < earliest)).toBe(true);
    }
  });
});
