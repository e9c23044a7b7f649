import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import { inferTypes } from '../ir/infer.js';
import { decodeModel, encodeModel } from './index.js';
import { AttributeTypeCode as A, DataTypeCode as C, type NodeProtoMsg, type TypeProtoMsg } from './schema.js';
import { modelBytes, node, tensorInfo, type ModelSpec } from './testing.js';

const load = (spec: ModelSpec): Model => decodeModel(modelBytes(spec), { file: 'm.onnx' });
const boolScalar = tensorInfo('has', C.BOOL, []);

function withTypeAttr(n: NodeProtoMsg, name: string, tp: TypeProtoMsg): NodeProtoMsg {
  return { ...n, attribute: [...(n.attribute ?? []), { name, type: A.TYPE_PROTO, tp }] };
}

/** Optional(type = seq<float[5, ?]>) -> OptionalHasElement; the optional has no value_info. */
function emptySequenceOptional(): ModelSpec {
  const seqOfFloat5: TypeProtoMsg = { sequenceType: { elemType: { tensorType: { elemType: C.FLOAT, shape: { dim: [{ dimValue: 5 }, {}] } } } } };
  return {
    opset: 18,
    nodes: [withTypeAttr(node('Optional', [], ['opt']), 'type', seqOfFloat5), node('OptionalHasElement', ['opt'], ['has'])],
    inputs: [],
    outputs: [boolScalar],
  };
}

describe('type attributes', () => {
  test('import as TypeDesc (unnamed dims get symbols), with no warning', () => {
    const m = load(emptySequenceOptional());
    const opt = m.graph.nodes[0]!;
    expect(opt.attrType('type')).toEqual({ kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: [5, expect.stringMatching(/^unk__/)] } });
    expect(opt.outputs[0]!.kind).toBe('optional');
    expect(m.warnings).toEqual([]);
  });

  test('TYPE_PROTOS on an op of another domain survive export and re-import', () => {
    const n: NodeProtoMsg = {
      ...node('Custom', ['x'], ['y'], {}, { domain: 'com.example' }),
      attribute: [{
        name: 'ts',
        type: A.TYPE_PROTOS,
        typeProtos: [{ optionalType: { elemType: { tensorType: { elemType: C.INT64, shape: { dim: [{ dimParam: 'n' }] } } } } }, { tensorType: { elemType: C.BOOL } }],
      }],
    };
    const spec: ModelSpec = { opsets: [{ domain: '', version: 21 }, { domain: 'com.example', version: 1 }], nodes: [n], inputs: [tensorInfo('x', C.FLOAT, [1])], outputs: [tensorInfo('y', C.FLOAT, [1])] };
    const once = load(spec).graph.nodes[0]!.attrs.get('ts');
    expect(once).toEqual({ kind: 'types', value: [{ kind: 'optional', elem: { kind: 'tensor', dtype: 'int64', shape: ['n'] } }, { kind: 'tensor', dtype: 'bool' }] });
    const twice = decodeModel(encodeModel(load(spec))).graph.nodes[0]!.attrs.get('ts');
    expect(twice).toEqual(once);
  });

  test('map types are rejected, naming the node', () => {
    const n = withTypeAttr(node('Optional', [], ['opt']), 'type', { mapType: { keyType: C.INT64, valueType: { tensorType: { elemType: C.FLOAT } } } });
    const spec: ModelSpec = { opset: 18, nodes: [n, node('OptionalHasElement', ['opt'], ['has'])], inputs: [], outputs: [boolScalar] };
    let err: unknown;
    try {
      load(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SparsecError);
    expect((err as SparsecError).diagnostic).toMatchObject({ code: 'UNSUPPORTED_DTYPE', location: { node: 'optional_opt' } });
  });

  test.each([
    ['a sequence type', emptySequenceOptional()],
    ['a tensor type, after inference', {
      ...emptySequenceOptional(),
      nodes: [withTypeAttr(node('Optional', [], ['opt']), 'type', { tensorType: { elemType: C.FLOAT, shape: { dim: [{ dimValue: 2 }] } } }), node('OptionalHasElement', ['opt'], ['has'])],
    }],
  ])('an empty Optional of %s exports as a model onnxruntime runs', async (_what, spec) => {
    const m = load(spec);
    inferTypes(m.graph);
    const session = await ort.InferenceSession.create(encodeModel(m));
    const { has } = await session.run({});
    expect(Number(has!.data[0])).toBe(0);
  });
});
