// Attributes whose value is a data type. ONNX writes them as TensorProto.DataType codes (ints);
// inside sparsec they are string attributes holding the IR DType name ('float32'), so nothing
// outside frontend/ ever sees an ONNX code. Import converts codes to names, export back.

import { error, type Location } from '../ir/diagnostics.js';
import { DType } from '../ir/dtype.js';
import type { Attr } from '../ir/graph.js';
import { codeFromDType, dtypeFromCode } from './dtype-codes.js';

/**
 * Every ai.onnx op with a data-type attribute (checked against the ONNX operator spec up to
 * opset 23), and whether the attribute may be left unset (code 0, UNDEFINED, means unset).
 */
const DTYPE_ATTRS: ReadonlyMap<string, readonly { name: string; optional: boolean }[]> = new Map([
  ['Cast', [{ name: 'to', optional: false }]],
  ['EyeLike', [{ name: 'dtype', optional: true }]],
  ['RandomNormal', [{ name: 'dtype', optional: true }]],
  ['RandomUniform', [{ name: 'dtype', optional: true }]],
  ['RandomNormalLike', [{ name: 'dtype', optional: true }]],
  ['RandomUniformLike', [{ name: 'dtype', optional: true }]],
  ['Multinomial', [{ name: 'dtype', optional: true }]],
  ['Bernoulli', [{ name: 'dtype', optional: true }]],
  ['SequenceEmpty', [{ name: 'dtype', optional: true }]],
  ['QuantizeLinear', [{ name: 'output_dtype', optional: true }]],
  // Opset 23; a newer model is read with opset-21 meanings, but the attribute keeps one form.
  ['DequantizeLinear', [{ name: 'output_dtype', optional: true }]],
  ['HannWindow', [{ name: 'output_datatype', optional: true }]],
  ['HammingWindow', [{ name: 'output_datatype', optional: true }]],
  ['BlackmanWindow', [{ name: 'output_datatype', optional: true }]],
  ['MelWeightMatrix', [{ name: 'output_datatype', optional: true }]],
]);

/** Names of the dtype-valued attributes of an ai.onnx op (for tests and documentation). */
export const dtypeAttrNames = (opType: string): string[] => (DTYPE_ATTRS.get(opType) ?? []).map((a) => a.name);

/**
 * Rewrite the ONNX codes of an imported ai.onnx node's dtype attributes into DType names, in
 * place. An unset optional attribute (code 0) is removed; an unknown code is an error.
 */
export function dtypeAttrsToNames(opType: string, attrs: Map<string, Attr>, loc: Location): void {
  for (const { name, optional } of DTYPE_ATTRS.get(opType) ?? []) {
    const a = attrs.get(name);
    if (a === undefined) continue;
    if (a.kind !== 'int') throw error('BAD_ATTRIBUTE', `attribute '${name}' must be a data type code (int), got ${a.kind}`, loc);
    if (a.value === 0 && optional) {
      attrs.delete(name);
      continue;
    }
    const dtype = dtypeFromCode(a.value);
    if (dtype === undefined) {
      throw error('UNSUPPORTED_DTYPE', `attribute '${name}' names data type code ${a.value}, which sparsec does not know`, loc);
    }
    attrs.set(name, { kind: 'string', value: dtype });
  }
}

/** The ONNX form of an IR node's attribute: dtype names become codes, anything else is kept. */
export function attrForExport(opType: string, name: string, a: Attr): Attr {
  if (a.kind !== 'string' || !DTYPE_ATTRS.get(opType)?.some((d) => d.name === name)) return a;
  if (!Object.hasOwn(DType, a.value)) {
    throw error('BAD_ATTRIBUTE', `${opType} attribute '${name}' is '${a.value}', which is not a data type name`);
  }
  return { kind: 'int', value: codeFromDType(a.value as DType) };
}
