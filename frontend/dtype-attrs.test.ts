import { describe, expect, test } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import { isOnnxOp } from '../ir/ops.js';
import { dtypeAttrNames } from './dtype-attrs.js';
import { decodeModel, modelToProto } from './index.js';
import { DataTypeCode as C } from './schema.js';
import { modelBytes, node, tensorInfo, type ModelSpec } from './testing.js';

const load = (spec: ModelSpec): Model => decodeModel(modelBytes(spec), { file: 'm.onnx' });
const nodeNamed = (m: Model, name: string) => m.graph.nodes.find((n) => n.name === name)!;

const spec: ModelSpec = {
  opset: 21,
  nodes: [
    node('Cast', ['x'], ['c'], { to: C.INT64 }, { name: 'cast' }),
    node('EyeLike', ['m'], ['e'], { dtype: C.DOUBLE }, { name: 'eye' }),
    node('RandomNormal', [], ['r'], { dtype: C.FLOAT16, shape: [2] }, { name: 'rand' }),
    node('QuantizeLinear', ['x', 's'], ['q'], { output_dtype: 0 }, { name: 'quant' }),
    node('QuantizeLinear', ['x', 's'], ['q8'], { output_dtype: C.INT8 }, { name: 'quant8' }),
    node('HannWindow', ['n'], ['w'], { output_datatype: C.FLOAT16 }, { name: 'hann' }),
  ],
  inputs: [tensorInfo('x', C.FLOAT, [2]), tensorInfo('m', C.FLOAT, [2, 2]), tensorInfo('s', C.FLOAT, []), tensorInfo('n', C.INT64, [])],
  outputs: ['c', 'e', 'r', 'q', 'q8', 'w'].map((n) => ({ name: n })),
};

describe('dtype-valued attributes', () => {
  test('import turns ONNX data type codes into DType name strings; code 0 means unset', () => {
    const m = load(spec);
    expect(nodeNamed(m, 'cast').attrs.get('to')).toEqual({ kind: 'string', value: 'int64' });
    expect(nodeNamed(m, 'eye').attrString('dtype')).toBe('float64');
    expect(nodeNamed(m, 'rand').attrString('dtype')).toBe('float16');
    expect(nodeNamed(m, 'quant').attrs.has('output_dtype')).toBe(false);
    expect(nodeNamed(m, 'quant8').attrString('output_dtype')).toBe('int8');
    expect(nodeNamed(m, 'hann').attrString('output_datatype')).toBe('float16');
  });

  test('export writes the codes back', () => {
    const proto = modelToProto(load(spec));
    const attr = (nodeName: string, attrName: string) =>
      proto.graph!.node!.find((n) => n.name === nodeName)!.attribute!.find((a) => a.name === attrName);
    expect(Number(attr('cast', 'to')!.i)).toBe(C.INT64);
    expect(attr('cast', 'to')!.s).toBeUndefined();
    expect(Number(attr('eye', 'dtype')!.i)).toBe(C.DOUBLE);
    expect(Number(attr('quant8', 'output_dtype')!.i)).toBe(C.INT8);
    expect(attr('quant', 'output_dtype')).toBeUndefined();
    expect(Number(attr('hann', 'output_datatype')!.i)).toBe(C.FLOAT16);
  });

  test('Cast before opset 6 (`to` a type name string) imports as a DType name too', () => {
    const m = load({ opset: 5, nodes: [node('Cast', ['x'], ['y'], { to: 'DOUBLE' })], inputs: [tensorInfo('x', C.FLOAT, [2])], outputs: [{ name: 'y' }] });
    expect(m.graph.nodes[0]!.attrString('to')).toBe('float64');
  });

  test('an unknown code or a non-int attribute is rejected, naming the node', () => {
    const bad = (a: Record<string, number | string>) => () =>
      load({ opset: 21, nodes: [node('Cast', ['x'], ['y'], a, { name: 'c' })], inputs: [tensorInfo('x', C.FLOAT, [2])], outputs: [{ name: 'y' }] });
    expect(bad({ to: 99 })).toThrow(SparsecError);
    expect(bad({ to: 99 })).toThrow(/node 'c'.*data type code 99/);
    expect(bad({ to: 0 })).toThrow(/data type code 0/);
    expect(bad({ to: 'float32' })).toThrow(/must be a data type code \(int\), got string/);
  });

  test('every op listed is an IR op, and Cast/EyeLike/QuantizeLinear are among them', () => {
    const ops = ['Cast', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
      'SequenceEmpty', 'QuantizeLinear', 'DequantizeLinear', 'HannWindow', 'HammingWindow', 'BlackmanWindow', 'MelWeightMatrix'];
    for (const op of ops) {
      expect(isOnnxOp(op)).toBe(true);
      expect(dtypeAttrNames(op).length).toBe(1);
    }
    expect(dtypeAttrNames('Relu')).toEqual([]);
  });
});
