import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { foldConstants, foldConstantsPass } from '../fold-constants.js';
import { PassManager } from '../manager.js';
import { expectSameOutputs, histogram, seeded } from './helpers.js';

describe('fold-constants', () => {
  it('evaluates constant subexpressions in one sweep and keeps the results exact', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3]);
    const w = b.constant('w', seeded([3, 2], 3));
    const wt = b.op('Transpose', [w], { attrs: { perm: [1, 0] } });
    const two = b.constant('two', Tensor.float32([2]));
    const scaled = b.op('Mul', [wt, two]);
    b.output(b.op('Add', [x, scaled]));
    const before = histogram(b.graph);
    expect(before).toEqual({ Transpose: 1, Mul: 1, Add: 1 });
    expectSameOutputs(b.graph, { x: seeded([2, 3], 5) }, () => {
      const r = foldConstants(b.graph);
      expect(r.folded).toBe(2);
    }, 0);
    expect(histogram(b.graph)).toEqual({ Add: 1 });
    const folded = b.graph.nodes[0]!.inputs[1]!;
    expect(folded.const?.shape).toEqual([2, 3]);
    expect(folded.const!.get(1)).toBeCloseTo(2 * b.graph.constants.get('w')!.const!.get(2), 6);
  });

  it('folds Shape and Size of static dims, including a static slice of a symbolic shape', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['batch', 4, 8]);
    const y = b.input('y', 'float32', [2, 3]);
    const tail = b.op('Shape', [x], { attrs: { start: -2 } });
    const all = b.op('Shape', [x]);
    const size = b.op('Size', [y]);
    b.output(tail, all, size);
    const names = [tail.name, all.name, size.name];
    const r = foldConstants(b.graph);
    expect(r.shapeFolds).toBe(2);
    expect(histogram(b.graph)).toEqual({ Shape: 1, Identity: 2 });
    const outs = b.graph.outputs.map((v) => v.producer?.inputs[0]?.const?.toNumbers());
    expect(outs[0]).toEqual([4, 8]);
    expect(outs[2]).toEqual([6]);
    // The graph returns the folded constants under their original names.
    expect(b.graph.outputs.map((v) => v.name)).toEqual(names);
    // A second run finds nothing new: Identity(constant) outputs are not refolded.
    expect(foldConstants(b.graph)).toMatchObject({ folded: 0, shapeFolds: 0 });
  });

  it('does not fold a result larger than max-bytes that would grow the model', () => {
    const make = () => {
      const b = new GraphBuilder('main');
      const x = b.input('x', 'float32', [64, 64]);
      const one = b.constant('one', Tensor.float32([1]));
      const shape = b.constant('shape', Tensor.int64([64, 64]));
      const big = b.op('Expand', [one, shape]);
      const w = b.constant('w', seeded([64, 64]));
      const wt = b.op('Transpose', [w], { attrs: { perm: [1, 0] } });
      b.output(b.op('Add', [b.op('Mul', [x, big]), wt]));
      return new Model(b.graph);
    };
    const small = make();
    const report = new PassManager('fold-constants{max-bytes=1024}').run(small);
    expect(report.passes[0]!.stats).toMatchObject({ folded: 1, tooLarge: 1 });
    // The Transpose of a weight does not grow the model, so it folds despite the cap.
    expect(histogram(small.graph)).toEqual({ Expand: 1, Mul: 1, Add: 1 });
    const large = make();
    foldConstantsPass.run(large, { options: foldConstantsPass.defaultOptions(), warn: () => {} });
    expect(histogram(large.graph)).toEqual({ Mul: 1, Add: 1 });
  });

  it('never folds nondeterministic ops', () => {
    const b = new GraphBuilder('main');
    b.output(b.op('RandomUniform', [], { attrs: { shape: [2] } }));
    expect(foldConstants(b.graph).folded).toBe(0);
  });
});
