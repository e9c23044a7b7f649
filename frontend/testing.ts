// Builders of small ONNX messages for the frontend's tests (not used by the library).

import { bigIntToInt64, ModelProto, AttributeTypeCode as A, type AttributeProtoMsg, type GraphProtoMsg, type NodeProtoMsg, type TensorProtoMsg, type ValueInfoProtoMsg } from './schema.js';

type AttrValue = number | string | number[] | { floats: number[] } | { float: number } | TensorProtoMsg | GraphProtoMsg;

/** Attributes from plain values: integers -> INT(S), strings -> STRING, {float}/{floats} -> FLOAT(S). */
export function attrs(values: Record<string, AttrValue>): AttributeProtoMsg[] {
  return Object.entries(values).map(([name, v]): AttributeProtoMsg => {
    if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: bigIntToInt64(v) } : { name, type: A.FLOAT, f: v };
    if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
    if (Array.isArray(v)) return { name, type: A.INTS, ints: v.map((x) => bigIntToInt64(x)) };
    if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
    if ('float' in v) return { name, type: A.FLOAT, f: v.float };
    if ('node' in v) return { name, type: A.GRAPH, g: v as GraphProtoMsg };
    return { name, type: A.TENSOR, t: v as TensorProtoMsg };
  });
}

export function node(opType: string, input: string[], output: string[], a: Record<string, AttrValue> = {}, extra: Partial<NodeProtoMsg> = {}): NodeProtoMsg {
  return { opType, input, output, attribute: attrs(a), name: extra.name ?? `${opType.toLowerCase()}_${output[0]}`, ...extra };
}

/** A ValueInfo of a tensor: elem type code and dims (numbers, symbols, or null for unknown). */
export function tensorInfo(name: string, elemType: number, dims?: (number | string | null)[]): ValueInfoProtoMsg {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims && {
          dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

export interface ModelSpec {
  opset?: number;
  opsets?: { domain: string; version: number }[];
  nodes: NodeProtoMsg[];
  inputs: ValueInfoProtoMsg[];
  outputs: ValueInfoProtoMsg[];
  initializers?: TensorProtoMsg[];
  valueInfo?: ValueInfoProtoMsg[];
  irVersion?: number;
}

export function graphProto(spec: Omit<ModelSpec, 'opset' | 'opsets' | 'irVersion'>, name = 'g'): GraphProtoMsg {
  return {
    name,
    node: spec.nodes,
    input: spec.inputs,
    output: spec.outputs,
    initializer: spec.initializers ?? [],
    valueInfo: spec.valueInfo ?? [],
  };
}

export function modelBytes(spec: ModelSpec): Uint8Array {
  return ModelProto.encode({
    irVersion: spec.irVersion ?? 8,
    opsetImport: spec.opsets ?? [{ domain: '', version: spec.opset ?? 13 }],
    graph: graphProto(spec),
  }).finish();
}
