// Focused comparison of the many-token unstructured (csr) kernel's two index forms: one-byte
// input steps (sparse-format.ts stepRows) against u16 input channels, on 768 -> 3072 at
// 50/70/90/95% sparsity. Interleaved rounds, CPU-time medians; prints weight bytes against
// density x dense bytes and the speed ratio. (The one-token kernel: bench/spmv-ab.ts.)
// Run: tsc -p bench && node dist/bench/csr-steps.js [M list, default 64] [weight copies, default 1]

import './v8-flags.js';
import { KernelInstance } from '../codegen/wasm/harness.js';
import { matmulRef, maxRelError, pruneUnstructured, randomFloats, transpose } from '../codegen/wasm/kernels/reference.js';
import { sparseRows } from '../codegen/wasm/kernels/sparse-format.js';
import { emitSpmm, packSpmm, type PackedSparse } from '../codegen/wasm/kernels/spmm.js';
import { WasmModule } from '../codegen/wasm/module.js';
import { timeCpuInterleaved } from './cpu-timing.js';

const [K, N] = [768, 3072];
const COPIES = Number(process.argv[3] ?? 1);

async function kernel(M: number, W: Float32Array, X: Float32Array, compact: boolean) {
  const spec = { name: 'kernel', M, K, N };
  const rows = sparseRows(W, K, N);
  const m = new WasmModule();
  const packed: PackedSparse = packSpmm(spec, rows, undefined, compact);
  emitSpmm(m, spec, packed.offsets);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const x = inst.put(transpose(X, M, K));
  // COPIES > 1: that many copies of the weights, cycled per call, so they stream from memory (not L2).
  const ws = Array.from({ length: COPIES }, () => inst.put(packed.blob));
  let call = 0;
  const y = inst.alloc(M * N * 4);
  const f = inst.fn('kernel');
  const output = () => transpose(Float32Array.from(inst.f32(y, M * N)), N, M);
  return { name: compact ? 'steps' : 'u16', run: () => f(x, ws[call++ % COPIES]!, y), output, bytes: packed.blob.length };
}

for (const M of (process.argv[2] ?? '64').split(",").map(Number)) {
  for (const sparsity of [0.5, 0.7, 0.9, 0.95]) {
    const X = randomFloats(M * K, 11);
    const W = pruneUnstructured(randomFloats(K * N, 12), sparsity);
    const ref = matmulRef(X, W, M, K, N);
    const ks = [await kernel(M, W, X, true), await kernel(M, W, X, false)];
    for (const k of ks) { k.run(); if (maxRelError(k.output(), ref) > 1e-4) throw new Error(`${k.name} is wrong`); }
    const t = await timeCpuInterleaved(ks, { rounds: 31, inner: 2 });
    const ideal = (1 - sparsity) * K * N * 4;
    const [s, u] = [t[0]!.cpuMedianMs, t[1]!.cpuMedianMs];
    console.log(`${M}x${K}x${N} ${sparsity * 100}%: bytes steps ${ks[0]!.bytes} (${(ks[0]!.bytes / ideal).toFixed(3)}x) u16 ${ks[1]!.bytes} (${(ks[1]!.bytes / ideal).toFixed(3)}x); ms steps ${s.toFixed(4)} u16 ${u.toFixed(4)}: u16/steps ${(u / s).toFixed(3)}`);
  }
}
