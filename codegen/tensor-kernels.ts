// Schedule kernels for the tensor ops of transformer blocks: normalization, softmax, products
// of two activations, embedding lookup, data movement (split, slice, concat, N-D transpose, expand),
// broadcasting arithmetic and select. Each reads the buffers `ins` and writes `y`; the emitted
// function takes their byte addresses in that order, then y's. Counts, strides and offsets
// are in elements and baked into the function.

export type BinaryFn = 'add' | 'sub' | 'mul' | 'div';
export type MapFn = 'neg' | 'sigmoid' | 'silu' | 'tanh' | 'from-int64' | 'copy';

interface Base {
  ins: number[];
  y: number;
}

/** y = (x - mean) / sqrt(var + eps) * scale + bias per row of `cols`; `rms`: no mean, no bias. */
export interface NormKernel extends Base {
  readonly op: 'norm';
  readonly rows: number;
  readonly cols: number;
  readonly epsilon: number;
  readonly rms: boolean;
  readonly bias: boolean;
}

/**
 * Softmax over each row of `cols` (the last axis). Fused forms (fuse-softmax.ts): `scale`
 * multiplies x first; `prefix`: ins[1] holds, per row, how many leading elements take part
 * (as f32), the rest of the row was -Infinity (a causal mask) and comes out 0.
 */
export interface SoftmaxKernel extends Base {
  readonly op: 'softmax';
  readonly rows: number;
  readonly cols: number;
  readonly scale?: number;
  readonly prefix?: boolean;
}

/** y[b] = a[b] [M, K] @ c[b] [K, N] for `batch` products; a batch stride 0 reuses one matrix. */
export interface BatchMatMulKernel extends Base {
  readonly op: 'batch-matmul';
  readonly batch: number;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly aStride: number;
  readonly bStride: number;
  /** Set by fuse-softmax.ts around a causal softmax (see BatchMatMulSpec). */
  readonly causal?: 'scores' | 'probs';
}

/** y[i, :] = table[ids[i], :], ids int64 (the low 32 bits are read). */
export interface GatherKernel extends Base {
  readonly op: 'gather';
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

/** `outer` blocks of `chunk` elements from x + xOffset (step xStride) to y + yOffset (step yStride). */
export interface BlockCopyKernel extends Base {
  readonly op: 'block-copy';
  readonly outer: number;
  readonly chunk: number;
  readonly xOffset: number;
  readonly xStride: number;
  readonly yOffset: number;
  readonly yStride: number;
}

/** y (of `shape`) in order, element [i...] from x at sum(i_d inStrides[d]): N-D transpose or broadcast. */
export interface StridedKernel extends Base {
  readonly op: 'strided';
  readonly shape: readonly number[];
  readonly inStrides: readonly number[];
}

/**
 * y = a fn b over `size` elements; b has `bSize` elements repeated along y (a trailing-shape or
 * scalar broadcast). `swap`: y = b fn a.
 */
export interface BinaryKernel extends Base {
  readonly op: 'binary';
  readonly fn: BinaryFn;
  readonly size: number;
  readonly bSize: number;
  readonly swap: boolean;
}

/** y = cond ? a : b over `size` elements, all the same size (cond as f32 0 / 1). */
export interface WhereKernel extends Base {
  readonly op: 'where';
  readonly size: number;
}

/** y = fn(x) over `size` elements. */
export interface MapKernel extends Base {
  readonly op: 'map';
  readonly fn: MapFn;
  readonly size: number;
}

/** The k largest of each row of `cols` (last axis): values, or int64 positions when `indices`. */
export interface TopKKernel extends Base {
  readonly op: 'topk';
  readonly rows: number;
  readonly cols: number;
  readonly k: number;
  readonly indices: boolean;
}

/** y[r] = sum of row r (`cols` trailing elements). */
export interface RowSumKernel extends Base {
  readonly op: 'row-sum';
  readonly rows: number;
  readonly cols: number;
}

/** ins [data, indices (int64), updates]: y = data with y[r, indices[r, j]] = updates[r, j]. */
export interface ScatterRowsKernel extends Base {
  readonly op: 'scatter-rows';
  readonly rows: number;
  readonly cols: number;
  readonly k: number;
}

export type TensorKernel =
  | TopKKernel | RowSumKernel | ScatterRowsKernel
  | NormKernel | SoftmaxKernel | BatchMatMulKernel | GatherKernel | BlockCopyKernel | StridedKernel | BinaryKernel | WhereKernel | MapKernel;

export const TENSOR_KERNEL_OPS: ReadonlySet<string> = new Set(['topk', 'row-sum', 'scatter-rows', 'norm', 'softmax', 'batch-matmul', 'gather', 'block-copy', 'strided', 'binary', 'where', 'map']);

/** The key under which identical specializations share one function. */
export function tensorKernelKey(k: TensorKernel): string {
  const { ins: _ins, y: _y, ...spec } = k;
  return JSON.stringify(spec);
}
