// TypeProto <-> IR TypeDesc, for attributes that hold a type (Optional's `type`). Sparse tensor
// types read as tensor types, as sparse tensors do everywhere on import; map types have no IR
// form and are rejected rather than silently dropped.

import { error, type Location } from '../ir/diagnostics.js';
import type { TypeDesc } from '../ir/graph.js';
import { codeFromDType, dtypeFromCode } from './dtype-codes.js';
import { shapeFromProto } from './import-util.js';
import { bigIntToInt64, type TypeProtoMsg } from './schema.js';

export function typeDescFromProto(t: TypeProtoMsg, freshDim: () => string, location?: Location): TypeDesc {
  const tensor = t.tensorType ?? t.sparseTensorType;
  if (tensor) {
    const shape = tensor.shape ? shapeFromProto(tensor.shape, freshDim) : undefined;
    return { kind: 'tensor', dtype: dtypeFromCode(tensor.elemType ?? 0), shape };
  }
  if (t.sequenceType) return { kind: 'sequence', elem: typeDescFromProto(t.sequenceType.elemType ?? {}, freshDim, location) };
  if (t.optionalType) return { kind: 'optional', elem: typeDescFromProto(t.optionalType.elemType ?? {}, freshDim, location) };
  if (t.mapType) throw error('UNSUPPORTED_DTYPE', 'map types are not supported in attributes', location);
  throw error('BAD_MODEL', 'a type attribute names no type (tensor, sequence or optional)', location);
}

export function typeDescToProto(t: TypeDesc): TypeProtoMsg {
  switch (t.kind) {
    case 'tensor':
      return {
        tensorType: {
          elemType: t.dtype ? codeFromDType(t.dtype) : 0,
          shape: t.shape && { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: bigIntToInt64(d) } : { dimParam: d })) },
        },
      };
    case 'sequence':
      return { sequenceType: { elemType: typeDescToProto(t.elem) } };
    case 'optional':
      return { optionalType: { elemType: typeDescToProto(t.elem) } };
  }
}
