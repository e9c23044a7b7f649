import { describe, expect, test } from 'vitest';
import { KernelInstance, KERNEL_SCRATCH } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitBsr } from './bsr.js';
import { BLOCK_SHAPES, blockShape, packBsr, type BlockLabel } from './bsr-format.js';
import { emitDense, packDense } from './dense.js';
import type { Activation, Epilogue } from './epilogue.js';
import { emitNM, packNM } from './nm.js';
import { matmulRef, maxRelError, pruneBlocks, pruneNM, pruneUnstructured, randomFloats, transpose } from './reference.js';
import { sparseRows } from './sparse-format.js';
import { emitSpmm, emitSpmmBaked, packSpmm, packSpmmBaked, type PackedSparse, type SparseSpec } from './spmm.js';
import { emitSpmv, packSpmv } from './spmv.js';

type Layout = 'dense' | 'csr' | 'csr-baked' | 'nm' | `bsr ${BlockLabel}`;

/** Weight pruned for the layout, the kernel emitted into `m`, and its packed blob. */
function build(m: WasmModule, layout: Layout, spec: SparseSpec, seed: number, bias?: Float32Array): { W: Float32Array; blob: Uint8Array } {
  const { K, N } = spec;
  const dense = randomFloats(K * N, seed);
  if (layout === 'dense') {
    emitDense(m, spec);
    const p = packDense(spec, dense, bias);
    return { W: dense, blob: new Uint8Array(p.buffer, p.byteOffset, p.byteLength) };
  }
  let W: Float32Array;
  let packed: PackedSparse;
  if (layout === 'nm') {
    W = pruneNM(dense, K, N, 2, 4);
    packed = packNM(spec, W, { n: 2, m: 4 }, bias);
    emitNM(m, { ...spec, scratch: KERNEL_SCRATCH }, packed.offsets, { n: 2, m: 4 });
  } else if (layout.startsWith('bsr')) {
    const label = layout.slice(4) as BlockLabel;
    const { rows, cols } = blockShape(label);
    W = pruneBlocks(dense, K, N, rows, cols, 0.6);
    packed = packBsr(spec, W, bias, label);
    emitBsr(m, spec, packed.offsets, label);
  } else {
    W = pruneUnstructured(dense, 0.7);
    const rows = sparseRows(W, K, N);
    if (layout === 'csr-baked') emitSpmmBaked(m, spec, rows, (packed = packSpmmBaked(spec, rows, bias)).offsets);
    else if (spec.M === 1) emitSpmv(m, spec, (packed = packSpmv(spec, rows, bias)).offsets);
    else emitSpmm(m, spec, (packed = packSpmm(spec, rows, bias)).offsets);
  }
  return { W, blob: packed.blob };
}

/** Run one kernel with `epilogue`; returns its error against matmulRef with the same epilogue. */
async function check(layout: Layout, M: number, K: number, N: number, epilogue: Epilogue, seed: number): Promise<number> {
  const spec: SparseSpec = { name: 'k', M, K, N, bias: seed % 2 === 0, epilogue };
  const X = randomFloats(M * K, seed + 1);
  const R = randomFloats(M * N, seed + 2);
  const bias = spec.bias ? randomFloats(N, seed + 3) : undefined;
  const m = new WasmModule();
  const { W, blob } = build(m, layout, spec, seed, bias);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  // Every layout but dense works on transposed activations (tokens contiguous); the residual
  // is laid out like the output.
  const rowMajor = layout === 'dense' || M === 1;
  const view = (A: Float32Array, rows: number, cols: number) => (rowMajor ? A : transpose(A, rows, cols));
  const x = inst.put(view(X, M, K));
  const w = inst.put(blob);
  const r = inst.put(view(R, M, N));
  const y = inst.alloc(M * N * 4 + 64);
  inst.f32(y, M * N + 16).fill(7);
  inst.fn('k')(...(epilogue.residual ? [x, w, y, r] : [x, w, y]));
  expect(Array.from(inst.f32(y + M * N * 4, 16))).toEqual(new Array(16).fill(7));
  const got = Float32Array.from(inst.f32(y, M * N));
  return maxRelError(rowMajor ? got : transpose(got, N, M), matmulRef(X, W, M, K, N, bias, epilogue, R));
}

const activations: Activation[] = ['none', 'relu', 'gelu', 'gelu_tanh'];
const shapes: [number, number, number][] = [[1, 24, 13], [3, 16, 9], [29, 32, 6], [64, 24, 10]];

describe('epilogues fused into every matrix kernel', () => {
  for (const layout of ['dense', 'csr', 'csr-baked', 'nm', ...BLOCK_SHAPES.map((b) => `bsr ${b}` as const)] as const) {
    test(`${layout}: activation then residual add, odd and vector-wide shapes`, async () => {
      let seed = 0;
      for (const [M, K, N] of shapes) {
        if (layout === 'csr-baked' && M === 1) continue;
        for (const activation of activations) {
          for (const residual of [false, true]) {
            const err = await check(layout, M, K, N, { activation, residual }, seed++);
            expect(err, `${layout} ${M}x${K}x${N} ${activation}${residual ? '+r' : ''}`).toBeLessThan(1e-4);
          }
        }
      }
    });
  }
});
