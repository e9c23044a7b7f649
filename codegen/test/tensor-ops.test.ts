import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { Model, type Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { load } from '../../runtime/index.js';
import { randomFloats } from '../wasm/kernels/reference.js';
import { compareWithReference } from './run-built.js';

/** A model with float32 inputs of the given shapes, its body built by `body`. */
function model(shapes: Record<string, number[]>, body: (b: GraphBuilder, x: Record<string, Value>) => Value[]): () => Model {
  return () => {
    const b = new GraphBuilder('g');
    const x: Record<string, Value> = {};
    for (const [name, shape] of Object.entries(shapes)) x[name] = b.input(name, 'float32', shape);
    b.output(...body(b, x).map((v, i) => b.op(Op.Identity, [v], { outputs: [`y${i}`] })));
    const m = new Model(b.graph);
    m.opsets.set('', 21);
    return m;
  };
}

function feeds(shapes: Record<string, number[]>, scale = 1): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(shapes).map(([n, s], i) => [n, randomFloats(s.reduce((a, c) => a * c, 1), 10 + i).map((v) => v * scale)]));
}

async function expectMatches(shapes: Record<string, number[]>, body: (b: GraphBuilder, x: Record<string, Value>) => Value[], scale = 1): Promise<number> {
  const r = await compareWithReference(model(shapes, body), feeds(shapes, scale));
  expect(r.error).toBeLessThan(1e-5);
  return r.build.manifest.kernels;
}

const f32 = (shape: number[], seed: number) => Tensor.float32(randomFloats(shape.reduce((a, c) => a * c, 1), seed), shape);

describe('tensor ops built to wasm match the reference executor', () => {
  test('LayerNormalization (with and without bias, odd widths) and RMSNorm', async () => {
    for (const cols of [20, 7]) {
      const shapes = { x: [2, 3, cols] };
      await expectMatches(shapes, (b, { x }) => [
        b.op(Op.LayerNormalization, [x, b.constant('s', f32([cols], 1)), b.constant('c', f32([cols], 2))], { attrs: { axis: -1, epsilon: 1e-5 } }),
        b.op(Op.LayerNormalization, [x, b.constant('s2', f32([3, cols], 3))], { attrs: { axis: 1 } }),
        b.op(Op.RMSNorm, [x, b.constant('s3', f32([cols], 4))], { attrs: { epsilon: 1e-6 } }),
      ], 3);
    }
  });

  test('Softmax over the last axis, with masked (-inf) entries from Where; Where broadcasting a computed tensor', async () => {
    const cond = new Tensor('bool', [5, 7], Uint8Array.from({ length: 35 }, (_, i) => (i % 7 > i / 7 ? 1 : 0)));
    await expectMatches({ x: [2, 5, 7], r: [2, 1, 7] }, (b, { x, r }) => [
      b.op(Op.Softmax, [x], { attrs: { axis: -1 } }),
      b.op(Op.Softmax, [b.op(Op.Where, [b.constant('m', cond), b.constant('inf', Tensor.float32([-Infinity], [])), x])], { attrs: { axis: 2 } }),
      b.op(Op.Where, [b.constant('m2', cond), x, r]),
    ], 8);
  });

  test('MatMul of two computed tensors: batched, and one matrix broadcast over the batch', async () => {
    await expectMatches({ a: [2, 3, 5, 6], c: [2, 3, 6, 7], d: [6, 8] }, (b, { a, c, d }) => [
      b.op(Op.MatMul, [a, c]),
      b.op(Op.MatMul, [a, d]),
    ]);
  });

  test('Gather rows of a constant table by int64 ids (model input, negative ids from the end)', async () => {
    const make = () => {
      const b = new GraphBuilder('g');
      const ids = b.input('ids', 'int64', [2, 3]);
      b.output(b.op(Op.Gather, [b.constant('table', f32([10, 6], 1)), ids], { outputs: ['y'] }));
      const m = new Model(b.graph);
      m.opsets.set('', 21);
      return m;
    };
    const r = await compareWithReference(make, { ids: BigInt64Array.from([0n, 9n, 3n, -1n, 4n, 4n]) });
    expect(r.error).toBe(0);
    expect(r.build.manifest.inputs).toEqual([{ name: 'ids', dtype: 'int64', shape: [2, 3] }]);
    const dts = new TextDecoder().decode(r.build.files.find((f) => f.name.endsWith('.d.ts'))!.bytes);
    expect(dts).toContain('ids: BigInt64Array | { data: BigInt64Array; shape: readonly [2, 3] };');
    const model = await load(r.build.files.find((f) => f.name.endsWith('.wasm'))!.bytes);
    expect(model.inputs).toEqual([{ name: 'ids', shape: [2, 3], dtype: 'int64' }]);
    expect(() => model.run({ ids: new Float32Array(6) })).toThrow("sparsec: input 'ids' must be a BigInt64Array, not Float32Array");
  });

  test('Split, Slice, Concat, Transpose (N-D) and Expand move data exactly', async () => {
    const i64 = (v: number[]) => Tensor.int64(v);
    await expectMatches({ x: [2, 9, 4], v: [3, 1, 5] }, (b, { x, v }) => {
      const split = b.node(Op.Split, [x, b.constant('sizes', i64([2, 3, 4]))], { attrs: { axis: 1 }, outputs: 3 });
      const [p, q, r] = split.outputs as [Value, Value, Value];
      const slice = b.op(Op.Slice, [x, b.constant('st', i64([-3])), b.constant('en', i64([100])), b.constant('ax', i64([2]))]);
      return [
        p, q, r, slice,
        b.op(Op.Concat, [r, p, q], { attrs: { axis: 1 } }),
        b.op(Op.Transpose, [x], { attrs: { perm: [2, 0, 1] } }),
        b.op(Op.Transpose, [b.op(Op.Reshape, [x, b.constant('sh', i64([2, 3, 3, 4]))])], { attrs: { perm: [0, 2, 1, 3] } }),
        b.op(Op.Expand, [v, b.constant('to', i64([2, 3, 4, 5]))]),
      ];
    });
  });

  test('Sub, Mul, Div: same shape, scalar, trailing vector, constants broadcast at build time, operand order', async () => {
    await expectMatches({ x: [3, 4, 5], w: [3, 4, 5], t: [5] }, (b, { x, w, t }) => [
      b.op(Op.Sub, [x, w]),
      b.op(Op.Mul, [x, b.constant('k', Tensor.float32([0.25], []))]),
      b.op(Op.Div, [b.constant('one', Tensor.float32([1.5], [])), b.op(Op.Add, [w, b.constant('three', Tensor.float32([3], []))])]),
      b.op(Op.Sub, [t, x]),
      b.op(Op.Mul, [x, t]),
      b.op(Op.Div, [x, b.constant('col', f32([4, 1], 5))]),
    ]);
  });

  test('Neg, Sigmoid (SiLU as Sigmoid then Mul) and Tanh', async () => {
    await expectMatches({ x: [3, 7] }, (b, { x }) => [b.op(Op.Neg, [x]), b.op(Op.Mul, [x, b.op(Op.Sigmoid, [x])]), b.op(Op.Tanh, [x])], 20);
  });

  test('Add, Sub, Div of computed tensors broadcast any way (trailing, middle axes, both operands); Gather of a computed tensor at constant indices', async () => {
    await expectMatches({ x: [2, 3, 4, 5], r: [4, 5], m: [2, 1, 1, 5], c: [4, 1] }, (b, { x, r, m, c }) => [
      b.op(Op.Add, [x, r]),
      b.op(Op.Add, [r, x]),
      b.op(Op.Add, [x, m]),
      b.op(Op.Sub, [m, x]),
      b.op(Op.Div, [c, r]),
      b.op(Op.Gather, [x, b.constant('i', Tensor.scalar('int64', 2))], { attrs: { axis: 1 } }),
      b.op(Op.Gather, [x, b.constant('j', Tensor.int64([3, -1, 0]))], { attrs: { axis: 2 } }),
    ]);
  });

  test('MoE routing: TopK (ties keep the lower index), ReduceSum, Div, ScatterElements of the gates into zeros', async () => {
    const make = () => {
      const b = new GraphBuilder('g');
      const x = b.input('x', 'float32', [3, 8]);
      const top = b.node(Op.TopK, [x, b.constant('k', Tensor.int64([3]))], { attrs: { axis: -1 }, outputs: 2 });
      const [values, indices] = top.outputs as [Value, Value];
      const sum = b.op(Op.ReduceSum, [values, b.constant('axes', Tensor.int64([-1]))]);
      const gates = b.op(Op.Div, [values, sum]);
      const scattered = b.op(Op.ScatterElements, [b.constant('zeros', Tensor.float32(new Float32Array(24), [3, 8])), indices, gates], { attrs: { axis: -1 } });
      b.output(...[values, sum, scattered].map((v, i) => b.op(Op.Identity, [v], { outputs: [`y${i}`] })));
      const m = new Model(b.graph);
      m.opsets.set('', 21);
      return m;
    };
    const x = randomFloats(24, 4);
    x.set([0.5, 0.9, 0.5, 0.9, 0.1, 0.9, 0.2, 0.3], 8);
    const r = await compareWithReference(make, { x });
    expect(r.error).toBeLessThan(1e-6);
  });

  test('an int64 mask input through Unsqueeze and Cast to float32', async () => {
    const make = () => {
      const b = new GraphBuilder('g');
      const mask = b.input('mask', 'int64', [2, 3]);
      const x = b.input('x', 'float32', [2, 1, 1, 3]);
      const m4 = b.op(Op.Unsqueeze, [mask, b.constant('axes', Tensor.int64([1, 2]))]);
      b.output(b.op(Op.Add, [x, b.op(Op.Cast, [m4], { attrs: { to: 'float32' } })], { outputs: ['y'] }));
      const m = new Model(b.graph);
      m.opsets.set('', 21);
      return m;
    };
    const r = await compareWithReference(make, { mask: BigInt64Array.from([1n, 0n, 1n, 0n, 0n, 7n]), x: randomFloats(6, 3) });
    expect(r.error).toBe(0);
  });
});
