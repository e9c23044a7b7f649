// Lowering rules for the tensor ops of transformer blocks (kernels in tensor-kernels.ts):
// LayerNormalization, RMSNorm, Softmax (last axis), MatMul of two computed tensors (batched),
// Gather (embedding lookup), Split, Slice (one axis, step 1), Concat, Transpose, Expand, Sub,
// Mul, Div (any broadcast: a scalar or trailing operand repeats in the kernel, others are
// expanded first; Add too when both operands are computed and of different shapes), Where, Neg, Sigmoid, Tanh, Cast (int64 ids to float32). Every operand is
// read row-major; constants that must match the output's size are broadcast at build time.

import type { Node, Value } from '../ir/graph.js';
import { Op } from '../ir/ops.js';
import { sizeOf, stridesOf } from '../ir/tensor.js';
import { broadcastTo } from './build-schedule.js';
import type { BufferRole, Kernel } from './schedule.js';
import type { BinaryFn, TensorKernel } from './tensor-kernels.js';

/** What the rules need from the schedule builder. */
export interface TensorOpBuilder {
  readonly kernels: Kernel[];
  newBuffer(name: string, shape: readonly number[], role: BufferRole, transposed?: boolean, data?: Float32Array, dtype?: 'int64'): number;
  bind(v: Value, view: 'rm', buffer: number): void;
  get(v: Value, view: 'rm'): number;
  output(node: Node, view: 'rm'): number;
}

export const TENSOR_OPS: ReadonlySet<Op> = new Set([
  Op.LayerNormalization, Op.RMSNorm, Op.Softmax, Op.MatMul, Op.Gather, Op.Split, Op.Slice, Op.Concat,
  Op.Transpose, Op.Expand, Op.Sub, Op.Mul, Op.Div, Op.Where, Op.Neg, Op.Sigmoid, Op.Tanh, Op.Cast,
  Op.TopK, Op.ReduceSum, Op.ScatterElements,
]);

/** An Add the elementwise rule cannot take: two computed operands of different shapes. */
export function isBroadcastAdd(node: Node): boolean {
  const [a, b] = node.inputs;
  return node.op === Op.Add && !a!.const && !b!.const && a!.staticShape!.join() !== b!.staticShape!.join();
}

const BINARY: Partial<Record<Op, BinaryFn>> = { [Op.Add]: 'add', [Op.Sub]: 'sub', [Op.Mul]: 'mul', [Op.Div]: 'div' };

/** Inputs that are parameters (shapes, axes, sizes, masks), not tensors the kernel computes on. */
const PARAM_INPUTS: Partial<Record<Op, readonly number[]>> = {
  [Op.Split]: [1], [Op.Slice]: [1, 2, 3, 4], [Op.Expand]: [1], [Op.Where]: [0], [Op.Gather]: [1], [Op.Cast]: [0], [Op.TopK]: [1], [Op.ReduceSum]: [1], [Op.ScatterElements]: [1],
};

const shapeOf = (v: Value) => v.staticShape!;
const axisOf = (node: Node, rank: number, def: number) => {
  const a = node.attrInt('axis', def);
  return a < 0 ? a + rank : a;
};
const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** `shape` without leading 1s is a suffix of `out`: its elements repeat along `out`. */
function isTrailing(shape: readonly number[], out: readonly number[]): boolean {
  const core = shape.slice(shape.findIndex((d) => d !== 1) === -1 ? shape.length : shape.findIndex((d) => d !== 1));
  return core.length <= out.length && core.every((d, i) => d === out[out.length - core.length + i]);
}

/** Why `node` (an op in TENSOR_OPS) cannot be lowered, or undefined. */
export function tensorOpReason(node: Node): string | undefined {
  const params = PARAM_INPUTS[node.op] ?? [];
  // TopK's second output is its int64 indices (read by ScatterElements).
  const outputs = node.op === Op.TopK ? node.outputs.slice(0, 1) : node.outputs;
  const data = [...node.inputs.filter((v, i) => v !== undefined && !params.includes(i)), ...outputs.filter((v) => v.uses.length > 0 || v.graph.outputs.includes(v))];
  const bad = data.find((v) => v!.dtype !== 'float32');
  if (bad) return `${bad.dtype ?? 'unknown'} tensor '${bad.name}', only float32 is lowered`;
  const [x, p] = node.inputs;
  const out = shapeOf(node.outputs[0]!);
  switch (node.op) {
    case Op.LayerNormalization: case Op.RMSNorm: {
      const cols = product(shapeOf(x!).slice(axisOf(node, shapeOf(x!).length, -1)));
      const ok = node.inputs.slice(1).every((v) => v === undefined || (v.const && sizeOf(shapeOf(v)) === cols));
      if (!ok) return 'scale or bias not constant, or not of the normalized shape';
      if (node.outputs.slice(1).some((v) => v.uses.length > 0 || v.isGraphOutput)) return 'mean or inverse deviation output used';
      return undefined;
    }
    case Op.TopK:
      // The runtime returns float32 outputs only.
      if (node.outputs[1]?.isGraphOutput) return 'TopK indices as a graph output (int64)';
      if (!p!.const || axisOf(node, out.length, -1) !== out.length - 1 || node.attrInt('largest', 1) !== 1) return 'TopK other than the k largest along the last axis';
      return undefined;
    case Op.ReduceSum: {
      const rank = shapeOf(x!).length;
      const axes = p?.const ? p.const.toNumbers().map((a) => (a < 0 ? a + rank : a)).sort() : undefined;
      const trailing = axes !== undefined && axes.length > 0 && axes.every((a, i) => a === rank - axes.length + i);
      return trailing && node.attrInt('noop_with_empty_axes', 0) === 0 ? undefined : 'ReduceSum other than over trailing axes';
    }
    case Op.ScatterElements: {
      const idx = node.inputs[1]!;
      if (axisOf(node, out.length, 0) !== out.length - 1 || node.attrString('reduction', 'none') !== 'none') return 'ScatterElements other than along the last axis without reduction';
      return idx.dtype === 'int64' && idx.producer?.op === Op.TopK ? undefined : 'ScatterElements indices not from a TopK';
    }
    case Op.Softmax:
      return axisOf(node, out.length, -1) === out.length - 1 ? undefined : 'softmax over an axis other than the last';
    case Op.MatMul: {
      const [a, b] = [shapeOf(x!), shapeOf(p!)];
      if (a.length < 2 || b.length < 2) return 'MatMul of a vector';
      const batch = product(out.slice(0, -2));
      const ok = (s: readonly number[]) => product(s.slice(0, -2)) === 1 || s.slice(0, -2).join() === out.slice(0, -2).join();
      return batch > 0 && ok(a) && ok(b) ? undefined : 'MatMul with a partial batch broadcast';
    }
    case Op.Gather:
      if (p!.const) return x!.const ? 'Gather of constants (not folded)' : undefined;
      if (!x!.const || axisOf(node, shapeOf(x!).length, 0) !== 0) return 'Gather by computed ids other than rows of a constant table';
      return p!.dtype === 'int64' && !p!.producer ? undefined : 'Gather indices other than an int64 model input';
    case Op.Cast:
      return x!.const || (x!.dtype !== 'int64' && x!.dtype !== 'float32') ? `Cast from ${x!.dtype ?? 'unknown'}` : undefined;
    case Op.Split: case Op.Slice: case Op.Expand:
      if (node.inputs.slice(1).some((v) => v !== undefined && !v.const)) return 'sizes, starts or shape not constant';
      if (node.op === Op.Slice) {
        const steps = node.inputs[4]?.const;
        if (steps && [...steps.toNumbers()].some((s) => s !== 1)) return 'Slice with a step other than 1';
        if (shapeOf(x!).filter((d, i) => d !== out[i]).length > 1) return 'Slice along more than one axis';
      }
      return undefined;
    case Op.Where:
      return x!.const ? undefined : 'Where with a computed condition';
    default:
      return undefined;
  }
}

/** A constant's contents as f32 (bool and integer masks become 0 / 1 and numbers). */
function constFloats(v: Value): Float32Array {
  const t = v.const!;
  return t.dtype === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.toNumbers());
}

/** The buffer of `v` at the output's full size: constants broadcast at build time. */
function full(b: TensorOpBuilder, node: Node, v: Value): number {
  const out = shapeOf(node.outputs[0]!);
  if (!v.const || (sizeOf(shapeOf(v)) === sizeOf(out) && v.const.dtype === 'float32')) return b.get(v, 'rm');
  return b.newBuffer(`${v.name}_broadcast`, out, 'const', false, broadcastTo(constFloats(v), shapeOf(v), out));
}

/** Element strides of `shape` read as the broadcast shape `out` (0 along broadcast axes). */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
  const strides = stridesOf(padded);
  return padded.map((d, i) => (d === 1 ? 0 : strides[i]!));
}

/** `v` broadcast to the output's shape: constants at build time, computed tensors by a strided copy. */
function expanded(b: TensorOpBuilder, node: Node, v: Value): number {
  if (v.const) return full(b, node, v);
  const out = shapeOf(node.outputs[0]!);
  const y = b.newBuffer(`${v.name}_broadcast`, out, 'temp');
  b.kernels.push({ op: 'strided', ins: [b.get(v, 'rm')], y, shape: out, inStrides: broadcastStrides(shapeOf(v), out) });
  return y;
}

export function lowerTensorOp(b: TensorOpBuilder, node: Node): void {
  const push = (k: TensorKernel) => b.kernels.push(k);
  const [x, p] = node.inputs as Value[];
  const out = shapeOf(node.outputs[0]!);
  switch (node.op) {
    case Op.LayerNormalization: case Op.RMSNorm: {
      const shape = shapeOf(x!);
      const axis = axisOf(node, shape.length, -1);
      const bias = node.op === Op.LayerNormalization && node.inputs[2] !== undefined;
      const ins = [b.get(x!, 'rm'), b.get(p!, 'rm'), ...(bias ? [b.get(node.inputs[2]!, 'rm')] : [])];
      const rms = node.op === Op.RMSNorm;
      push({ op: 'norm', ins, y: b.output(node, 'rm'), rows: product(shape.slice(0, axis)), cols: product(shape.slice(axis)), epsilon: node.attrFloat('epsilon', 1e-5), rms, bias });
      return;
    }
    case Op.TopK: {
      const cols = shapeOf(x!)[out.length - 1]!;
      const k = out[out.length - 1]!;
      const rows = sizeOf(out) / Math.max(k, 1);
      const xb = b.get(x!, 'rm');
      push({ op: 'topk', ins: [xb], y: b.output(node, 'rm'), rows, cols, k, indices: false });
      const idx = node.outputs[1];
      if (idx && idx.uses.length > 0) {
        const y = b.newBuffer(idx.name, out, 'temp', false, undefined, 'int64');
        b.bind(idx, 'rm', y);
        push({ op: 'topk', ins: [xb], y, rows, cols, k, indices: true });
      }
      return;
    }
    case Op.ReduceSum:
      push({ op: 'row-sum', ins: [b.get(x!, 'rm')], y: b.output(node, 'rm'), rows: sizeOf(out), cols: sizeOf(shapeOf(x!)) / Math.max(sizeOf(out), 1) });
      return;
    case Op.ScatterElements: {
      const [idx, upd] = [node.inputs[1]!, node.inputs[2]!];
      const cols = out[out.length - 1]!;
      push({ op: 'scatter-rows', ins: [b.get(x!, 'rm'), b.get(idx, 'rm'), b.get(upd, 'rm')], y: b.output(node, 'rm'), rows: sizeOf(out) / cols, cols, k: shapeOf(idx)[out.length - 1]! });
      return;
    }
    case Op.Softmax:
      push({ op: 'softmax', ins: [b.get(x!, 'rm')], y: b.output(node, 'rm'), cols: out[out.length - 1]!, rows: sizeOf(out) / out[out.length - 1]! });
      return;
    case Op.MatMul: {
      const [sa, sb] = [shapeOf(x!), shapeOf(p!)];
      const [M, K, N] = [sa[sa.length - 2]!, sa[sa.length - 1]!, sb[sb.length - 1]!];
      const stride = (s: readonly number[]) => (product(s.slice(0, -2)) === 1 ? 0 : s[s.length - 2]! * s[s.length - 1]!);
      push({ op: 'batch-matmul', ins: [b.get(x!, 'rm'), b.get(p!, 'rm')], y: b.output(node, 'rm'), batch: product(out.slice(0, -2)), M, K, N, aStride: stride(sa), bStride: stride(sb) });
      return;
    }
    case Op.Gather: {
      if (p!.const) return gatherConst(b, node);
      const table = shapeOf(x!);
      push({ op: 'gather', ins: [b.get(x!, 'rm'), b.get(p!, 'rm')], y: b.output(node, 'rm'), count: sizeOf(shapeOf(p!)), rows: table[0]!, cols: product(table.slice(1)) });
      return;
    }
    case Op.Split: {
      const shape = shapeOf(x!);
      const axis = axisOf(node, shape.length, 0);
      const inner = product(shape.slice(axis + 1));
      const xb = b.get(x!, 'rm');
      let start = 0;
      for (const v of node.outputs) {
        const len = shapeOf(v)[axis]!;
        const y = b.newBuffer(v.name, shapeOf(v), 'temp');
        b.bind(v, 'rm', y);
        if (len > 0) push(sliceCopy(xb, y, shape, axis, start, len, inner));
        start += len;
      }
      return;
    }
    case Op.Slice: {
      const shape = shapeOf(x!);
      const axis = Math.max(0, shape.findIndex((d, i) => d !== out[i]));
      const y = b.output(node, 'rm');
      if (sizeOf(out) === 0) return;
      push(sliceCopy(b.get(x!, 'rm'), y, shape, axis, sliceStart(node, axis, shape[axis]!), out[axis]!, product(shape.slice(axis + 1))));
      return;
    }
    case Op.Concat: {
      const axis = axisOf(node, out.length, 0);
      const inner = product(out.slice(axis + 1));
      const y = b.output(node, 'rm');
      let at = 0;
      for (const v of node.inputs) {
        const len = shapeOf(v!)[axis]!;
        const chunk = len * inner;
        if (chunk > 0) push({ op: 'block-copy', ins: [b.get(v!, 'rm')], y, outer: product(out.slice(0, axis)), chunk, xOffset: 0, xStride: chunk, yOffset: at * inner, yStride: out[axis]! * inner });
        at += len;
      }
      return;
    }
    case Op.Transpose: {
      const shape = shapeOf(x!);
      const perm = node.attrInts('perm', shape.map((_, i) => shape.length - 1 - i));
      const strides = stridesOf(shape);
      push({ op: 'strided', ins: [b.get(x!, 'rm')], y: b.output(node, 'rm'), shape: out, inStrides: perm.map((a) => strides[a]!) });
      return;
    }
    case Op.Expand:
      push({ op: 'strided', ins: [b.get(x!, 'rm')], y: b.output(node, 'rm'), shape: out, inStrides: broadcastStrides(shapeOf(x!), out) });
      return;
    case Op.Add: case Op.Sub: case Op.Mul: case Op.Div: {
      const size = sizeOf(out);
      const whole = (v: Value) => sizeOf(shapeOf(v)) === size;
      // `a` is the full-size operand; b repeats along it (or is broadcast at build time).
      const swap = !whole(x!) && (whole(p!) || !x!.const);
      const [a, c] = swap ? [p!, x!] : [x!, p!];
      const ab = whole(a) ? b.get(a, 'rm') : expanded(b, node, a);
      const repeats = isTrailing(shapeOf(c), out);
      const cb = whole(c) || repeats ? b.get(c, 'rm') : expanded(b, node, c);
      push({ op: 'binary', fn: BINARY[node.op]!, ins: [ab, cb], y: b.output(node, 'rm'), size, bSize: whole(c) || !repeats ? size : sizeOf(shapeOf(c)), swap });
      return;
    }
    case Op.Where:
      push({ op: 'where', ins: node.inputs.map((v) => (v!.const || sizeOf(shapeOf(v!)) === sizeOf(out) ? full(b, node, v!) : expanded(b, node, v!))), y: b.output(node, 'rm'), size: sizeOf(out) });
      return;
    case Op.Neg: case Op.Sigmoid: case Op.Tanh: case Op.Cast: {
      const fn = node.op === Op.Neg ? 'neg' : node.op === Op.Sigmoid ? 'sigmoid' : node.op === Op.Tanh ? 'tanh' : x!.dtype === 'int64' ? 'from-int64' : 'copy';
      push({ op: 'map', fn, ins: [b.get(x!, 'rm')], y: b.output(node, 'rm'), size: sizeOf(out) });
      return;
    }
    default:
      throw new Error(`no tensor-op rule for ${node.op}`);
  }
}

/** Gather of a computed tensor at constant indices: one block copy per index. */
function gatherConst(b: TensorOpBuilder, node: Node): void {
  const [x, p] = node.inputs as [Value, Value];
  const shape = shapeOf(x);
  const axis = axisOf(node, shape.length, 0);
  const inner = product(shape.slice(axis + 1));
  const indices = p.const!.toNumbers().map((i) => (i < 0 ? i + shape[axis]! : i));
  const xb = b.get(x, 'rm');
  const y = b.output(node, 'rm');
  indices.forEach((i, j) => {
    if (inner > 0) {
      b.kernels.push({ op: 'block-copy', ins: [xb], y, outer: product(shape.slice(0, axis)), chunk: inner, xOffset: i * inner, xStride: shape[axis]! * inner, yOffset: j * inner, yStride: indices.length * inner });
    }
  });
}

/** Copy `len` entries along `axis` from `start` of x (of `shape`) into the whole of y. */
function sliceCopy(x: number, y: number, shape: readonly number[], axis: number, start: number, len: number, inner: number): TensorKernel {
  const chunk = len * inner;
  return { op: 'block-copy', ins: [x], y, outer: product(shape.slice(0, axis)), chunk, xOffset: start * inner, xStride: shape[axis]! * inner, yOffset: 0, yStride: chunk };
}

/** The first index Slice takes along `axis` (negative starts count from the end, clamped). */
function sliceStart(node: Node, axis: number, dim: number): number {
  const starts = [...node.inputs[1]!.const!.toNumbers()];
  const axes = node.inputs[3]?.const ? [...node.inputs[3].const.toNumbers()] : starts.map((_, i) => i);
  const rank = node.inputs[0]!.staticShape!.length;
  const i = axes.findIndex((a) => (a < 0 ? a + rank : a) === axis);
  if (i < 0) return 0;
  const s = starts[i]!;
  return Math.min(Math.max(s < 0 ? s + dim : s, 0), dim);
}
