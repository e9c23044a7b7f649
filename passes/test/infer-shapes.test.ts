import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { Model } from '../../ir/graph.js';
import { PassManager } from '../manager.js';

describe('infer-shapes', () => {
  it('types every value and reports a change only the first time', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['batch', 4]);
    const y = b.op('Relu', [b.op('Transpose', [x], { attrs: { perm: [1, 0] } })]);
    b.output(y);
    const report = new PassManager('infer-shapes,infer-shapes').run(new Model(b.graph));
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([4, 'batch']);
    expect(report.passes.map((p) => p.changed)).toEqual([true, false]);
    expect(report.passes[0]!.stats).toEqual({ staticValues: 0, dynamicValues: 3 });
  });
});
