// Weight views: every constant weight matrix a layer multiplies by, seen the same way whatever
// op holds it. Analysis, pruning and permutation all work on a view's [rows, cols] matrix:
// rows are output channels, cols run along the reduction axis (the axis N:M groups follow).
//
//   Linear  W [K, N]            rows N, cols K       (read() is W transposed)
//   MatMul  B [K, N] constant   rows N, cols K
//   Gemm    B [K, N] / [N, K]   rows N, cols K       (transB; only transA = 0, A is the input)
//   Conv    W [M, C/g, k...]    rows M, cols C/g*prod(k), column order (k..., c): c innermost
//
// Conv columns are reordered so that consecutive columns are consecutive input channels of one
// kernel tap: N:M groups then run along input channels, which is what channel permutation can
// rearrange and what sparse conv kernels gather over.

import type { DType } from '../../ir/dtype.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { ElementwiseBinary, ElementwiseUnary, Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';

export type WeightRole = 'embedding' | 'head' | 'hidden';

export interface WeightView {
  /** The constant weight (value.const, a float tensor). */
  readonly value: Value;
  /** The consumer multiplying by it: Linear, MatMul (constant B), Gemm (constant B), Conv. */
  readonly node: Node;
  /** Display name (the constant's name). */
  readonly name: string;
  /**
   * 'embedding' if the constant also feeds a Gather (tied embeddings); 'head' if the consumer's
   * result reaches a graph output through bias/scale/activation/reshape ops only; else 'hidden'.
   */
  readonly role: WeightRole;
  /** Output channels. */
  readonly rows: number;
  /** Reduction length (K; for Conv C/group*prod(kernel)). */
  readonly cols: number;
  /**
   * Input channel of each column (length cols). For grouped convs this is the channel within
   * the group (row r of group g reads input channel g*C/group + colChannel[j]).
   */
  readonly colChannel: Int32Array;
  /** The activation this weight multiplies (for calibration statistics). */
  readonly input: Value;
  /** Row-major [rows, cols] float32 copy. */
  read(): Float32Array;
  /**
   * Write back a [rows, cols] matrix: replaces value.const with a new Tensor of the same dtype
   * and shape (rounded for float16/bfloat16). A constant shared by several consumers changes
   * for all of them.
   */
  write(m: Float32Array): void;
}

const FLOAT_DTYPES: ReadonlySet<DType> = new Set<DType>(['float32', 'float16', 'bfloat16', 'float64']);

/**
 * Where view element (row, col) lives in the constant's storage: at row * rowStride + the
 * column's offset. One table of column offsets serves every layout, and keeps read/write to
 * plain indexed loops (they run over every weight of large models).
 */
interface Geometry {
  rows: number;
  cols: number;
  rowStride: number;
  colOffset: Int32Array;
  colChannel: Int32Array;
}

/** Every weight view of `graph`'s own nodes, in graph order (subgraphs are not searched). */
export function findWeights(graph: Graph): WeightView[] {
  const out: WeightView[] = [];
  for (const node of graph.nodes) {
    const found = weightOf(node);
    if (!found) continue;
    const { value, geometry } = found;
    out.push(makeView(node, value, geometry));
  }
  return out;
}

function floatConstant(v: Value | undefined): v is Value & { const: Tensor } {
  return v?.const !== undefined && FLOAT_DTYPES.has(v.const.dtype);
}

function weightOf(node: Node): { value: Value & { const: Tensor }; geometry: Geometry } | undefined {
  const x = node.inputs[0];
  const w = node.inputs[1];
  if (!x || x.isConstant || !floatConstant(w)) return undefined;
  const shape = w.const.shape;
  switch (node.op) {
    case Op.Linear:
    case Op.MatMul:
      return shape.length === 2 ? { value: w, geometry: matrixKN(shape[0]!, shape[1]!) } : undefined;
    case Op.Gemm: {
      if (shape.length !== 2 || node.attrInt('transA', 0) !== 0) return undefined;
      const transB = node.attrInt('transB', 0) !== 0;
      return { value: w, geometry: transB ? matrixNK(shape[0]!, shape[1]!) : matrixKN(shape[0]!, shape[1]!) };
    }
    case Op.Conv:
      return shape.length >= 3 ? { value: w, geometry: convGeometry(shape) } : undefined;
    default:
      return undefined;
  }
}

function identityChannels(n: number): Int32Array {
  const c = new Int32Array(n);
  for (let i = 0; i < n; i++) c[i] = i;
  return c;
}

/** A [K, N] matrix (x @ W): view row r, col c is W[c, r]. */
function matrixKN(k: number, n: number): Geometry {
  const colOffset = new Int32Array(k);
  for (let c = 0; c < k; c++) colOffset[c] = c * n;
  return { rows: n, cols: k, rowStride: 1, colOffset, colChannel: identityChannels(k) };
}

/** An [N, K] matrix (x @ W^T): the view is the storage. */
function matrixNK(n: number, k: number): Geometry {
  return { rows: n, cols: k, rowStride: k, colOffset: identityChannels(k), colChannel: identityChannels(k) };
}

/** Conv W [M, Cg, k...]: view col j = tap * Cg + c holds W[m, c, tap]. */
function convGeometry(shape: readonly number[]): Geometry {
  const [m, cg] = shape as [number, number];
  const taps = shape.slice(2).reduce((a, b) => a * b, 1);
  const cols = cg * taps;
  const colChannel = new Int32Array(cols);
  const colOffset = new Int32Array(cols);
  for (let j = 0; j < cols; j++) {
    colChannel[j] = j % cg;
    colOffset[j] = (j % cg) * taps + Math.floor(j / cg);
  }
  return { rows: m, cols, rowStride: cols, colOffset, colChannel };
}

function makeView(node: Node, value: Value & { const: Tensor }, g: Geometry): WeightView {
  const input = node.inputs[0]!;
  const role = roleOf(node, value);
  return {
    value,
    node,
    name: value.name,
    role,
    rows: g.rows,
    cols: g.cols,
    colChannel: g.colChannel,
    input,
    read(): Float32Array {
      const src = value.const!.toFloat32();
      const out = new Float32Array(g.rows * g.cols);
      forEachTile(g, (r, c, storage) => {
        out[r * g.cols + c] = src[storage]!;
      });
      return out;
    },
    write(m: Float32Array): void {
      if (m.length !== g.rows * g.cols) {
        throw new Error(`weight '${value.name}': write() needs ${g.rows}x${g.cols} values, got ${m.length}`);
      }
      const old = value.const!;
      const t = Tensor.zeros(old.dtype, old.shape);
      const direct = t.dtype === 'float32' || t.dtype === 'float64' ? (t.data as Float32Array | Float64Array) : undefined;
      if (direct) forEachTile(g, (r, c, storage) => (direct[storage] = m[r * g.cols + c]!));
      else forEachTile(g, (r, c, storage) => t.set(storage, m[r * g.cols + c]!));
      value.const = t;
    },
  };
}

const TILE = 64;

/** Visit every (row, col, storage index) tile by tile: transposed layouts stay cache-friendly. */
function forEachTile(g: Geometry, f: (row: number, col: number, storage: number) => void): void {
  const { rows, cols, rowStride, colOffset } = g;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const off = colOffset[c]!;
        for (let r = r0; r < r1; r++) f(r, c, r * rowStride + off);
      }
    }
  }
}

// ---- roles ----

function roleOf(node: Node, value: Value): WeightRole {
  if (value.uses.some((u) => u.node.op === Op.Gather && u.index === 0)) return 'embedding';
  return reachesOutput(node.outputs[0]!) ? 'head' : 'hidden';
}

/** Ops a layer's result may pass through and still be "the layer's output". */
const Reshaping: ReadonlySet<Op> = new Set<Op>([Op.Reshape, Op.Flatten, Op.Squeeze, Op.Unsqueeze, Op.Identity, Op.Transpose]);

/**
 * Whether `v` reaches a graph output through unary elementwise ops, binary elementwise ops
 * with a constant other operand (bias, scale), and reshapes. A residual Add with another
 * activation stops the walk: the layer then is one contributor among several, not the head.
 */
function reachesOutput(start: Value): boolean {
  const seen = new Set<Value>();
  const stack = [start];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (v.isGraphOutput) return true;
    for (const { node, index } of v.uses) {
      const passes =
        ElementwiseUnary.has(node.op) ||
        (Reshaping.has(node.op) && index === 0) ||
        (ElementwiseBinary.has(node.op) && node.inputs.every((x, i) => i === index || x?.isConstant));
      if (passes) stack.push(...node.outputs);
    }
  }
  return false;
}
