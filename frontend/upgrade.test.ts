import { describe, expect, test } from 'vitest';
import { execute } from '../ir/executor/index.js';
import type { Graph, Model, Node, Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { decodeModel } from './import.js';
import { DataTypeCode as C } from './schema.js';
import { modelBytes, node, tensorInfo, type ModelSpec } from './testing.js';

const F = C.FLOAT;

function load(spec: ModelSpec): Model {
  return decodeModel(modelBytes(spec), { file: 'test.onnx' });
}

/** A one-node model over float input x of the given dims. */
function single(opset: number, n: ReturnType<typeof node>, xDims: (number | string | null)[] = [2, 3, 4], extraInputs: ModelSpec['inputs'] = []): Graph {
  return load({
    opset,
    nodes: [n],
    inputs: [tensorInfo('x', F, xDims), ...extraInputs],
    outputs: n.output!.filter((o) => o).map((o) => ({ name: o })),
  }).graph;
}

const ops = (g: Graph): string[] => g.nodes.map((n) => n.op);
const only = (g: Graph, op: string): Node => {
  const found = g.nodes.filter((n) => n.op === op);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const constOf = (v: Value | undefined): (number | bigint)[] => {
  expect(v?.const).toBeDefined();
  return Array.from(v!.const!.data as ArrayLike<number | bigint>);
};

describe('opset adapters', () => {
  test('Slice < 10: starts/ends/axes attributes become int64 inputs (INT64_MAX kept exact)', () => {
    const g = single(9, node('Slice', ['x'], ['y'], { starts: [1], ends: [9223372036854775807], axes: [2] }));
    const n = only(g, 'Slice');
    expect(n.attrs.size).toBe(0);
    expect(constOf(n.inputs[1])).toEqual([1n]);
    expect(constOf(n.inputs[2])).toEqual([9223372036854775807n]);
    expect(constOf(n.inputs[3])).toEqual([2n]);
  });

  test('Pad < 11: pads and a non-zero value become inputs of the data type', () => {
    const n = only(single(2, node('Pad', ['x'], ['y'], { pads: [0, 0, 1, 0, 0, 1], mode: 'constant', value: { float: 1.5 } })), 'Pad');
    expect(constOf(n.inputs[1])).toEqual([0n, 0n, 1n, 0n, 0n, 1n]);
    expect(n.inputs[2]!.const!.dtype).toBe('float32');
    expect(constOf(n.inputs[2])).toEqual([1.5]);
    expect(n.attrString('mode')).toBe('constant');
    expect(n.attrs.has('value')).toBe(false);
  });

  test('Clip < 11: min/max attributes become inputs; an unknown input type goes through CastLike', () => {
    const n = only(single(6, node('Clip', ['x'], ['y'], { min: { float: -1 }, max: { float: 1 } })), 'Clip');
    expect(constOf(n.inputs[1])).toEqual([-1]);
    expect(constOf(n.inputs[2])).toEqual([1]);
    const g = load({
      opset: 6,
      nodes: [node('Relu', ['x'], ['r']), node('Clip', ['r'], ['y'], { max: { float: 6 } })],
      inputs: [{ name: 'x' }],
      outputs: [{ name: 'y' }],
    }).graph;
    const clip = only(g, 'Clip');
    expect(clip.inputs[1]).toBeUndefined();
    expect(clip.inputs[2]!.producer?.op).toBe('CastLike');
  });

  test('Split: split attribute -> input (< 13); num_outputs added when no split is given (< 18)', () => {
    const a = only(single(11, node('Split', ['x'], ['a', 'b'], { axis: 2, split: [1, 3] })), 'Split');
    expect(constOf(a.inputs[1])).toEqual([1n, 3n]);
    expect(a.attrs.has('num_outputs')).toBe(false);
    const b = only(single(13, node('Split', ['x'], ['a', 'b'], { axis: 2 })), 'Split');
    expect(b.inputs[1]).toBeUndefined();
    expect(b.attrInt('num_outputs')).toBe(2);
  });

  test.each([
    ['Squeeze', 11],
    ['Unsqueeze', 12],
    ['ReduceSum', 12],
    ['ReduceMean', 17],
    ['ReduceMax', 13],
    ['ReduceLogSumExp', 11],
  ])('%s (opset %i): axes attribute -> input', (op, opset) => {
    const n = only(single(opset, node(op, ['x'], ['y'], { axes: [0] })), op);
    expect(constOf(n.inputs[1])).toEqual([0n]);
    expect(n.attrs.has('axes')).toBe(false);
  });

  test('ReduceMean 18 keeps its form; absent axes stay absent', () => {
    const n = only(single(11, node('ReduceMean', ['x'], ['y'], { keepdims: 0 })), 'ReduceMean');
    expect(n.inputs[1]).toBeUndefined();
    expect(n.attrInt('keepdims')).toBe(0);
  });

  test('TopK < 10: k becomes a 1-D int64 input', () => {
    const n = only(single(1, node('TopK', ['x'], ['v', 'i'], { k: 2 })), 'TopK');
    expect(constOf(n.inputs[1])).toEqual([2n]);
    expect(n.inputs[1]!.const!.shape).toEqual([1]);
  });

  test('Dropout < 12: ratio becomes an input; is_test is dropped', () => {
    const n = only(single(6, node('Dropout', ['x'], ['y'], { ratio: { float: 0.25 }, is_test: 1 })), 'Dropout');
    expect(constOf(n.inputs[1])).toEqual([0.25]);
    expect(n.attrs.size).toBe(0);
  });

  test('Softmax < 13 on a non-last axis: Flatten -> Softmax(-1) -> Reshape(Shape(x))', () => {
    const g = single(11, node('Softmax', ['x'], ['y'], { axis: 1 }));
    expect(ops(g)).toEqual(['Flatten', 'Softmax', 'Shape', 'Reshape']);
    expect(only(g, 'Flatten').attrInt('axis')).toBe(1);
    expect(only(g, 'Softmax').attrInt('axis')).toBe(-1);
    expect(g.outputs[0]!.name).toBe('y');
    expect(g.outputs[0]!.producer!.op).toBe('Reshape');
  });

  test('LogSoftmax < 13 on the last axis of a known rank stays one node', () => {
    const g = single(12, node('LogSoftmax', ['x'], ['y'], { axis: 2 }));
    expect(ops(g)).toEqual(['LogSoftmax']);
    expect(g.nodes[0]!.attrInt('axis')).toBe(-1);
  });

  test('Hardmax < 13 with the default axis (1) and unknown rank is coerced explicitly', () => {
    const g = single(11, node('Hardmax', ['x'], ['y']), null as unknown as []);
    expect(ops(g)).toContain('Flatten');
  });

  test('Upsample (opset 7, scales attribute) -> Resize, asymmetric, nearest floor', () => {
    const g = single(7, node('Upsample', ['x'], ['y'], { scales: { floats: [1, 1, 2, 2] }, mode: 'nearest' }));
    const r = only(g, 'Resize');
    expect(r.inputs[1]).toBeUndefined();
    expect(constOf(r.inputs[2])).toEqual([1, 1, 2, 2]);
    expect(r.attrString('coordinate_transformation_mode')).toBe('asymmetric');
    expect(r.attrString('nearest_mode')).toBe('floor');
  });

  test('Upsample 9 linear keeps its scales input and maps to linear asymmetric', () => {
    const g = single(9, node('Upsample', ['x', 's'], ['y'], { mode: 'linear' }), [1, 1, 2, 2], [tensorInfo('s', F, [4])]);
    const r = only(g, 'Resize');
    expect(r.inputs[2]!.name).toBe('s');
    expect(r.attrString('mode')).toBe('linear');
    expect(r.attrs.has('nearest_mode')).toBe(false);
  });

  test('Resize 10 -> roi slot empty, asymmetric coordinates; nearest rounds up when downsampling', () => {
    const g = load({
      opset: 10,
      nodes: [node('Resize', ['x', 's'], ['y'], { mode: 'nearest' })],
      inputs: [tensorInfo('x', F, [1, 1, 4, 4])],
      outputs: [{ name: 'y' }],
      initializers: [{ name: 's', dataType: F, dims: [4], floatData: [1, 1, 0.5, 0.5] }],
    }).graph;
    const r = only(g, 'Resize');
    expect(r.inputs[1]).toBeUndefined();
    expect(r.inputs[2]!.name).toBe('s');
    expect(r.attrString('nearest_mode')).toBe('ceil');
    expect(r.attrString('coordinate_transformation_mode')).toBe('asymmetric');
  });

  test('Resize 11: empty roi and scales constants become absent inputs', () => {
    const g = load({
      opset: 11,
      nodes: [node('Resize', ['x', 'roi', 'scales', 'sizes'], ['y'])],
      inputs: [tensorInfo('x', F, [1, 1, 4, 4])],
      outputs: [{ name: 'y' }],
      initializers: [
        { name: 'roi', dataType: F, dims: [0] },
        { name: 'scales', dataType: F, dims: [0] },
        { name: 'sizes', dataType: C.INT64, dims: [4], int64Data: [1, 1, 2, 2] },
      ],
    }).graph;
    const r = only(g, 'Resize');
    expect(r.inputs.map((v) => v?.name)).toEqual(['x', undefined, undefined, 'sizes']);
  });

  test('Scatter -> ScatterElements', () => {
    const g = single(9, node('Scatter', ['x', 'i', 'u'], ['y'], { axis: 1 }), [2, 3], [tensorInfo('i', C.INT64, [1, 1]), tensorInfo('u', F, [1, 1])]);
    expect(ops(g)).toEqual(['ScatterElements']);
    expect(g.nodes[0]!.attrInt('axis')).toBe(1);
  });

  test('BatchNormalization 6: is_test/consumed_inputs dropped, unused training outputs trimmed', () => {
    const g = load({
      opset: 6,
      nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y', 'rm', 'rv', 'sm', 'sv'], { is_test: 1, epsilon: { float: 0.001 }, consumed_inputs: [0, 0, 0, 1, 1] })],
      inputs: ['x', 's', 'b', 'm', 'v'].map((n) => tensorInfo(n, F, n === 'x' ? [1, 2, 3] : [2])),
      outputs: [{ name: 'y' }],
    }).graph;
    const bn = only(g, 'BatchNormalization');
    expect([...bn.attrs.keys()]).toEqual(['epsilon']);
    expect(bn.outputs).toHaveLength(1);
  });

  test('BatchNormalization 7 with spatial=0 is written out elementwise', () => {
    const g = load({
      opset: 7,
      nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { spatial: 0 })],
      inputs: ['x', 's', 'b', 'm', 'v'].map((n) => tensorInfo(n, F, n === 'x' ? [1, 2, 3] : [2, 3])),
      outputs: [{ name: 'y' }],
    }).graph;
    expect(ops(g)).not.toContain('BatchNormalization');
    expect(ops(g)).toEqual(expect.arrayContaining(['Sub', 'Sqrt', 'Div', 'Mul', 'Add', 'Unsqueeze']));
    expect(g.outputs[0]!.producer!.op).toBe('Add');
  });

  test('legacy broadcast (Add 6, broadcast=1, axis=1) appends trailing dims to B', () => {
    const g = single(6, node('Add', ['x', 'b'], ['y'], { broadcast: 1, axis: 1 }), [2, 3, 4], [tensorInfo('b', F, [3])]);
    const add = only(g, 'Add');
    expect(add.attrs.size).toBe(0);
    const unsq = add.inputs[1]!.producer!;
    expect(unsq.op).toBe('Unsqueeze');
    expect(constOf(unsq.inputs[1])).toEqual([1n]);
  });

  test('legacy broadcast with unknown ranks reshapes B at run time', () => {
    const g = load({
      opset: 6,
      nodes: [node('Relu', ['x'], ['r']), node('Mul', ['r', 'b'], ['y'], { broadcast: 1, axis: 1 })],
      inputs: [{ name: 'x' }, { name: 'b' }],
      outputs: [{ name: 'y' }],
    }).graph;
    const mul = g.nodes.find((n) => n.op === 'Mul')!;
    expect(mul.inputs[1]!.producer!.op).toBe('Reshape');
  });

  test('legacy broadcast with a negative axis counts from the end (static and run-time forms)', () => {
    const g = single(6, node('Add', ['x', 'b'], ['y'], { broadcast: 1, axis: -2 }), [2, 3, 4], [tensorInfo('b', F, [3])]);
    expect(constOf(only(g, 'Unsqueeze').inputs[1])).toEqual([1n]);
    const dynamic = load({
      opset: 6,
      nodes: [node('Relu', ['x'], ['r']), node('Add', ['r', 'b'], ['y'], { broadcast: 1, axis: -2 })],
      inputs: [{ name: 'x' }, { name: 'b' }],
      outputs: [{ name: 'y' }],
    }).graph;
    const y = execute(dynamic, { x: Tensor.float32(new Array(24).fill(0), [2, 3, 4]), b: Tensor.float32([1, 2, 3]) }).get('y')!;
    expect(y.shape).toEqual([2, 3, 4]);
    expect(Array.from(y.toFloat32()).slice(0, 12)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  });

  describe('PRelu < 7: a slope [C] applies per channel (axis 1)', () => {
    const xs = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => -(i + 1));
    /** y for x [2,3,2,2] and slope [1,10,100] per channel. */
    const expected = Array.from(xs, (v, i) => v * [1, 10, 100][Math.floor(i / 4) % 3]!);
    const run = (g: Graph, feeds: Record<string, Tensor> = {}) =>
      Array.from(execute(g, { x: Tensor.float32(xs, [2, 3, 2, 2]), ...feeds }).get('y')!.toFloat32());

    test('a constant slope is reshaped to [C,1,1]', () => {
      const g = load({
        opset: 6,
        nodes: [node('PRelu', ['x', 'slope'], ['y'])],
        inputs: [tensorInfo('x', F, [2, 3, 2, 2])],
        outputs: [{ name: 'y' }],
        initializers: [{ name: 'slope', dataType: F, dims: [3], floatData: [1, 10, 100] }],
      }).graph;
      const slope = only(g, 'PRelu').inputs[1]!;
      expect(slope.const!.shape).toEqual([3, 1, 1]);
      expect(g.constants.get('slope')!.const!.shape).toEqual([3]); // the original is not changed in place
      expect(run(g)).toEqual(expected);
    });

    test('a slope input of known rank goes through Unsqueeze', () => {
      const g = single(6, node('PRelu', ['x', 's'], ['y']), [2, 3, 2, 2], [tensorInfo('s', F, [3])]);
      const unsq = only(g, 'PRelu').inputs[1]!.producer!;
      expect(unsq.op).toBe('Unsqueeze');
      expect(constOf(unsq.inputs[1])).toEqual([1n, 2n]);
      expect(run(g, { s: Tensor.float32([1, 10, 100]) })).toEqual(expected);
    });

    test('unknown ranks are aligned at run time; a shared slope [1] still works', () => {
      const g = load({
        opset: 6,
        nodes: [node('Identity', ['x'], ['r']), node('PRelu', ['r', 's'], ['y'])],
        inputs: [{ name: 'x' }, { name: 's' }],
        outputs: [{ name: 'y' }],
      }).graph;
      expect(only(g, 'PRelu').inputs[1]!.producer!.op).toBe('Reshape');
      expect(run(g, { s: Tensor.float32([1, 10, 100]) })).toEqual(expected);
      expect(run(g, { s: Tensor.float32([2]) })).toEqual(Array.from(xs, (v) => 2 * v));
    });

    test('2-D x and opset 7 are left alone', () => {
      const g2 = single(6, node('PRelu', ['x', 's'], ['y']), [2, 3], [tensorInfo('s', F, [3])]);
      expect(only(g2, 'PRelu').inputs[1]!.name).toBe('s');
      const g7 = single(7, node('PRelu', ['x', 's'], ['y']), [2, 3, 4], [tensorInfo('s', F, [4])]);
      expect(only(g7, 'PRelu').inputs[1]!.name).toBe('s');
    });
  });

  test('GroupNormalization 18: per-group scale/bias are spread over channels', () => {
    const g = single(18, node('GroupNormalization', ['x', 's', 'b'], ['y'], { num_groups: 2 }), [1, 4, 3], [tensorInfo('s', F, [2]), tensorInfo('b', F, [2])]);
    const gn = only(g, 'GroupNormalization');
    expect(gn.inputs[1]!.producer!.op).toBe('Reshape');
    expect(gn.inputs[2]!.producer!.op).toBe('Reshape');
  });

  test('RoiAlign < 16 keeps its old output_half_pixel coordinates', () => {
    const n = only(single(10, node('RoiAlign', ['x', 'r', 'i'], ['y']), [1, 1, 4, 4], [tensorInfo('r', F, [1, 4]), tensorInfo('i', C.INT64, [1])]), 'RoiAlign');
    expect(n.attrString('coordinate_transformation_mode')).toBe('output_half_pixel');
  });

  test('GridSample < 20 renames bilinear to linear', () => {
    const n = only(single(16, node('GridSample', ['x', 'grid'], ['y']), [1, 1, 4, 4], [tensorInfo('grid', F, [1, 2, 2, 2])]), 'GridSample');
    expect(n.attrString('mode')).toBe('linear');
  });

  test('Reshape 1 shape attribute and Concat < 4 default axis', () => {
    const r = only(single(1, node('Reshape', ['x'], ['y'], { shape: [6, 4] })), 'Reshape');
    expect(constOf(r.inputs[1])).toEqual([6n, 4n]);
    const c = only(single(3, node('Concat', ['x', 'x'], ['y'])), 'Concat');
    expect(c.attrInt('axis')).toBe(1);
  });

  test('current forms are left alone', () => {
    const n = only(single(21, node('Softmax', ['x'], ['y'], { axis: 1 })), 'Softmax');
    expect(n.attrInt('axis')).toBe(1);
  });

  test('a model newer than opset 21 loads with a warning', () => {
    const m = load({ opset: 23, nodes: [node('Relu', ['x'], ['y'])], inputs: [tensorInfo('x', F, [1])], outputs: [{ name: 'y' }] });
    expect(m.warnings.map((w) => w.code)).toEqual(['OPSET_UNSUPPORTED']);
    expect(m.warnings[0]!.severity).toBe('warning');
  });
});
