import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { Tensor } from '../../ir/tensor.js';
import { foldBatchNorms } from '../fold-batchnorm.js';
import { inferTypes } from '../../ir/infer.js';
import { expectSameOutputs, histogram, seeded } from './helpers.js';

/** x -> Conv (3x3, optional bias, groups) -> BatchNormalization -> Relu (-> a second reader of the Conv). */
function convBn(opts: { bias: boolean; group: number; extraReader?: boolean }) {
  const cin = 4;
  const cout = 6;
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, cin, 7, 7]);
  const w = b.constant('w', seeded([cout, cin / opts.group, 3, 3], 2));
  const inputs = [x, w, ...(opts.bias ? [b.constant('b', seeded([cout], 3))] : [])];
  const conv = b.op('Conv', inputs, { attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2], group: opts.group } });
  const positive = seeded([cout], 6, 1).data as Float32Array;
  const bn = b.op('BatchNormalization', [
    conv, b.constant('scale', seeded([cout], 4)), b.constant('shift', seeded([cout], 5)),
    b.constant('mean', seeded([cout], 7)), b.constant('var', Tensor.float32(positive.map((v) => Math.abs(v) + 0.1), [cout])),
  ], { attrs: { epsilon: 1e-3 } });
  b.output(b.op('Relu', [bn], { outputs: ['y'] }));
  if (opts.extraReader) b.output(b.op('Neg', [conv], { outputs: ['z'] }));
  inferTypes(b.graph);
  return b.graph;
}

describe('fold-batchnorm', () => {
  for (const bias of [false, true]) {
    for (const group of [1, 2]) {
      test(`Conv (bias ${bias}, group ${group}) + BatchNormalization: one Conv, same outputs`, () => {
        const g = convBn({ bias, group });
        expectSameOutputs(g, { x: seeded([1, 4, 7, 7], 9) }, () => expect(foldBatchNorms(g)).toBe(1), 1e-5);
        expect(histogram(g)).toEqual({ Conv: 1, Relu: 1 });
        expect(g.nodes[0]!.inputs[2]!.const!.shape).toEqual([6]);
      });
    }
  }

  test('a Conv with another reader keeps its BatchNormalization', () => {
    const g = convBn({ bias: true, group: 1, extraReader: true });
    expect(foldBatchNorms(g)).toBe(0);
    expect(histogram(g)).toMatchObject({ Conv: 1, BatchNormalization: 1 });
  });

  test('a BatchNormalization that is a graph output keeps the output name', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [1, 2, 3, 3]);
    const conv = b.op('Conv', [x, b.constant('w', seeded([2, 2, 1, 1], 1))], { attrs: { kernel_shape: [1, 1] } });
    const c = (name: string, seed: number) => b.constant(name, Tensor.float32((seeded([2], seed).data as Float32Array).map((v) => Math.abs(v) + 0.5), [2]));
    b.output(b.op('BatchNormalization', [conv, c('s', 1), c('t', 2), c('m', 3), c('v', 4)], { outputs: ['y'] }));
    inferTypes(b.graph);
    const g = b.graph;
    expectSameOutputs(g, { x: seeded([1, 2, 3, 3], 5) }, () => expect(foldBatchNorms(g)).toBe(1));
    expect(g.outputs.map((o) => o.name)).toEqual(['y']);
    expect(histogram(g)).toEqual({ Conv: 1 });
  });
});
