// Focused comparison of the one-token N:M kernels (nm-gemv.ts) against our dense GEMV on the
// FFN shapes 1x768x3072 and 1x3072x768, 2:4 and 4:8. Interleaved rounds, CPU-time medians;
// prints weight bytes against dense bytes and dense time / N:M time.
// Run: tsc -p bench && node dist/bench/nm-one-token.js (three repeats of 41 rounds per shape).

import './v8-flags.js';
import { KernelInstance, KERNEL_SCRATCH } from '../codegen/wasm/harness.js';
import { emitDense, packDense } from '../codegen/wasm/kernels/dense.js';
import { emitNM, packNM, type NMPattern } from '../codegen/wasm/kernels/nm.js';
import { matmulRef, maxRelError, pruneNM, randomFloats } from '../codegen/wasm/kernels/reference.js';
import { WasmModule } from '../codegen/wasm/module.js';
import { timeCpuInterleaved } from './cpu-timing.js';

/** A one-token kernel with x and its weights in a fresh memory: one call and its output. */
async function kernel(name: string, N: number, X: Float32Array, emit: (m: WasmModule) => ArrayBufferView) {
  const m = new WasmModule();
  const weights = emit(m);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const [x, w, y] = [inst.put(X), inst.put(weights), inst.alloc(N * 4)];
  const f = inst.fn('kernel');
  return { name, run: () => f(x, w, y), output: () => Float32Array.from(inst.f32(y, N)), weightBytes: weights.byteLength };
}

const SHAPES: [number, number][] = [[768, 3072], [3072, 768]];

for (const [K, N] of SHAPES) {
  const X = randomFloats(K, 11);
  const W = randomFloats(K * N, 12);
  const spec = { name: 'kernel', M: 1, K, N };
  const dense = await kernel('dense', N, X, (m) => (emitDense(m, spec), packDense(spec, W)));
  const patterns: NMPattern[] = [{ n: 2, m: 4 }, { n: 4, m: 8 }];
  const sparse = await Promise.all(patterns.map(async (p) => {
    const Ws = pruneNM(W, K, N, p.n, p.m);
    const k = await kernel(`${p.n}:${p.m}`, N, X, (m) => {
      const packed = packNM(spec, Ws, p);
      emitNM(m, { ...spec, scratch: KERNEL_SCRATCH }, packed.offsets, p);
      return packed.blob;
    });
    k.run();
    const error = maxRelError(k.output(), matmulRef(X, Ws, 1, K, N));
    if (!(error < 1e-4)) throw new Error(`${k.name} is wrong (${error})`);
    return k;
  }));
  const ks = [dense, ...sparse];
  for (let repeat = 0; repeat < 3; repeat++) {
    const t = await timeCpuInterleaved(ks, { rounds: 41, inner: 40 });
    const d = t[0]!.cpuMedianMs;
    const cells = ks.slice(1).map((k, i) => `${k.name} ${(d / t[i + 1]!.cpuMedianMs).toFixed(2)}x (${(k.weightBytes / dense.weightBytes).toFixed(3)} of dense bytes)`);
    console.log(`1x${K}x${N}: dense ${d.toFixed(4)} ms; ${cells.join('; ')}`);
  }
}
