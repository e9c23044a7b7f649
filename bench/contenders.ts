// sparsec's kernels as benchmark contenders: each builds its module, places its inputs and
// weights in a fresh memory, and exposes one call plus its output (in [M,N] layout).

import { KernelInstance, KERNEL_SCRATCH } from '../codegen/wasm/harness.js';
import { emitBsr } from '../codegen/wasm/kernels/bsr.js';
import { packBsr, type BlockLabel } from '../codegen/wasm/kernels/bsr-format.js';
import { emitDense, packDense } from '../codegen/wasm/kernels/dense.js';
import { emit2of4, emitNM, pack2of4, packNM } from '../codegen/wasm/kernels/nm.js';
import { transpose } from '../codegen/wasm/kernels/reference.js';
import { sparseRows } from '../codegen/wasm/kernels/sparse-format.js';
import { emitSpmm, emitSpmmBaked, packSpmm, packSpmmBaked, type PackedSparse, type SparseSpec } from '../codegen/wasm/kernels/spmm.js';
import { emitSpmv, packSpmv } from '../codegen/wasm/kernels/spmv.js';
import { WasmModule } from '../codegen/wasm/module.js';

export interface KernelContender {
  name: string;
  run: () => unknown;
  /** Y [M,N] after a run. */
  output: () => Float32Array;
  wasmBytes: number;
  weightBytes: number;
}

export type SparseKind = 'unstructured' | 'baked' | '2:4' | '4:8' | `block${BlockLabel}`;

async function instantiate(m: WasmModule, X: Float32Array, weights: ArrayBufferView, M: number, N: number, transposed: boolean) {
  const binary = m.emitBinary();
  m.dispose();
  const inst = await KernelInstance.create(binary);
  const x = inst.put(transposed ? transpose(X, M, X.length / M) : X);
  const w = inst.put(weights);
  const y = inst.alloc(M * N * 4);
  const f = inst.fn('kernel');
  return {
    run: () => f(x, w, y),
    output: () => (transposed ? transpose(Float32Array.from(inst.f32(y, M * N)), N, M) : Float32Array.from(inst.f32(y, M * N))),
    wasmBytes: binary.length,
    weightBytes: weights.byteLength,
  };
}

/** `relaxedSimd`: build the kernel with f32x4.relaxed_madd (the engine must validate relaxed SIMD). */
export async function denseKernel(name: string, M: number, K: number, N: number, X: Float32Array, W: Float32Array, relaxedSimd = false): Promise<KernelContender> {
  const spec = { name: 'kernel', M, K, N };
  const m = new WasmModule({ relaxedSimd });
  emitDense(m, spec);
  return { name, ...(await instantiate(m, X, packDense(spec, W), M, N, false)) };
}

/** A sparse kernel for W (already pruned to the kind's pattern); one token uses the GEMV forms. */
export async function sparseKernel(
  name: string, kind: SparseKind, M: number, K: number, N: number, X: Float32Array, W: Float32Array, relaxedSimd = false,
): Promise<KernelContender> {
  const spec: SparseSpec = { name: 'kernel', M, K, N };
  const m = new WasmModule({ relaxedSimd });
  let packed: PackedSparse;
  if (kind === '2:4') {
    emit2of4(m, { ...spec, scratch: KERNEL_SCRATCH }, (packed = pack2of4(spec, W)).offsets);
  } else if (kind === '4:8') {
    emitNM(m, { ...spec, scratch: KERNEL_SCRATCH }, (packed = packNM(spec, W, { n: 4, m: 8 })).offsets, { n: 4, m: 8 });
  } else if (kind.startsWith('block')) {
    const label = kind.slice('block'.length) as BlockLabel;
    emitBsr(m, spec, (packed = packBsr(spec, W, undefined, label)).offsets, label);
  } else {
    const rows = sparseRows(W, K, N);
    if (M === 1) emitSpmv(m, spec, (packed = packSpmv(spec, rows)).offsets);
    else if (kind === 'baked') emitSpmmBaked(m, spec, rows, (packed = packSpmmBaked(spec, rows)).offsets);
    else emitSpmm(m, spec, (packed = packSpmm(spec, rows)).offsets);
  }
  // One token: x [1,K] and X^T [K,1] are the same bytes.
  return { name, ...(await instantiate(m, X, packed.blob, M, N, M > 1)) };
}
