// The kernel schedule: what lowering produces and the emitters consume. Buffers are f32
// tensors (inputs, outputs, temporaries in the arena; constants in the weights region);
// kernels are invocations in execution order that read and write buffers by id.

import type { Diagnostic } from '../ir/diagnostics.js';
import type { CnnKernel } from './cnn-kernels.js';
import type { TensorKernel } from './tensor-kernels.js';
import type { BlockLabel } from './wasm/kernels/bsr-format.js';
import type { UnaryFn } from './wasm/kernels/elementwise.js';
import type { Epilogue } from './wasm/kernels/epilogue.js';

/** How a weight is stored and multiplied: dense panels, per-channel nonzero lists, N:M, or blocks (4x1, 8x1, 1x4, 4x4). */
export type WeightLayout = 'dense' | 'csr' | 'nm' | 'bsr';
export type FormatOption = 'auto' | WeightLayout;
export const FORMAT_OPTIONS: readonly FormatOption[] = ['auto', 'dense', 'csr', 'nm', 'bsr'];

export type BufferRole = 'input' | 'output' | 'temp' | 'const';

export interface Buffer {
  readonly id: number;
  /** The IR value it holds (a transposed copy gets a `^T` suffix). */
  readonly name: string;
  /** Logical shape; a transposed buffer holds the [rows, cols] view of it as [cols, rows]. */
  readonly shape: readonly number[];
  readonly size: number;
  role: BufferRole;
  readonly transposed: boolean;
  /** Constant contents (role 'const'). */
  readonly data?: Float32Array;
  /** int64 for integer model inputs (token ids); float32 when absent. */
  readonly dtype?: 'int64';
}

export interface LinearKernel {
  readonly op: 'linear';
  readonly node: string;
  readonly weightName: string;
  x: number;
  y: number;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly layout: WeightLayout;
  /** The block shape of layout 'bsr'. */
  readonly block?: BlockLabel;
  readonly weight: Float32Array;
  readonly bias?: Float32Array;
  /** Activation and residual add fused into the store (lower.ts fuseEpilogues). */
  epilogue: Epilogue;
  /** The residual buffer when epilogue.residual: y = act(x W + b) + residual. */
  residual?: number;
}

export interface UnaryKernel {
  readonly op: 'unary';
  readonly fn: UnaryFn;
  x: number;
  y: number;
  readonly size: number;
}

export interface AddKernel {
  readonly op: 'add';
  a: number;
  b: number;
  y: number;
  readonly size: number;
}

/** y [cols, rows] = x [rows, cols]^T. */
export interface TransposeKernel {
  readonly op: 'transpose';
  x: number;
  y: number;
  readonly rows: number;
  readonly cols: number;
}

export interface CopyKernel {
  readonly op: 'copy';
  x: number;
  y: number;
  readonly size: number;
}

export type Kernel = LinearKernel | UnaryKernel | AddKernel | TransposeKernel | CopyKernel | TensorKernel | CnnKernel;

/** The layout chosen for one Linear's weight, and why (printed and kept in the manifest). */
export interface LayerChoice {
  readonly node: string;
  readonly weight: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly density: number;
  readonly is2of4: boolean;
  readonly layout: WeightLayout;
  /** The block shape of layout 'bsr' (the one of least estimated cost among those the weight fits). */
  readonly block?: BlockLabel;
  /** Estimated time relative to the dense kernel. */
  readonly relativeCost: number;
  readonly reason: string;
}

export interface ModelIO {
  readonly name: string;
  readonly buffer: number;
  readonly shape: readonly number[];
  readonly dtype?: 'int64';
}

export interface Schedule {
  readonly buffers: Buffer[];
  kernels: Kernel[];
  readonly inputs: ModelIO[];
  readonly outputs: ModelIO[];
  readonly layers: LayerChoice[];
  readonly warnings: Diagnostic[];
}

export function kernelReads(k: Kernel): number[] {
  if ('ins' in k) return k.ins;
  if (k.op === 'linear') return k.residual === undefined ? [k.x] : [k.x, k.residual];
  return k.op === 'add' ? [k.a, k.b] : [k.x];
}

export function kernelWrites(k: Kernel): number[] {
  return [k.y];
}
