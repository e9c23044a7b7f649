// Opset adapters: every older ai.onnx form is rewritten on import into its opset-21 form, so
// the rest of sparsec implements one meaning per op (see ir/ops.ts).
//
// The table is data: for each op, the opset version at which its form changed (`below`) and
// a rewrite from the older form. All adapters whose `below` is above the model's opset run, in
// increasing order of `below`, so an opset-7 Split goes through the opset-13 change (split
// becomes an input) and then the opset-18 one (num_outputs). A rewrite returns the new form, or
// undefined when it emitted the whole replacement itself (e.g. Softmax's Flatten/Reshape).

import { warning, type Diagnostic } from '../ir/diagnostics.js';
import type { Attr, Value } from '../ir/graph.js';
import { DataTypeCode } from './schema.js';
import {
  alignFromAxis,
  constLike,
  float32Const,
  int64Const,
  intAttr,
  intsAttrToInput,
  setInput,
  stringAttr,
  take,
  takeFloat,
  takeFloats,
  takeInt,
  takeInts,
  type OnnxNodeForm,
  type UpgradeBuilder,
} from './upgrade-builder.js';

export type { OnnxNodeForm, UpgradeBuilder } from './upgrade-builder.js';

/** The opset every imported model is brought to. */
export const CANONICAL_OPSET = 21;

interface Adapter {
  /** Forms of opsets below this version are rewritten. */
  below: number;
  rewrite(n: OnnxNodeForm, b: UpgradeBuilder): OnnxNodeForm | undefined;
}

type Rewrite = Adapter['rewrite'];

const table = new Map<string, Adapter[]>();
function adapt(ops: string | string[], below: number, rewrite: Rewrite): void {
  for (const op of typeof ops === 'string' ? [ops] : ops) {
    const list = table.get(op) ?? [];
    list.push({ below, rewrite });
    list.sort((x, y) => x.below - y.below);
    table.set(op, list);
  }
}
/** Ops removed from ai.onnx: rewritten whatever the opset. */
const ALWAYS = Infinity;

// ---- opsets 1-6: attributes dropped in opset 7 and the legacy broadcast form ----

// Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less before 7: `broadcast=1` with `axis` aligns
// B with A's dims starting at `axis`; opset 7 uses numpy broadcasting (B aligned to the right).
// Without `axis` the two agree; with it, B gets trailing 1-dims appended.
adapt(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less'], 7, (n, b) => {
  const broadcast = takeInt(n, 'broadcast') ?? 0;
  const axis = takeInt(n, 'axis');
  if (!broadcast || axis === undefined) return n;
  setInput(n, 1, alignFromAxis(b, n.inputs[0], n.inputs[1], axis));
  return n;
});

// PRelu before 7 applied the slope per channel: a slope [C] lined up with x's axis 1 (a slope
// of size 1 was shared). Opset 7 broadcasts numpy-style, aligning [C] with the last axis, so
// the slope gets trailing 1-dims: [C] -> [C, 1, ..., 1] with rank(x) - 1 dims.
adapt('PRelu', 7, (n, b) => {
  setInput(n, 1, alignFromAxis(b, n.inputs[0], n.inputs[1], 1));
  return n;
});

// Gemm before 7: `broadcast` said whether C broadcasts; from 7 it always may.
adapt('Gemm', 7, (n) => (take(n, 'broadcast'), n));

// Concat before 4: axis was optional with default 1; later it is required.
adapt('Concat', 4, (n) => (n.attrs.has('axis') || n.attrs.set('axis', intAttr(1)), n));

// Reshape before 5: the target shape was an attribute.
adapt('Reshape', 5, (n, b) => (intsAttrToInput(b, n, 'shape', 1), n));

// Cast before 6: `to` was a type name string ('FLOAT'); later the TensorProto code.
adapt('Cast', 6, (n, b) => {
  const to = n.attrs.get('to');
  if (to?.kind === 'string') {
    const code = (DataTypeCode as Record<string, number>)[to.value.toUpperCase()];
    if (code === undefined) throw b.fail(`Cast to unknown type '${to.value}'`);
    n.attrs.set('to', intAttr(code));
  }
  return n;
});

// Dropout: is_test went away in 7; ratio became an input in 12 (inference ignores it either
// way; the mask output's type became bool in 10, which only training graphs read).
adapt('Dropout', 12, (n, b) => {
  take(n, 'is_test');
  const ratio = takeFloat(n, 'ratio');
  if (ratio !== undefined) setInput(n, 1, float32Const(b, [ratio], []));
  return n;
});

// BatchNormalization: is_test went away in 7, `spatial` in 9 (spatial=0 meant per-element
// statistics of shape [C, D1, ...]); extra training outputs are trimmed after import when unused.
adapt('BatchNormalization', 9, (n, b) => {
  take(n, 'is_test');
  take(n, 'momentum');
  const spatial = takeInt(n, 'spatial') ?? 1;
  if (spatial) return n;
  // y = (x - mean) / sqrt(var + epsilon) * scale + B, statistics broadcast from axis 1.
  const eps = takeFloat(n, 'epsilon') ?? 1e-5;
  const [x, scale, bias, mean, variance] = n.inputs;
  const lift = (v: Value | undefined) => b.node('Unsqueeze', [v, int64Const(b, [0])])[0];
  const centered = b.node('Sub', [x, lift(mean)])[0]!;
  const std = b.node('Sqrt', [b.node('Add', [lift(variance), constLike(b, x!, [eps])])[0]])[0];
  const scaled = b.node('Mul', [b.node('Div', [centered, std])[0], lift(scale)])[0];
  b.node('Add', [scaled, lift(bias)], {}, [n.outputs[0]!]);
  return undefined;
});

// ---- attributes that became inputs ----

// Slice before 10: starts/ends/axes were attributes (and there were no steps).
adapt('Slice', 10, (n, b) => {
  intsAttrToInput(b, n, 'starts', 1);
  intsAttrToInput(b, n, 'ends', 2);
  intsAttrToInput(b, n, 'axes', 3);
  return n;
});

// TopK before 10: k was an attribute. (Opset 11 added largest/sorted with the old behaviour
// as their defaults, so nothing else changes.)
adapt('TopK', 10, (n, b) => {
  const k = takeInt(n, 'k');
  if (k !== undefined) setInput(n, 1, int64Const(b, [k]));
  return n;
});

// Pad before 11: pads (opset 1: paddings) and value were attributes. Opset 18 adds an optional
// axes input and 19 the wrap mode: no change for older forms.
adapt('Pad', 11, (n, b) => {
  const pads = takeInts(n, 'pads') ?? takeInts(n, 'paddings') ?? [];
  const value = takeFloat(n, 'value') ?? 0;
  setInput(n, 1, int64Const(b, pads));
  if (value !== 0) setInput(n, 2, constLike(b, n.inputs[0]!, [value]));
  return n;
});

// Clip before 11: min/max were float attributes; later they are optional inputs of x's type.
adapt('Clip', 11, (n, b) => {
  const min = takeFloat(n, 'min');
  const max = takeFloat(n, 'max');
  const x = n.inputs[0]!;
  if (min !== undefined) setInput(n, 1, constLike(b, x, [min]));
  if (max !== undefined) setInput(n, 2, constLike(b, x, [max]));
  return n;
});

// Split before 13: `split` was an attribute. Opset 18: without a split input, the count of
// parts must be given by num_outputs.
adapt('Split', 13, (n, b) => (intsAttrToInput(b, n, 'split', 1), n));
adapt('Split', 18, (n) => {
  if (!n.inputs[1] && !n.attrs.has('num_outputs')) n.attrs.set('num_outputs', intAttr(n.outputs.length));
  return n;
});

// Squeeze/Unsqueeze before 13, ReduceSum before 13, the other reductions before 18: axes was an
// attribute. (An absent axes keeps meaning "all" for Squeeze and the reductions.)
adapt(['Squeeze', 'Unsqueeze', 'ReduceSum'], 13, (n, b) => (intsAttrToInput(b, n, 'axes', 1), n));
adapt(
  ['ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'],
  18,
  (n, b) => (intsAttrToInput(b, n, 'axes', 1), n),
);

// DFT before 20: axis (default 1) was an attribute; it is input 2 since (default -2 there).
adapt('DFT', 20, (n, b) => {
  const axis = takeInt(n, 'axis') ?? 1;
  setInput(n, 2, int64Const(b, [axis], []));
  return n;
});

// ---- changed semantics ----

// Softmax/LogSoftmax/Hardmax before 13 coerced the input to 2-D [prod(d0..axis-1),
// prod(axis..)] (axis default 1) and normalised whole rows; from 13 they work along one axis
// (default -1). When `axis` is known to be the last dim the two agree; otherwise we emit the
// coercion explicitly: Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)).
adapt(['Softmax', 'LogSoftmax', 'Hardmax'], 13, (n, b) => {
  const axis = takeInt(n, 'axis') ?? 1;
  const x = n.inputs[0];
  const rank = b.rank(x);
  const normalized = rank !== undefined && axis < 0 ? axis + rank : axis;
  if (rank !== undefined && normalized === rank - 1) {
    n.attrs.set('axis', intAttr(-1));
    return n;
  }
  const flat = b.node('Flatten', [x], { axis: intAttr(axis) })[0];
  const y = b.node(n.opType as 'Softmax', [flat], { axis: intAttr(-1) })[0];
  b.node('Reshape', [y, b.node('Shape', [x])[0]], {}, [n.outputs[0]!]);
  return undefined;
});

// Upsample (7-10; removed in 11) is Resize with asymmetric coordinates, and for nearest mode
// floor rounding (x_in = floor(x_out / scale)). Opset 7 had scales as an attribute.
adapt('Upsample', ALWAYS, (n, b) => {
  const mode = n.attrs.get('mode');
  const linear = mode?.kind === 'string' && (mode.value === 'linear' || mode.value === 'bilinear');
  const scalesAttr = takeFloats(n, 'scales');
  const scales = scalesAttr ? float32Const(b, scalesAttr) : n.inputs[1];
  return {
    ...n,
    opType: 'Resize',
    inputs: [n.inputs[0], undefined, scales],
    attrs: new Map([
      ['mode', stringAttr(linear ? 'linear' : 'nearest')],
      ['coordinate_transformation_mode', stringAttr('asymmetric')],
      ...(linear ? [] : ([['nearest_mode', stringAttr('floor')]] as const)),
    ]),
  };
});

// Resize 10 had inputs (X, scales) and computed like Upsample: asymmetric coordinates; nearest
// rounds down when upsampling and up when downsampling (onnxruntime's and the reference
// implementation's behaviour), so we pick floor or ceil from constant scales.
adapt('Resize', 11, (n) => {
  const [x, scales] = n.inputs;
  const s = scales?.const?.toNumbers();
  const downsampling = s !== undefined && s.length > 0 && s.every((v) => v <= 1) && s.some((v) => v < 1);
  n.inputs = [x, undefined, scales];
  n.attrs.set('coordinate_transformation_mode', stringAttr('asymmetric'));
  const mode = n.attrs.get('mode');
  if (mode?.kind !== 'string' || mode.value === 'nearest') n.attrs.set('nearest_mode', stringAttr(downsampling ? 'ceil' : 'floor'));
  return n;
});
// Resize 11 required roi and scales inputs (empty tensors when unused); from 13 they may be
// absent, which is the canonical form.
adapt('Resize', 13, (n) => {
  for (const i of [1, 2]) {
    const v = n.inputs[i];
    if (v?.const && v.const.size === 0) n.inputs[i] = undefined;
  }
  return n;
});

// Scatter (9-10, removed in 11) is ScatterElements under its old name.
adapt('Scatter', ALWAYS, (n) => ({ ...n, opType: 'ScatterElements' }));

// RoiAlign before 16 behaved as coordinate_transformation_mode='output_half_pixel'; 16 added
// the attribute with default 'half_pixel'.
adapt('RoiAlign', 16, (n) => {
  if (!n.attrs.has('coordinate_transformation_mode')) n.attrs.set('coordinate_transformation_mode', stringAttr('output_half_pixel'));
  return n;
});

// GridSample before 20 named its modes 'bilinear'/'bicubic' (default bilinear); 20 renamed them.
adapt('GridSample', 20, (n) => {
  const mode = n.attrs.get('mode');
  const old = mode?.kind === 'string' ? mode.value : 'bilinear';
  n.attrs.set('mode', stringAttr(old === 'bilinear' ? 'linear' : old === 'bicubic' ? 'cubic' : old));
  return n;
});

// GroupNormalization 18 took scale and bias per group ([G]); 21 takes them per channel ([C]).
// Each group's value is repeated over its C/G channels: Reshape([G,1]) -> Expand([G, C/G]) ->
// Reshape([-1]).
adapt('GroupNormalization', 21, (n, b) => {
  const groups = n.attrs.get('num_groups');
  if (groups?.kind !== 'int') throw b.fail('GroupNormalization needs num_groups');
  const g = groups.value;
  const x = n.inputs[0];
  const channels = b.node('Shape', [x], { start: intAttr(1), end: intAttr(2) })[0]!;
  const perGroup = b.node('Div', [channels, int64Const(b, [g])])[0]!;
  const target = b.node('Concat', [int64Const(b, [g]), perGroup], { axis: intAttr(0) })[0]!;
  const spread = (p: Value | undefined) => {
    const col = b.node('Reshape', [p, int64Const(b, [g, 1])])[0];
    return b.node('Reshape', [b.node('Expand', [col, target])[0], int64Const(b, [-1])])[0];
  };
  n.inputs = [x, spread(n.inputs[1]), spread(n.inputs[2])];
  return n;
});

// Scan 8 took an optional sequence_lens input and a leading batch axis on every state and scan
// input; 9 dropped both. With no sequence_lens and a batch of 1 the old form is the new one
// between Squeeze(axis 0) and Unsqueeze(axis 0); anything else has no opset-9 equivalent short
// of a Loop over the batch, which we do not build.
adapt('Scan', 9, (n, b) => {
  const [seqLens, ...rest] = n.inputs;
  const batchOfOne = rest.every((v) => v?.const?.shape[0] === 1 || (v?.kind === 'tensor' && v.shape?.[0] === 1));
  if (seqLens || !batchOfOne) {
    throw b.fail('Scan before opset 9 (batched form) is supported only without sequence_lens and with a batch of 1', 'Re-export the model with opset 9 or later.');
  }
  const axis0 = int64Const(b, [0]);
  const inputs = rest.map((v) => b.node('Squeeze', [v, axis0])[0]);
  const attrs: Record<string, Attr> = {};
  for (const [k, a] of n.attrs) attrs[k === 'directions' ? 'scan_input_directions' : k] = a;
  const outs = b.node('Scan', inputs, attrs, n.outputs.length);
  outs.forEach((v, i) => b.node('Unsqueeze', [v, axis0], {}, [n.outputs[i]!]));
  return undefined;
});

// ImageScaler (experimental, removed in opset 10): y = x * scale + bias[c] over NCHW.
adapt('ImageScaler', ALWAYS, (n, b) => {
  const scale = takeFloat(n, 'scale') ?? 1;
  const bias = takeFloats(n, 'bias') ?? [];
  const x = n.inputs[0]!;
  const scaled = b.node('Mul', [x, constLike(b, x, [scale])])[0]!;
  b.node('Add', [scaled, constLike(b, x, bias, [1, bias.length, 1, 1])], {}, [n.outputs[0]!]);
  return undefined;
});

/**
 * Bring one ai.onnx node from opset `b.opsetVersion` to its opset-21 form. Returns the form to
 * emit, or undefined when the adapters emitted the replacement themselves.
 */
export function upgradeNode(n: OnnxNodeForm, b: UpgradeBuilder): OnnxNodeForm | undefined {
  // consumed_inputs (opsets 1-5, many ops) only described in-place buffer reuse.
  if (b.opsetVersion < 7) n.attrs.delete('consumed_inputs');
  let form: OnnxNodeForm | undefined = n;
  for (const adapter of table.get(n.opType) ?? []) {
    if (b.opsetVersion >= adapter.below) continue;
    form = adapter.rewrite(form, b);
    if (!form) return undefined;
    if (form.opType !== n.opType) break; // renamed to a current op (Upsample -> Resize)
  }
  return form;
}

/** Ops whose forms this table rewrites (for tests and documentation). */
export const upgradedOps = (): string[] => [...table.keys()].sort();

/** A note for models newer than the canonical opset. */
export function newerOpsetWarning(version: number, file: string | undefined): Diagnostic {
  return warning(
    'OPSET_UNSUPPORTED',
    `the model uses ai.onnx opset ${version}, newer than ${CANONICAL_OPSET}; ops are read with their opset-${CANONICAL_OPSET} meaning`,
    file !== undefined ? { file } : undefined,
    'Check the results, or re-export the model at opset 21.',
  );
}
