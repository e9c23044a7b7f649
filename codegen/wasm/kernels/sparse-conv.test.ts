// The direct sparse convolution against the reference executor's Conv (then Clip or
// HardSwish for the fused epilogues) on random pruned weights: strides 1, 2 and 3, pads,
// dilation, output widths from 3 to 57 (main strips, overlapping last vectors, several rows
// per strip, rows narrower than a vector), densities 0.1 to 0.7 (and over 300 input
// channels, gaps past one step).

import { setFlagsFromString } from 'node:v8';
import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../../ir/builder.js';
import { execute } from '../../../ir/executor/index.js';
import { Tensor } from '../../../ir/tensor.js';
import type { Epilogue, SparseConv2dKernel } from '../../cnn-kernels.js';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { maxRelError, pruneUnstructured, randomFloats, padded } from './reference.js';
import { emitSparseConv2d, packSparseConv2d } from './sparse-conv.js';

interface Case {
  Cin: number; H: number; W: number; Cout: number; k: number;
  stride: number; pad: number; dilation?: number; density: number;
  bias?: boolean; epilogue?: Epilogue;
  /** Keep only the weights at which this holds (after pruning to `density`). */
  keep?: (co: number, ci: number, tap: number) => boolean;
}

/** y of Conv (+ the epilogue as graph ops) by the reference executor. */
function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | undefined): Tensor {
  const b = new GraphBuilder('ref');
  const xv = b.input('x', 'float32', [1, c.Cin, c.H, c.W]);
  const ins = [xv, b.constant('w', Tensor.float32(w, [c.Cout, c.Cin, c.k, c.k])), ...(bias ? [b.constant('b', Tensor.float32(bias, [c.Cout]))] : [])];
  const d = c.dilation ?? 1;
  let y = b.op('Conv', ins, { attrs: { kernel_shape: [c.k, c.k], strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad], dilations: [d, d] } });
  const ep = c.epilogue;
  if (ep?.fn === 'clamp') y = b.op('Clip', [y, b.constant('lo', Tensor.float32([ep.lo], [])), b.constant('hi', Tensor.float32([ep.hi], []))]);
  if (ep?.fn === 'hardswish') y = b.op('Mul', [y, b.op('HardSigmoid', [y], { attrs: { alpha: ep.alpha, beta: ep.beta } })]);
  b.output(b.op('Identity', [y], { outputs: ['y'] }));
  return execute(b.graph, { x: new Tensor('float32', [1, c.Cin, c.H, c.W], x) }).get('y')!;
}

async function check(c: Case, seed: number, relaxedSimd = false): Promise<number> {
  const d = c.dilation ?? 1;
  const [Hp, Wp] = [c.H + 2 * c.pad, c.W + 2 * c.pad];
  const span = d * (c.k - 1) + 1;
  const [OH, OW] = [Math.floor((Hp - span) / c.stride) + 1, Math.floor((Wp - span) / c.stride) + 1];
  const kernel: SparseConv2dKernel = {
    op: 'sparse-conv2d', node: 'conv', Cin: c.Cin, H: Hp, W: Wp, Cout: c.Cout, OH, OW, kh: c.k, kw: c.k,
    sh: c.stride, sw: c.stride, dh: d, dw: d, ins: [], y: 0, ...(c.epilogue ? { epilogue: c.epilogue } : {}),
  };
  const x = randomFloats(c.Cin * c.H * c.W, seed);
  const w = pruneUnstructured(randomFloats(c.Cout * c.Cin * c.k * c.k, seed + 1), 1 - c.density);
  const taps = c.k * c.k;
  if (c.keep) w.forEach((_, i) => { if (!c.keep!(Math.floor(i / (c.Cin * taps)), Math.floor(i / taps) % c.Cin, i % taps)) w[i] = 0; });
  const bias = c.bias ? randomFloats(c.Cout, seed + 2) : undefined;
  const m = new WasmModule({ relaxedSimd });
  emitSparseConv2d(m, 'conv', kernel);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const xp = inst.put(padded(x, c.Cin, c.H, c.W, c.pad));
  const wp = inst.put(packSparseConv2d(kernel, w, bias));
  const size = c.Cout * OH * OW;
  const yp = inst.alloc(size * 4 + 64);
  inst.f32(yp, size + 16).fill(7);
  inst.fn('conv')(xp, wp, yp);
  // Nothing written past y.
  expect(Array.from(inst.f32(yp + size * 4, 16))).toEqual(new Array(16).fill(7));
  const want = reference(c, x, w, bias);
  expect(want.shape).toEqual([1, c.Cout, OH, OW]);
  return maxRelError(Float32Array.from(inst.f32(yp, size)), want.data as Float32Array);
}

const relu6: Epilogue = { fn: 'clamp', lo: 0, hi: 6 };
const hardswish: Epilogue = { fn: 'hardswish', alpha: 1 / 6, beta: 0.5 };

const cases: Case[] = [
  { Cin: 3, H: 5, W: 5, Cout: 2, k: 3, stride: 1, pad: 1, density: 0.7 },
  { Cin: 8, H: 9, W: 31, Cout: 5, k: 3, stride: 1, pad: 1, density: 0.3, bias: true },
  { Cin: 6, H: 7, W: 57, Cout: 4, k: 3, stride: 1, pad: 1, density: 0.1, bias: true, epilogue: relu6 },
  { Cin: 5, H: 11, W: 13, Cout: 6, k: 3, stride: 2, pad: 1, density: 0.5, bias: true },
  { Cin: 4, H: 12, W: 62, Cout: 3, k: 3, stride: 2, pad: 1, density: 0.2, epilogue: hardswish },
  { Cin: 7, H: 10, W: 9, Cout: 4, k: 3, stride: 2, pad: 0, density: 0.6, bias: true, epilogue: relu6 },
  { Cin: 4, H: 9, W: 14, Cout: 3, k: 3, stride: 1, pad: 0, density: 0.4 },
  { Cin: 3, H: 13, W: 29, Cout: 4, k: 5, stride: 1, pad: 2, density: 0.5, bias: true, epilogue: hardswish },
  { Cin: 4, H: 15, W: 40, Cout: 3, k: 3, stride: 3, pad: 1, density: 0.5, bias: true },
  { Cin: 3, H: 12, W: 27, Cout: 2, k: 3, stride: 1, pad: 2, dilation: 2, density: 0.6 },
  { Cin: 5, H: 4, W: 5, Cout: 3, k: 3, stride: 1, pad: 0, density: 0.7, bias: true, epilogue: relu6 },
  { Cin: 6, H: 9, W: 26, Cout: 4, k: 3, stride: 1, pad: 0, density: 0.5 },
  { Cin: 16, H: 14, W: 14, Cout: 8, k: 3, stride: 1, pad: 1, density: 0.2, bias: true },
  // Lists with gaps past 255 input channels (padding records): inputs 0, 299 and 3 x 97.
  { Cin: 300, H: 4, W: 6, Cout: 2, k: 3, stride: 1, pad: 1, density: 1, bias: true, keep: (co, ci, t) => (ci % 97 === 0 && co === 0) || (ci === 299 && t !== 4) },
];

describe('direct sparse convolution', () => {
  for (const [i, c] of cases.entries()) {
    const name = `${c.Cin}->${c.Cout} ${c.k}x${c.k} on ${c.H}x${c.W}, stride ${c.stride}, pad ${c.pad}${c.dilation ? `, dilation ${c.dilation}` : ''}, ${c.density * 100}% dense${c.bias ? ', bias' : ''}${c.epilogue ? `, ${c.epilogue.fn}` : ''}`;
    test(name, async () => {
      expect(await check(c, 10 + i * 7)).toBeLessThan(1e-5);
    });
  }

  test('relaxed fused multiply-add build, strides 1 and 2 (relaxed SIMD turned on at run time, as Node 20 needs a flag)', async () => {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    for (const i of [1, 4]) expect(await check(cases[i]!, 10 + i * 7, true)).toBeLessThan(1e-4);
  });

  test('an output channel with no nonzero taps is its bias (through the epilogue)', async () => {
    const geometry = { Cin: 2, H: 4, W: 6, Cout: 3, OH: 2, OW: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1 };
    const w = randomFloats(3 * 2 * 9, 3);
    w.fill(0, 18, 36); // channel 1: no taps
    const kernel: SparseConv2dKernel = { op: 'sparse-conv2d', node: 'c', ...geometry, ins: [], y: 0, epilogue: { fn: 'clamp', lo: -1, hi: 0.25 } };
    const m = new WasmModule();
    emitSparseConv2d(m, 'conv', kernel);
    const inst = await KernelInstance.create(m.emitBinary());
    m.dispose();
    const xp = inst.put(randomFloats(2 * 4 * 6, 4));
    const wp = inst.put(packSparseConv2d(kernel, w, Float32Array.from([0.1, 0.5, -3])));
    const yp = inst.alloc(3 * 8 * 4);
    inst.fn('conv')(xp, wp, yp);
    expect(Array.from(inst.f32(yp + 8 * 4, 8))).toEqual(new Array(8).fill(0.25));
  });

  test('packing: tap offsets, bias, list lengths per (channel, tap), values, one-byte input channel steps', () => {
    const geometry = { Cin: 2, H: 5, W: 7, Cout: 2, OH: 3, OW: 5, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1 };
    const w = new Float32Array(2 * 2 * 9);
    w[0 * 18 + 1 * 9 + 2 * 3 + 1] = 2.5; // channel 0: input 1, ky 2, kx 1 (tap 7)
    w[1 * 18 + 0] = -1; // channel 1: input 0, tap 0
    w[1 * 18 + 4] = 3; // channel 1: input 0, tap 4
    const bytes = new DataView(packSparseConv2d(geometry, w, Float32Array.from([0.5, -2])).buffer);
    const [tapsAt, biasAt, countsAt, valuesAt, stepsAt] = [16, 16 + 9 * 4, 16 + 9 * 4 + 8, 96, 96 + 3 * 4];
    expect(bytes.byteLength).toBe(112);
    expect(bytes.getInt32(0, true)).toBe(stepsAt);
    expect([1, 3, 7].map((t) => bytes.getInt32(tapsAt + t * 4, true))).toEqual([4, 7 * 4, (2 * 7 + 1) * 4]);
    expect([bytes.getFloat32(biasAt, true), bytes.getFloat32(biasAt + 4, true)]).toEqual([0.5, -2]);
    const counts = Array.from({ length: 18 }, (_, n) => bytes.getUint16(countsAt + n * 2, true));
    expect(counts).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect([0, 1, 2].map((j) => bytes.getFloat32(valuesAt + j * 4, true))).toEqual([2.5, -1, 3]);
    expect([0, 1, 2].map((j) => bytes.getUint8(stepsAt + j))).toEqual([1, 0, 0]);
  });
});
