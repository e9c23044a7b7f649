// Ops that run subgraphs: If, Loop, Scan, SequenceMap. They run over general runtime values
// (tensors, sequences, empty optionals) through ctx.runSubgraph; values a body captures from
// enclosing graphs are resolved by the executor. Their inference is best effort: it reads the
// types that inference already gave the subgraphs' outputs.

import type { Dim, Graph, Node, Shape, Value } from '../../graph.js';
import type { InferContext, OpDef, RuntimeValue, TypeInfo } from '../../opdef.js';
import { Tensor, sizeOf } from '../../tensor.js';
import { badInput, copyRange, isStatic, unsupported } from './layout.js';

function subgraph(node: Node, name: string): Graph {
  const g = node.attrGraph(name);
  if (!g) badInput(node, `missing subgraph attribute '${name}'`);
  return g;
}

function tensorArg(node: Node, v: RuntimeValue | undefined, what: string): Tensor {
  if (!(v instanceof Tensor)) badInput(node, `${what} must be a tensor`);
  return v;
}

/** Type of a subgraph output as inference left it (tensors only; sequences carry no type here). */
function typeOf(v: Value | undefined): TypeInfo {
  return v && v.kind === 'tensor' ? { dtype: v.dtype, shape: v.shape } : {};
}

/** The type both of two values fit: equal dims kept, differing dims made fresh. */
function joinTypes(a: TypeInfo, b: TypeInfo, ctx: InferContext): TypeInfo {
  const dtype = a.dtype === b.dtype ? a.dtype : undefined;
  if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return { dtype };
  return { dtype, shape: a.shape.map((d, i) => (d === b.shape![i] ? d : ctx.freshDim('branch'))) };
}

// ---- If ----

const ifOp: OpDef = {
  op: 'If',
  infer(node, _inputs, ctx) {
    const thenG = subgraph(node, 'then_branch');
    const elseG = subgraph(node, 'else_branch');
    if (thenG.outputs.length !== elseG.outputs.length || thenG.outputs.length !== node.outputs.length) {
      badInput(node, `branches have ${thenG.outputs.length} and ${elseG.outputs.length} outputs; the node has ${node.outputs.length}`);
    }
    return node.outputs.map((_, i) => joinTypes(typeOf(thenG.outputs[i]), typeOf(elseG.outputs[i]), ctx));
  },
  runValues(node, [cond], ctx) {
    const c = tensorArg(node, cond, 'cond');
    return ctx.runSubgraph(subgraph(node, c.get(0) ? 'then_branch' : 'else_branch'), []);
  },
};

// ---- Stacking per-iteration tensors (Loop and Scan outputs) ----

/** Stack equally shaped tensors along a new axis. `elemShape` is used when there are none. */
function stack(node: Node, parts: readonly Tensor[], axis: number, fallback: { dtype?: Tensor['dtype']; shape?: Shape }): Tensor {
  if (parts.length === 0) {
    const shape = isStatic(fallback.shape) ? fallback.shape : [];
    const s = [...shape];
    s.splice(axis, 0, 0);
    return Tensor.zeros(fallback.dtype ?? 'float32', s);
  }
  const first = parts[0]!;
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape.join() !== first.shape.join()) {
      badInput(node, `per-iteration outputs differ: [${p.shape.join(',')}] vs [${first.shape.join(',')}]`);
    }
  }
  const shape = [...first.shape];
  shape.splice(axis, 0, parts.length);
  const out = Tensor.zeros(first.dtype, shape);
  const outer = sizeOf(first.shape.slice(0, axis));
  const inner = sizeOf(first.shape.slice(axis));
  parts.forEach((p, t) => {
    for (let o = 0; o < outer; o++) copyRange(p.data, o * inner, inner, out.data, (o * parts.length + t) * inner);
  });
  return out;
}

/** Slice index t of `x` along `axis`, dropping the axis. */
function sliceAt(x: Tensor, axis: number, t: number): Tensor {
  const n = x.shape[axis]!;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const out = Tensor.zeros(x.dtype, [...x.shape.slice(0, axis), ...x.shape.slice(axis + 1)]);
  for (let o = 0; o < outer; o++) copyRange(x.data, (o * n + t) * inner, inner, out.data, o * inner);
  return out;
}

// ---- Loop ----

const loop: OpDef = {
  op: 'Loop',
  infer(node, inputs, ctx) {
    const body = subgraph(node, 'body');
    const carried = inputs.length - 2;
    return node.outputs.map((_, i) => {
      const out = typeOf(body.outputs[i + 1]);
      if (i < carried) return joinTypes(inputs[i + 2] ?? {}, out, ctx);
      return { dtype: out.dtype, shape: out.shape && [ctx.freshDim('iterations'), ...out.shape] };
    });
  },
  runValues(node, [maxTrip, condIn, ...initial], ctx) {
    const body = subgraph(node, 'body');
    const nCarried = initial.length;
    if (body.inputs.length !== nCarried + 2 || body.outputs.length < nCarried + 1) {
      badInput(node, `body takes ${body.inputs.length} inputs and gives ${body.outputs.length} outputs for ${nCarried} loop-carried values`);
    }
    const limit = maxTrip === undefined ? Infinity : tensorArg(node, maxTrip, 'M').get(0);
    // Without a cond input the body's cond output is ignored (ONNX: "for (i = 0; i < M; ++i)").
    const useCond = condIn !== undefined;
    let cond = useCond ? tensorArg(node, condIn, 'cond').get(0) !== 0 : true;
    if (limit === Infinity && !useCond) unsupported(node, 'Loop with neither a trip count nor a condition never ends');
    let carried: RuntimeValue[] = initial.map((v) => v ?? null);
    const scans: Tensor[][] = body.outputs.slice(nCarried + 1).map(() => []);
    for (let i = 0; i < limit && cond; i++) {
      const outs = ctx.runSubgraph(body, [Tensor.int64([i], []), Tensor.scalar('bool', cond), ...carried]);
      if (useCond) cond = tensorArg(node, outs[0], 'body cond output').get(0) !== 0;
      carried = outs.slice(1, nCarried + 1);
      scans.forEach((s, j) => s.push(tensorArg(node, outs[nCarried + 1 + j], 'scan output')));
    }
    const scanOuts = scans.map((parts, j) => stack(node, parts, 0, typeOf(body.outputs[nCarried + 1 + j])));
    return [...carried, ...scanOuts];
  },
};

// ---- Scan ----

interface ScanLayout {
  nState: number;
  nScanIn: number;
  inAxes: number[];
  inReverse: boolean[];
  outAxes: number[];
  outReverse: boolean[];
}

function scanLayout(node: Node, nInputs: number, inRanks: readonly (number | undefined)[]): ScanLayout {
  const body = subgraph(node, 'body');
  const nScanIn = node.attrInt('num_scan_inputs');
  if (nScanIn === undefined || nScanIn > nInputs) badInput(node, 'num_scan_inputs is missing or too large');
  const nState = nInputs - nScanIn;
  const nScanOut = body.outputs.length - nState;
  const axes = (name: string, n: number, ranks: (number | undefined)[]) =>
    (node.attrInts(name) ?? new Array<number>(n).fill(0)).map((a, i) => (a < 0 && ranks[i] !== undefined ? a + ranks[i]! : a));
  const outRanks = body.outputs.slice(nState).map((v) => (v.shape ? v.shape.length + 1 : undefined));
  return {
    nState,
    nScanIn,
    inAxes: axes('scan_input_axes', nScanIn, inRanks.slice(nState) as (number | undefined)[]),
    inReverse: (node.attrInts('scan_input_directions') ?? []).map((d) => d === 1).concat(new Array<boolean>(nScanIn).fill(false)).slice(0, nScanIn),
    outAxes: axes('scan_output_axes', nScanOut, outRanks),
    outReverse: (node.attrInts('scan_output_directions') ?? []).map((d) => d === 1).concat(new Array<boolean>(nScanOut).fill(false)).slice(0, nScanOut),
  };
}

const scan: OpDef = {
  op: 'Scan',
  infer(node, inputs, ctx) {
    const body = subgraph(node, 'body');
    const layout = scanLayout(node, inputs.length, inputs.map((t) => t?.shape?.length));
    const firstScan = inputs[layout.nState]?.shape;
    const axis0 = layout.inAxes[0] ?? 0;
    const steps: Dim = firstScan?.[axis0] ?? ctx.freshDim('steps');
    return node.outputs.map((_, i) => {
      const out = typeOf(body.outputs[i]);
      if (i < layout.nState) return joinTypes(inputs[i] ?? {}, out, ctx);
      if (!out.shape) return { dtype: out.dtype };
      const shape: Dim[] = [...out.shape];
      shape.splice(layout.outAxes[i - layout.nState] ?? 0, 0, steps);
      return { dtype: out.dtype, shape };
    });
  },
  runValues(node, inputs, ctx) {
    const body = subgraph(node, 'body');
    const tensors = inputs.map((v, i) => tensorArg(node, v, `input ${i}`));
    const layout = scanLayout(node, inputs.length, tensors.map((t) => t.rank));
    const scanIns = tensors.slice(layout.nState);
    const lengths = scanIns.map((x, j) => x.shape[layout.inAxes[j]!]!);
    if (lengths.some((n) => n !== lengths[0])) badInput(node, `scan inputs have different lengths: ${lengths.join(', ')}`);
    const steps = lengths[0] ?? 0;
    let state: RuntimeValue[] = tensors.slice(0, layout.nState);
    const nOut = body.outputs.length - layout.nState;
    const parts: Tensor[][] = Array.from({ length: nOut }, () => []);
    for (let t = 0; t < steps; t++) {
      const slices = scanIns.map((x, j) => sliceAt(x, layout.inAxes[j]!, layout.inReverse[j] ? steps - 1 - t : t));
      const outs = ctx.runSubgraph(body, [...state, ...slices]);
      state = outs.slice(0, layout.nState);
      parts.forEach((p, k) => p.push(tensorArg(node, outs[layout.nState + k], 'scan output')));
    }
    const scanOuts = parts.map((p, k) =>
      stack(node, layout.outReverse[k] ? [...p].reverse() : p, layout.outAxes[k]!, typeOf(body.outputs[layout.nState + k])),
    );
    return [...state, ...scanOuts];
  },
};

// ---- SequenceMap ----

const sequenceMap: OpDef = {
  op: 'SequenceMap',
  infer(node) {
    return node.outputs.map(() => ({}));
  },
  runValues(node, [seq, ...extra], ctx) {
    const body = subgraph(node, 'body');
    if (!Array.isArray(seq)) badInput(node, 'input_sequence must be a sequence');
    for (const e of extra) {
      if (Array.isArray(e) && e.length !== seq.length) badInput(node, 'additional sequences must have the length of the first');
    }
    const outs: Tensor[][] = body.outputs.map(() => []);
    seq.forEach((x, i) => {
      const args = extra.map((e) => (Array.isArray(e) ? e[i]! : e ?? null));
      ctx.runSubgraph(body, [x, ...args]).forEach((r, k) => outs[k]!.push(tensorArg(node, r, 'body output')));
    });
    return outs;
  },
};

export const controlDefs: OpDef[] = [ifOp, loop, scan, sequenceMap];
