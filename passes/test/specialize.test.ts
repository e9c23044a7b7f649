import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { SparsecError } from '../../ir/diagnostics.js';
import { Model } from '../../ir/graph.js';
import { execute } from '../../ir/executor/index.js';
import { Tensor } from '../../ir/tensor.js';
import { specializeShapes } from '../specialize.js';
import { expectClose, histogram, seeded } from './helpers.js';

/** x[batch, seq, 8] -> Reshape(x, concat(shape(x)[0:2], [2, 4])) -> Relu, the exporter way. */
function dynamicReshapeModel(): Model {
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', ['batch', 'seq', 8]);
  const mask = b.input('mask', 'float32', ['batch', 'seq']);
  const shape = b.op('Shape', [x]);
  const head = b.op('Slice', [shape, b.constant('s0', Tensor.int64([0])), b.constant('s1', Tensor.int64([2]))]);
  const target = b.op('Concat', [head, b.constant('tail', Tensor.int64([2, 4]))], { attrs: { axis: 0 } });
  const y = b.op('Reshape', [x, target]);
  const m = b.op('Unsqueeze', [b.op('Unsqueeze', [mask, b.constant('a2', Tensor.int64([2]))]), b.constant('a3', Tensor.int64([3]))]);
  b.output(b.op('Mul', [b.op('Relu', [y]), m], { name: 'out' }));
  return new Model(b.graph);
}

function codeOf(fn: () => unknown): { code?: string; text?: string; node?: string; value?: string } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof SparsecError)) throw e;
    const d = e.diagnostic;
    return { code: d.code, text: d.text, node: d.location?.node, value: d.location?.value };
  }
  return {};
}

describe('specializeShapes', () => {
  it('binds symbols, folds shape arithmetic and makes every value static', () => {
    const model = dynamicReshapeModel();
    const inputs = { x: seeded([2, 3, 8], 7), mask: seeded([2, 3], 9) };
    const before = execute(model.graph, inputs);
    specializeShapes(model, { x: [2, 3, 8] });
    // 'batch' and 'seq' propagate to the mask input through the shared symbols.
    expect(model.graph.inputs[1]!.shape).toEqual([2, 3]);
    for (const n of model.graph.nodes) for (const o of n.outputs) expect(o.staticShape).toBeDefined();
    expect(histogram(model.graph)).toEqual({ Reshape: 1, Relu: 1, Mul: 1, Unsqueeze: 2 });
    expect(model.graph.nodes.find((n) => n.op === 'Reshape')!.inputs[1]!.const?.toNumbers()).toEqual([2, 3, 2, 4]);
    expect(model.graph.outputs[0]!.shape).toEqual([2, 3, 2, 4]);
    const after = execute(model.graph, inputs);
    const name = model.graph.outputs[0]!.name;
    expectClose(after.get(name)!, before.get(name)!, 0);
  });

  it('rejects bindings that disagree with the declared shape, naming the input', () => {
    expect(codeOf(() => specializeShapes(dynamicReshapeModel(), { x: [2, 3] }))).toMatchObject({ code: 'SHAPE_MISMATCH', value: 'x' });
    expect(codeOf(() => specializeShapes(dynamicReshapeModel(), { x: [2, 3, 9] }))).toMatchObject({ code: 'SHAPE_MISMATCH', value: 'x' });
    expect(codeOf(() => specializeShapes(dynamicReshapeModel(), { x: [2, 3, 8], mask: [4, 3] }))).toMatchObject({
      code: 'SHAPE_MISMATCH',
      value: 'mask',
    });
    expect(codeOf(() => specializeShapes(dynamicReshapeModel(), { nope: [1] })).code).toBe('BAD_OPTION');
  });

  it('names an unbound input that stays dynamic', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['n']);
    const y = b.input('y', 'float32', ['m']);
    b.output(b.op('Relu', [x]), b.op('Relu', [y]));
    expect(codeOf(() => specializeShapes(new Model(b.graph), { x: [4] }))).toMatchObject({ code: 'NON_STATIC_SHAPE', value: 'y' });
  });

  it('names the first node whose output stays dynamic, and why', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['n']);
    const nz = b.op('NonZero', [x], { name: 'nz' });
    b.output(b.op('Relu', [b.op('Cast', [nz], { attrs: { to: 'float32' } })], { name: 'after' }));
    const r = codeOf(() => specializeShapes(new Model(b.graph), { x: [5] }));
    expect(r).toMatchObject({ code: 'NON_STATIC_SHAPE', node: 'nz' });
    expect(r.text).toMatch(/NonZero .*depends on the values/);
  });
});
