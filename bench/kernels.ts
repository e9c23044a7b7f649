// npm run bench: sparsec's WASM kernels against onnxruntime-web (WASM, 1 thread) and
// onnxruntime-node (CPU, 1 thread), timed in one process with interleaved rounds.

import { KernelInstance } from '../codegen/wasm/harness.js';
import { emitDense, packDense, type DenseSpec } from '../codegen/wasm/kernels/dense.js';
import { matmulRef, maxRelError, randomFloats } from '../codegen/wasm/kernels/reference.js';
import { WasmModule } from '../codegen/wasm/module.js';
import { matmulModel, ortNodeRunner, ortWebRunner } from './ort.js';
import { timeInterleaved, type Contender } from './timing.js';

async function denseContender(spec: DenseSpec, X: Float32Array, W: Float32Array): Promise<{ c: Contender; out: () => Float32Array }> {
  const m = new WasmModule();
  emitDense(m, spec);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const x = inst.put(X);
  const w = inst.put(packDense(spec, W));
  const y = inst.alloc(spec.M * spec.N * 4);
  const f = inst.fn(spec.name);
  return { c: { name: `sparsec dense ${spec.tile ? `${spec.tile.mr}x${spec.tile.nr}` : ''}`, run: () => f(x, w, y) }, out: () => inst.f32(y, spec.M * spec.N) };
}

async function main(): Promise<void> {
  for (const [M, K, N] of [[64, 768, 3072], [1, 768, 3072]] as const) {
    const X = randomFloats(M * K, 1);
    const W = randomFloats(K * N, 2);
    const want = matmulRef(X, W, M, K, N);
    const tiles = M === 1 ? [{ mr: 1, nr: 16 }, { mr: 1, nr: 32 }] : [{ mr: 4, nr: 8 }, { mr: 5, nr: 8 }, { mr: 2, nr: 16 }, { mr: 3, nr: 8 }];
    const cs: Contender[] = [];
    for (const tile of tiles) for (const unrollK of [1]) {
      const d = await denseContender({ name: 'gemm', M, K, N, tile, unrollK }, X, W);
      d.c.name += ` u${unrollK}`;
      d.c.run();
      console.log(tile, maxRelError(d.out(), want));
      cs.push(d.c);
    }
    const model = matmulModel(M, K, N, W);
    const web = await ortWebRunner(model, X, M, K);
    const node = await ortNodeRunner(model, X, M, K);
    console.log('web err', maxRelError(await web.output(), want));
    cs.push({ name: 'ort-web', run: web.run }, { name: 'ort-node', run: node.run });
    const res = await timeInterleaved(cs, { rounds: M === 1 ? 200 : 40, warmup: 5 });
    const flops = 2 * M * K * N;
    for (const r of res) console.log(`${M}x${K}x${N} ${r.name.padEnd(24)} ${r.medianMs.toFixed(3)} ms  ${(flops / r.medianMs / 1e6).toFixed(1)} GFLOP/s`);
  }
}

await main();
