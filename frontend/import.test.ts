import { describe, expect, test } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import { decodeModel } from './import.js';
import { DataTypeCode as C, ModelProto, type FunctionProtoMsg } from './schema.js';
import { attrs, graphProto, modelBytes, node, tensorInfo, type ModelSpec } from './testing.js';

const F = C.FLOAT;
const load = (spec: ModelSpec): Model => decodeModel(modelBytes(spec), { file: 'm.onnx' });

describe('import', () => {
  test('initializers become constants; initializers listed as inputs (IR < 4) stay constants', () => {
    const m = load({
      irVersion: 3,
      nodes: [node('Add', ['x', 'W'], ['y'])],
      inputs: [tensorInfo('x', F, [2]), tensorInfo('W', F, [2])],
      outputs: [tensorInfo('y', F, [2])],
      initializers: [{ name: 'W', dataType: F, dims: [2], floatData: [1, 2] }],
    });
    expect(m.graph.inputs.map((v) => v.name)).toEqual(['x']);
    const w = m.graph.constants.get('W')!;
    expect(w.isConstant).toBe(true);
    expect(m.graph.nodes[0]!.inputs[1]).toBe(w);
  });

  test.each([
    ['value_float', { value_float: { float: 2.5 } }, 'float32', [], [2.5]],
    ['value_floats', { value_floats: { floats: [1, 2] } }, 'float32', [2], [1, 2]],
    ['value_int', { value_int: 7 }, 'int64', [], [7n]],
    ['value_ints', { value_ints: [3, 4] }, 'int64', [2], [3n, 4n]],
    ['value_string', { value_string: 'hi' }, 'string', [], ['hi']],
    ['value', { value: { name: 'v', dataType: C.INT32, dims: [1], int32Data: [9] } }, 'int32', [1], [9]],
  ] as const)('Constant with %s becomes a constant value', (_k, a, dtype, shape, values) => {
    const m = load({ nodes: [node('Constant', [], ['c'], a as never), node('Identity', ['c'], ['y'])], inputs: [], outputs: [{ name: 'y' }] });
    const c = m.graph.constants.get('c')!;
    expect(c.const!.dtype).toBe(dtype);
    expect(c.const!.shape).toEqual(shape);
    expect(Array.from(c.const!.data as ArrayLike<unknown>)).toEqual(values);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['Identity']);
  });

  test('Constant with sparse_value is densified', () => {
    const bytes = ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: [{
          opType: 'Constant', output: ['c'],
          attribute: [{ name: 'sparse_value', type: 11, sparseTensor: {
            values: { name: 'c', dataType: F, dims: [2], floatData: [5, 6] },
            indices: { dataType: C.INT64, dims: [2], int64Data: [1, 3] },
            dims: [2, 2],
          } }],
        }],
        output: [{ name: 'c' }],
      },
    }).finish();
    const c = decodeModel(bytes).graph.constants.get('c')!.const!;
    expect(c.shape).toEqual([2, 2]);
    expect(Array.from(c.data as Float32Array)).toEqual([0, 5, 0, 6]);
  });

  test('shapes: dim_value, dim_param and missing dims (fresh symbols); value_info is recorded', () => {
    const m = load({
      nodes: [node('Relu', ['x'], ['h']), node('Relu', ['h'], ['y'])],
      inputs: [tensorInfo('x', F, ['batch', 3, null])],
      outputs: [tensorInfo('y', F, ['batch', 3, null])],
      valueInfo: [tensorInfo('h', F, ['batch', 3, 8])],
    });
    const [x] = m.graph.inputs;
    expect(x!.dtype).toBe('float32');
    expect(x!.shape![0]).toBe('batch');
    expect(x!.shape![1]).toBe(3);
    expect(typeof x!.shape![2]).toBe('string');
    expect(m.graph.nodes[0]!.outputs[0]!.shape).toEqual(['batch', 3, 8]);
    const y = m.graph.outputs[0]!;
    expect(y.shape![2]).not.toBe(x!.shape![2]);
  });

  test('names are kept verbatim; empty node names get unique generated ones', () => {
    const m = load({
      nodes: [node('Relu', ['x'], ['a'], {}, { name: '' }), node('Relu', ['a'], ['relu'], {}, { name: '' }), node('Neg', ['relu'], ['y'], {}, { name: 'my node' })],
      inputs: [tensorInfo('x', F, [1])],
      outputs: [{ name: 'y' }],
    });
    const names = m.graph.nodes.map((n) => n.name);
    expect(names[2]).toBe('my node');
    expect(new Set(names).size).toBe(3);
    expect(names.every((n) => n.length > 0)).toBe(true);
    expect(m.graph.nodes.map((n) => n.outputs[0]!.name)).toEqual(['a', 'relu', 'y']);
  });

  test('nodes out of order are sorted', () => {
    const m = load({
      nodes: [node('Neg', ['a'], ['y']), node('Relu', ['x'], ['a'])],
      inputs: [tensorInfo('x', F, [1])],
      outputs: [{ name: 'y' }],
    });
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['Relu', 'Neg']);
  });

  test('other domains and unknown ops become Opaque with domain, op type, version and attributes', () => {
    const m = load({
      opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      nodes: [node('FusedGemm', ['x'], ['y'], { alpha: { float: 2 } }, { domain: 'com.microsoft' })],
      inputs: [tensorInfo('x', F, [1])],
      outputs: [{ name: 'y' }],
    });
    const n = m.graph.nodes[0]!;
    expect(n.op).toBe('Opaque');
    expect(n.domain).toBe('com.microsoft');
    expect(n.opType).toBe('FusedGemm');
    expect(n.attrFloat('alpha')).toBe(2);
    expect(m.opsets.get('com.microsoft')).toBe(1);
  });

  test('subgraphs are nested graphs that see outer values lexically', () => {
    const branch = (op: string, out: string) => graphProto({ nodes: [node(op, ['x'], [out])], inputs: [], outputs: [{ name: out }] }, `${op}_branch`);
    const m = load({
      nodes: [node('If', ['cond'], ['y'], { then_branch: branch('Relu', 't'), else_branch: branch('Neg', 'e') })],
      inputs: [tensorInfo('cond', C.BOOL, []), tensorInfo('x', F, [2])],
      outputs: [{ name: 'y' }],
    });
    const iff = m.graph.nodes[0]!;
    const then = iff.attrGraph('then_branch')!;
    expect(then.parent).toBe(m.graph);
    expect(then.nodes[0]!.inputs[0]).toBe(m.graph.inputs[1]);
    expect(then.outputs[0]!.name).toBe('t');
  });

  test('model-local functions are inlined with attribute references resolved', () => {
    const fn: FunctionProtoMsg = {
      name: 'ScaledRelu', domain: 'local', input: ['a'], output: ['b'], attribute: ['k'],
      opsetImport: [{ domain: '', version: 17 }],
      node: [
        { opType: 'Relu', input: ['a'], output: ['r'] },
        { opType: 'LeakyRelu', input: ['r'], output: ['b'], attribute: [{ name: 'alpha', refAttrName: 'k', type: 1 }] },
      ],
    };
    const bytes = ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }],
      functions: [fn],
      graph: graphProto({
        nodes: [{ opType: 'ScaledRelu', domain: 'local', name: 'call', input: ['x'], output: ['y'], attribute: attrs({ k: { float: 0.5 } }) }],
        inputs: [tensorInfo('x', F, [2])],
        outputs: [{ name: 'y' }],
      }),
    }).finish();
    const g = decodeModel(bytes).graph;
    expect(g.nodes.map((n) => n.op)).toEqual(['Relu', 'LeakyRelu']);
    expect(g.nodes[1]!.attrFloat('alpha')).toBe(0.5);
    expect(g.outputs[0]!.name).toBe('y');
  });

  test('an undefined input is BAD_MODEL naming the file and node', () => {
    try {
      load({ nodes: [node('Relu', ['nope'], ['y'], {}, { name: 'r1' })], inputs: [], outputs: [{ name: 'y' }] });
      throw new Error('expected failure');
    } catch (e) {
      expect(e).toBeInstanceOf(SparsecError);
      const d = (e as SparsecError).diagnostic;
      expect(d.code).toBe('BAD_MODEL');
      expect(d.location).toMatchObject({ file: 'm.onnx', node: 'r1', opType: 'Relu' });
    }
  });

  test('omitted optional outputs are annotated, not named', () => {
    const m = load({ opset: 13, nodes: [node('Dropout', ['x'], ['y', ''])], inputs: [tensorInfo('x', F, [1])], outputs: [{ name: 'y' }] });
    expect(m.graph.nodes[0]!.annotations.get('onnx.omittedOutputs')).toEqual([1]);
    const m2 = load({ opset: 13, nodes: [node('Split', ['x'], ['', 'b'], { axis: 0 })], inputs: [tensorInfo('x', F, [2])], outputs: [{ name: 'b' }] });
    expect(m2.graph.nodes[0]!.annotations.get('onnx.omittedOutputs')).toEqual([0]);
  });
});
