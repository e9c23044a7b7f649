// Focused comparison of the block-sparse kernels' shapes (4x1, 8x1, 1x4, 4x4; bsr.ts) against
// our dense kernel on 768 -> 3072, each weight magnitude-pruned to 80% of its own shape's
// blocks, at 1 and 64 tokens. Interleaved rounds, CPU-time medians; prints each kernel's time
// over dense's, over dense x block density (the cost model's constant, layout.ts), and its
// weight bytes over density x dense bytes.
// Run: tsc -p bench && node dist/bench/bsr-shapes.js [M list, default 1,64] [sparsity, default 0.8]

import './v8-flags.js';
import { KernelInstance } from '../codegen/wasm/harness.js';
import { emitBsr } from '../codegen/wasm/kernels/bsr.js';
import { BLOCK_SHAPES, blockShape, blockStats, packBsr, type BlockLabel } from '../codegen/wasm/kernels/bsr-format.js';
import { emitDense, packDense } from '../codegen/wasm/kernels/dense.js';
import { matmulRef, maxRelError, pruneBlocks, randomFloats, transpose } from '../codegen/wasm/kernels/reference.js';
import { WasmModule } from '../codegen/wasm/module.js';
import { timeCpuInterleaved } from './cpu-timing.js';

const [K, N] = [768, 3072];
const SPARSITY = Number(process.argv[3] ?? 0.8);

async function instance(m: WasmModule, M: number, X: Float32Array, blob: Uint8Array, transposed: boolean) {
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const x = inst.put(transposed ? transpose(X, M, K) : X);
  const w = inst.put(blob);
  const y = inst.alloc(M * N * 4);
  const f = inst.fn('kernel');
  const output = () => (transposed ? transpose(Float32Array.from(inst.f32(y, M * N)), N, M) : Float32Array.from(inst.f32(y, M * N)));
  return { run: () => f(x, w, y), output };
}

async function dense(M: number, X: Float32Array, W: Float32Array) {
  const spec = { name: 'kernel', M, K, N };
  const m = new WasmModule();
  emitDense(m, spec);
  const p = packDense(spec, W);
  return { name: 'dense', ...(await instance(m, M, X, new Uint8Array(p.buffer, p.byteOffset, p.byteLength), false)) };
}

async function blocks(M: number, X: Float32Array, W: Float32Array, label: BlockLabel) {
  const spec = { name: 'kernel', M, K, N };
  const packed = packBsr(spec, W, undefined, label);
  const m = new WasmModule();
  emitBsr(m, spec, packed.offsets, label);
  return { name: label, bytes: packed.blob.length, ...(await instance(m, M, X, packed.blob, M > 1)) };
}

for (const M of (process.argv[2] ?? '1,64').split(',').map(Number)) {
  const X = randomFloats(M * K, 11);
  const W = randomFloats(K * N, 12);
  const base = await dense(M, X, W);
  const shapes = await Promise.all(BLOCK_SHAPES.map(async (label) => {
    const { rows, cols } = blockShape(label);
    const Ws = pruneBlocks(W, K, N, rows, cols, SPARSITY);
    const k = await blocks(M, X, Ws, label);
    k.run();
    const err = maxRelError(k.output(), matmulRef(X, Ws, M, K, N));
    if (err > 1e-4) throw new Error(`${label} is wrong (${err})`);
    return { ...k, blockDensity: blockStats(Ws, K, N, label).blockDensity };
  }));
  const t = await timeCpuInterleaved([base, ...shapes], M === 1 ? { rounds: 61, inner: 20 } : { rounds: 31, inner: 2 });
  const denseMs = t[0]!.cpuMedianMs;
  for (const [i, s] of shapes.entries()) {
    const ms = t[i + 1]!.cpuMedianMs;
    const ideal = s.blockDensity * K * N * 4;
    console.log(`${M}x${K}x${N} ${s.name} at ${(SPARSITY * 100).toFixed(0)}%: ${(denseMs / ms).toFixed(2)}x dense, time ${(ms / denseMs).toFixed(3)} = ${(ms / denseMs / s.blockDensity).toFixed(2)} x block density; bytes ${(s.bytes / ideal).toFixed(3)}x density x dense`);
  }
}
