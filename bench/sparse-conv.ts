// Focused comparison of the direct sparse convolution (sparse-conv.ts) against our dense
// direct convolution (conv.ts) on one padded input: 3x3, 64 -> 64 channels, 56x56 pixels
// (stride 1) and 112x112 -> 56x56 (stride 2), magnitude-pruned to 50/70/90% sparsity (or the
// given sparsities and channels@size list).
// Interleaved rounds, CPU-time medians; prints dense/sparse time (the speedup) and the
// sparse time over density x dense time (the cost model's constant, codegen/conv-layout.ts).
// Run: npx tsc -p bench && node dist/bench/sparse-conv.js [sparsities, default 0.5,0.7,0.9] [sizes, default 64@56]

import './v8-flags.js';
import type { Conv2dKernel, SparseConv2dKernel } from '../codegen/cnn-kernels.js';
import { KernelInstance } from '../codegen/wasm/harness.js';
import { emitConv2d, packConv2d } from '../codegen/wasm/kernels/conv.js';
import { maxRelError, pruneUnstructured, randomFloats } from '../codegen/wasm/kernels/reference.js';
import { emitSparseConv2d, packSparseConv2d } from '../codegen/wasm/kernels/sparse-conv.js';
import { WasmModule } from '../codegen/wasm/module.js';
import { timeCpuInterleaved } from './cpu-timing.js';

const sparsities = (process.argv[2] ?? '0.5,0.7,0.9').split(',').map(Number);
/** channels@output size pairs (ResNet's stages have the same work per 3x3 conv), default 64@56. */
const sizes = (process.argv[3] ?? '64@56').split(',').map((s) => s.split('@').map(Number) as [number, number]);

interface Geometry { name: string; Cin: number; H: number; W: number; Cout: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number }

const geometries: Geometry[] = sizes.flatMap(([C, S]) => [
  { name: `${C}->${C} 3x3 s1 ${S}x${S}`, Cin: C, H: S + 2, W: S + 2, Cout: C, OH: S, OW: S, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1 },
  { name: `${C}->${C} 3x3 s2 ${2 * S}x${2 * S}->${S}x${S}`, Cin: C, H: 2 * S + 2, W: 2 * S + 2, Cout: C, OH: S, OW: S, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1 },
]);

async function contender(name: string, emit: (m: WasmModule) => void, blob: Float32Array, x: Float32Array, outputs: number) {
  const m = new WasmModule();
  emit(m);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const [xp, wp, yp] = [inst.put(x), inst.put(blob), inst.alloc(outputs * 4)];
  const f = inst.fn('conv');
  return { name, run: () => f(xp, wp, yp), output: () => Float32Array.from(inst.f32(yp, outputs)), bytes: blob.byteLength };
}

for (const g of geometries) {
  const x = randomFloats(g.Cin * g.H * g.W, 3);
  const outputs = g.Cout * g.OH * g.OW;
  for (const sparsity of sparsities) {
    const w = pruneUnstructured(randomFloats(g.Cout * g.Cin * g.kh * g.kw, 4), sparsity);
    const bias = randomFloats(g.Cout, 5);
    const dense: Conv2dKernel = { op: 'conv2d', node: 'c', ...g, group: 1, ins: [], y: 0 };
    const sparse: SparseConv2dKernel = { op: 'sparse-conv2d', node: 'c', ...g, ins: [], y: 0 };
    const ks = [
      await contender('dense', (m) => emitConv2d(m, 'conv', dense), packConv2d(dense, w, bias), x, outputs),
      await contender('sparse', (m) => emitSparseConv2d(m, 'conv', sparse), packSparseConv2d(sparse, w, bias), x, outputs),
    ];
    for (const k of ks) k.run();
    const err = maxRelError(ks[1]!.output(), ks[0]!.output());
    // Sums of up to Cin x 9 products in another order than the dense kernel's.
    if (err > 1e-3) throw new Error(`sparse differs from dense by ${err}`);
    const t = await timeCpuInterleaved(ks, { rounds: 21, inner: 2 });
    const [d, s] = [t[0]!.cpuMedianMs, t[1]!.cpuMedianMs];
    const density = 1 - sparsity;
    console.log(`${g.name} ${(sparsity * 100).toFixed(0)}%: dense ${d.toFixed(3)} ms, sparse ${s.toFixed(3)} ms: ${(d / s).toFixed(2)}x faster; sparse = ${(s / d / density).toFixed(2)} x density x dense; bytes ${(ks[1]!.bytes / (density * ks[0]!.bytes)).toFixed(2)}x density x dense`);
  }
}
