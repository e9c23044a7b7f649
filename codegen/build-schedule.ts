// Graph (static shapes, canonical ops) -> kernel schedule. Each IR value maps to buffers by
// layout: row-major, or transposed ([rows, cols] stored as [cols, rows], tokens contiguous),
// which is what the sparse kernels read and write for more than one token. A consumer asks
// for the layout it needs and a transpose kernel is added only when that view does not exist
// yet; elementwise ops keep whatever layout their input has, so a chain of sparse layers with
// activations between them stays transposed. Shape-only ops alias their input's buffer.

import { error, type Diagnostic } from '../ir/diagnostics.js';
import type { Model, Node, Value } from '../ir/graph.js';
import { Op } from '../ir/ops.js';
import { sizeOf } from '../ir/tensor.js';
import { isBroadcastAdd, lowerTensorOp, TENSOR_OPS } from './build-tensor-ops.js';
import { handlesCnnOp, lowerCnnOp } from './build-cnn-ops.js';
import { chooseLayout } from './layout.js';
import type { Buffer, BufferRole, FormatOption, Kernel, LayerChoice, ModelIO, Schedule, WeightLayout } from './schedule.js';
import { NO_EPILOGUE } from './wasm/kernels/epilogue.js';

type View = 'rm' | 'tr';

/** Ops that only change the shape: their output is their input's row-major buffer. */
export const ALIAS_OPS: ReadonlySet<Op> = new Set([Op.Identity, Op.Reshape, Op.Flatten, Op.Squeeze, Op.Unsqueeze, Op.Dropout]);

/** Every op the wasm backend lowers. */
export const WASM_OPS: ReadonlySet<Op> = new Set([...ALIAS_OPS, Op.Linear, Op.Relu, Op.Gelu, Op.Add]);

export class ScheduleBuilder {
  readonly buffers: Buffer[] = [];
  readonly kernels: Kernel[] = [];
  readonly layers: LayerChoice[] = [];
  readonly warnings: Diagnostic[] = [];
  private readonly views = new Map<Value, Partial<Record<View, number>>>();

  /** `layouts`: decided layouts by Linear node name, in place of `format`'s pick. */
  constructor(readonly format: FormatOption, private readonly layouts: ReadonlyMap<string, WeightLayout> = new Map()) {}

  newBuffer(name: string, shape: readonly number[], role: BufferRole, transposed = false, data?: Float32Array, dtype?: 'int64'): number {
    const id = this.buffers.length;
    this.buffers.push({ id, name: transposed ? `${name}^T` : name, shape, size: sizeOf(shape), role, transposed, ...(data ? { data } : {}), ...(dtype ? { dtype } : {}) });
    return id;
  }

  bind(v: Value, view: View, buffer: number): void {
    this.views.set(v, { ...this.views.get(v), [view]: buffer });
  }

  /** [rows, cols] of a value seen as a matrix over its last dim. */
  matrix(v: Value): [number, number] {
    const shape = v.staticShape!;
    const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
    return [cols === 0 ? 0 : sizeOf(shape) / cols, cols];
  }

  /** The views `v` already has (constants become row-major const buffers on first use). */
  available(v: Value): Partial<Record<View, number>> {
    let have = this.views.get(v);
    if (!have && v.const) {
      this.bind(v, 'rm', this.newBuffer(v.name, v.staticShape!, 'const', false, Float32Array.from(v.const.data as Float32Array)));
      have = this.views.get(v);
    }
    if (!have) throw new Error(`no buffer for value ${v.name}`);
    return have;
  }

  /** `v` in the requested view, adding a transpose when only the other one exists. */
  get(v: Value, view: View): number {
    const have = this.available(v);
    const direct = have[view];
    if (direct !== undefined) return direct;
    const [rows, cols] = this.matrix(v);
    const other = have[view === 'rm' ? 'tr' : 'rm']!;
    // One row (one token): both layouts are the same bytes.
    if (rows === 1 || cols === 1) return other;
    const y = this.newBuffer(v.name, v.staticShape!, 'temp', view === 'tr');
    this.kernels.push(view === 'tr' ? { op: 'transpose', x: other, y, rows, cols } : { op: 'transpose', x: other, y, rows: cols, cols: rows });
    this.bind(v, view, y);
    return y;
  }

  /** The view to run an elementwise op in: row-major when the input has it. */
  preferredView(v: Value): View {
    return this.available(v).rm !== undefined ? 'rm' : 'tr';
  }

  output(node: Node, view: View): number {
    const out = node.outputs[0]!;
    const y = this.newBuffer(out.name, out.staticShape!, 'temp', view === 'tr' && this.matrix(out)[0] > 1 && this.matrix(out)[1] > 1);
    this.bind(out, view, y);
    return y;
  }

  linear(node: Node): void {
    const [x, w, b] = node.inputs;
    const [K, N] = w!.const!.shape as [number, number];
    const M = this.matrix(x!)[0];
    const weight = w!.const!.data as Float32Array;
    const choice = chooseLayout({ node: node.name, weight: w!.name, M, K, N }, weight, this.layouts.get(node.name) ?? this.format, (d) => this.warnings.push(d));
    this.layers.push(choice);
    // Dense (and any one-token product) works row-major; the sparse kernels transposed.
    const view: View = choice.layout === 'dense' || M === 1 ? 'rm' : 'tr';
    const xb = this.get(x!, view);
    const y = this.output(node, view);
    const bias = b?.const ? (b.const.data as Float32Array) : undefined;
    this.kernels.push({ op: 'linear', node: node.name, weightName: w!.name, x: xb, y, M, K, N, layout: choice.layout, ...(choice.block ? { block: choice.block } : {}), weight, ...(bias ? { bias } : {}), epilogue: NO_EPILOGUE });
  }

  elementwise(node: Node): void {
    const x = node.inputs[0]!;
    const size = sizeOf(x.staticShape!);
    if (node.op === Op.Add) {
      const [a, c] = this.addOperands(node);
      const view = this.preferredView(a);
      const ab = this.get(a, view);
      const cb = this.get(c, view);
      this.kernels.push({ op: 'add', a: ab, b: cb, y: this.output(node, view), size });
      return;
    }
    const view = this.preferredView(x);
    const xb = this.get(x, view);
    const fn = node.op === Op.Relu ? 'relu' : node.attrString('approximate', 'none') === 'tanh' ? 'gelu_tanh' : 'gelu';
    this.kernels.push({ op: 'unary', fn, x: xb, y: this.output(node, view), size });
  }

  /** Add's operands, a constant one broadcast to the output shape at build time. */
  private addOperands(node: Node): [Value, Value] {
    const [a, c] = node.inputs as [Value, Value];
    const out = node.outputs[0]!.staticShape!;
    const full = (v: Value): Value => {
      if (!v.const || sameShape(v.staticShape!, out)) return v;
      const data = broadcastTo(v.const.data as Float32Array, v.staticShape!, out);
      const stand = node.graph.newValue(`${v.name}_broadcast`, 'float32', out);
      this.bind(stand, 'rm', this.newBuffer(stand.name, out, 'const', false, data));
      return stand;
    };
    return a.const && !c.const ? [full(c), full(a)] : [full(a), full(c)];
  }

  alias(node: Node): void {
    const x = node.inputs[0]!;
    const out = node.outputs[0]!;
    this.bind(out, 'rm', this.get(x, 'rm'));
  }
}

/** Build the schedule of a specialized, canonicalized, supported model. */
export function buildSchedule(model: Model, format: FormatOption, layouts?: ReadonlyMap<string, WeightLayout>): Schedule {
  const g = model.graph;
  const b = new ScheduleBuilder(format, layouts);
  const inputs: ModelIO[] = g.inputs.filter((v) => !v.const).map((v) => {
    const dtype = v.dtype === 'int64' ? 'int64' : undefined;
    const buffer = b.newBuffer(v.name, v.staticShape!, 'input', false, undefined, dtype);
    b.bind(v, 'rm', buffer);
    return { name: v.name, buffer, shape: v.staticShape!, ...(dtype ? { dtype } : {}) };
  });
  for (const node of g.nodes) {
    if (node.op === Op.Linear) b.linear(node);
    else if (ALIAS_OPS.has(node.op)) b.alias(node);
    else if (isBroadcastAdd(node)) lowerTensorOp(b, node);
    else if (node.op === Op.Relu || node.op === Op.Gelu || node.op === Op.Add) b.elementwise(node);
    else if (handlesCnnOp(node)) lowerCnnOp(b, node);
    else if (TENSOR_OPS.has(node.op)) lowerTensorOp(b, node);
    else throw error('UNSUPPORTED_OP', `the wasm backend cannot lower ${node.describe()}`, { file: model.sourcePath, node: node.name, opType: node.opType });
  }
  const outputs: ModelIO[] = g.outputs.map((v) => {
    let buffer = b.get(v, 'rm');
    // An output must own its buffer: not an input's, a constant's, or another output's.
    if (b.buffers[buffer]!.role !== 'temp') {
      const copy = b.newBuffer(v.name, v.staticShape!, 'temp');
      b.kernels.push({ op: 'copy', x: buffer, y: copy, size: sizeOf(v.staticShape!) });
      buffer = copy;
    }
    b.buffers[buffer]!.role = 'output';
    return { name: v.name, buffer, shape: v.staticShape! };
  });
  return { buffers: b.buffers, kernels: b.kernels, inputs, outputs, layers: b.layers, warnings: b.warnings };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return sizeOf(a) === sizeOf(b) && a.length <= b.length && a.every((d, i) => d === b[b.length - a.length + i]);
}

/** Numpy-broadcast `data` of `shape` to `to`. */
export function broadcastTo(data: Float32Array, shape: readonly number[], to: readonly number[]): Float32Array {
  const out = new Float32Array(sizeOf(to));
  const rank = to.length;
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  const strides = new Array<number>(rank).fill(0);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 ? 0 : s;
    s *= padded[i]!;
  }
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d]! * strides[d]!;
    out[i] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < to[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
