// The direct convolution kernels (the output-channel-blocked dense kernel and the depthwise
// kernel) against the reference executor's Conv (then Clip or HardSwish for the fused
// epilogues): strides 1, 2 and 3 (the stride-2 shuffle taps and the lane-load fallback),
// kernel widths 1 to 5, dilation, groups, odd widths (8-, 4- and 1-pixel steps) and channel
// counts that leave a partial block of eight.

import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Value } from '../../../ir/graph.js';
import { execute } from '../../../ir/executor/index.js';
import { Tensor } from '../../../ir/tensor.js';
import type { Conv2dKernel, Epilogue } from '../../cnn-kernels.js';
import { KernelInstance } from '../harness.js';
import { WasmModule } from '../module.js';
import { emitConv2d, packConv2d } from './conv.js';
import { isDepthwise } from './depthwise.js';
import { maxRelError, randomFloats, padded } from './reference.js';

interface Case {
  Cin: number; H: number; W: number; Cout: number; kh: number; kw: number;
  stride: number; pad: number; dilation?: number; group?: number;
  bias?: boolean; epilogue?: Epilogue;
  /** Depthwise only: the kernel pads each channel itself, applying this activation to x first ('none': none). */
  selfPad?: Epilogue | 'none';
}

function activation(b: GraphBuilder, v: Value, ep: Epilogue): Value {
  if (ep.fn === 'clamp') return b.op('Clip', [v, b.constant(`lo${v.name}`, Tensor.float32([ep.lo], [])), b.constant(`hi${v.name}`, Tensor.float32([ep.hi], []))]);
  return b.op('Mul', [v, b.op('HardSigmoid', [v], { attrs: { alpha: ep.alpha, beta: ep.beta } })]);
}

function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | undefined): Tensor {
  const b = new GraphBuilder('ref');
  const g = c.group ?? 1;
  const x0 = b.input('x', 'float32', [1, c.Cin, c.H, c.W]);
  const xv = c.selfPad && c.selfPad !== 'none' ? activation(b, x0, c.selfPad) : x0;
  const ins = [xv, b.constant('w', Tensor.float32(w, [c.Cout, c.Cin / g, c.kh, c.kw])), ...(bias ? [b.constant('b', Tensor.float32(bias, [c.Cout]))] : [])];
  const d = c.dilation ?? 1;
  let y = b.op('Conv', ins, { attrs: { kernel_shape: [c.kh, c.kw], strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad], dilations: [d, d], group: g } });
  if (c.epilogue) y = activation(b, y, c.epilogue);
  b.output(b.op('Identity', [y], { outputs: ['y'] }));
  return execute(b.graph, { x: new Tensor('float32', [1, c.Cin, c.H, c.W], x) }).get('y')!;
}

function kernelOf(c: Case): Conv2dKernel {
  const d = c.dilation ?? 1;
  const [Hp, Wp] = [c.H + 2 * c.pad, c.W + 2 * c.pad];
  const OH = Math.floor((Hp - d * (c.kh - 1) - 1) / c.stride) + 1;
  const OW = Math.floor((Wp - d * (c.kw - 1) - 1) / c.stride) + 1;
  return {
    op: 'conv2d', node: 'conv', Cin: c.Cin, H: Hp, W: Wp, Cout: c.Cout, OH, OW, kh: c.kh, kw: c.kw,
    sh: c.stride, sw: c.stride, dh: d, dw: d, group: c.group ?? 1, ins: [], y: 0, ...(c.epilogue ? { epilogue: c.epilogue } : {}),
    ...(c.selfPad ? { pad: { top: c.pad, left: c.pad, bottom: c.pad, right: c.pad } } : {}),
    ...(c.selfPad && c.selfPad !== 'none' ? { inputActivation: c.selfPad } : {}),
  };
}

async function check(c: Case, seed: number): Promise<number> {
  const kernel = kernelOf(c);
  const x = randomFloats(c.Cin * c.H * c.W, seed).map((v) => v * 4);
  const w = randomFloats(c.Cout * (c.Cin / (c.group ?? 1)) * c.kh * c.kw, seed + 1);
  const bias = c.bias ? randomFloats(c.Cout, seed + 2) : undefined;
  const m = new WasmModule();
  emitConv2d(m, 'conv', kernel);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const xp = inst.put(c.selfPad ? x : padded(x, c.Cin, c.H, c.W, c.pad));
  const wp = inst.put(packConv2d(kernel, w, bias));
  const size = c.Cout * kernel.OH * kernel.OW;
  // The plane starts as garbage: the kernel zeroes its border.
  const plane = c.selfPad ? inst.put(new Float32Array(kernel.H * kernel.W).fill(Number.NaN)) : undefined;
  const yp = inst.alloc(size * 4 + 64);
  inst.f32(yp, size + 16).fill(7);
  inst.fn('conv')(...(plane === undefined ? [xp, wp, yp] : [xp, wp, plane, yp]));
  // Nothing written past y.
  expect(Array.from(inst.f32(yp + size * 4, 16))).toEqual(new Array(16).fill(7));
  const want = reference(c, x, w, bias);
  expect(want.shape).toEqual([1, c.Cout, kernel.OH, kernel.OW]);
  return maxRelError(Float32Array.from(inst.f32(yp, size)), want.data as Float32Array);
}

const relu6: Epilogue = { fn: 'clamp', lo: 0, hi: 6 };
const hardswish: Epilogue = { fn: 'hardswish', alpha: 1 / 6, beta: 0.5 };

const dense: Case[] = [
  { Cin: 3, H: 17, W: 19, Cout: 16, kh: 3, kw: 3, stride: 2, pad: 1, bias: true, epilogue: relu6 },
  { Cin: 3, H: 13, W: 35, Cout: 11, kh: 3, kw: 3, stride: 2, pad: 1, epilogue: hardswish },
  { Cin: 5, H: 9, W: 14, Cout: 3, kh: 3, kw: 3, stride: 1, pad: 1, bias: true },
  { Cin: 2, H: 10, W: 23, Cout: 9, kh: 2, kw: 2, stride: 2, pad: 0, bias: true },
  { Cin: 2, H: 11, W: 21, Cout: 4, kh: 1, kw: 1, stride: 2, pad: 0 },
  { Cin: 3, H: 15, W: 40, Cout: 5, kh: 3, kw: 3, stride: 3, pad: 1, bias: true },
  { Cin: 4, H: 12, W: 27, Cout: 10, kh: 5, kw: 5, stride: 2, pad: 2, group: 2, bias: true },
  { Cin: 3, H: 12, W: 27, Cout: 2, kh: 3, kw: 3, stride: 1, pad: 2, dilation: 2 },
];

const depthwise: Case[] = [
  { Cin: 6, H: 9, W: 10, Cout: 6, kh: 3, kw: 3, stride: 1, pad: 1, group: 6 },
  { Cin: 5, H: 11, W: 29, Cout: 5, kh: 3, kw: 3, stride: 1, pad: 1, group: 5, bias: true, epilogue: relu6 },
  { Cin: 7, H: 12, W: 33, Cout: 7, kh: 3, kw: 3, stride: 2, pad: 1, group: 7, bias: true, epilogue: hardswish },
  { Cin: 4, H: 9, W: 18, Cout: 4, kh: 3, kw: 3, stride: 2, pad: 1, group: 4 },
  { Cin: 3, H: 8, W: 21, Cout: 3, kh: 5, kw: 5, stride: 2, pad: 2, group: 3, bias: true },
  { Cin: 3, H: 13, W: 22, Cout: 3, kh: 3, kw: 3, stride: 3, pad: 1, group: 3 },
  { Cin: 2, H: 12, W: 27, Cout: 2, kh: 3, kw: 3, stride: 1, pad: 2, dilation: 2, group: 2, epilogue: relu6 },
  { Cin: 4, H: 6, W: 7, Cout: 4, kh: 1, kw: 3, stride: 2, pad: 0, group: 4 },
  { Cin: 5, H: 11, W: 29, Cout: 5, kh: 3, kw: 3, stride: 1, pad: 1, group: 5, bias: true, selfPad: 'none' },
  { Cin: 6, H: 13, W: 30, Cout: 6, kh: 3, kw: 3, stride: 2, pad: 1, group: 6, bias: true, epilogue: hardswish, selfPad: relu6 },
  { Cin: 3, H: 9, W: 17, Cout: 3, kh: 3, kw: 3, stride: 1, pad: 1, group: 3, epilogue: relu6, selfPad: hardswish },
  { Cin: 3, H: 8, W: 21, Cout: 3, kh: 5, kw: 5, stride: 2, pad: 2, group: 3, selfPad: { fn: 'clamp', lo: -0.5, hi: 0.5 } },
];

const describeCase = (c: Case) => `${c.Cin}->${c.Cout} ${c.kh}x${c.kw} on ${c.H}x${c.W}, stride ${c.stride}, pad ${c.pad}${c.dilation ? `, dilation ${c.dilation}` : ''}${c.group ? `, ${c.group} groups` : ''}${c.bias ? ', bias' : ''}${c.epilogue ? `, ${c.epilogue.fn}` : ''}${c.selfPad ? `, padded in the kernel${c.selfPad === 'none' ? '' : ` after ${c.selfPad.fn}`}` : ''}`;

describe('direct convolution (output-channel blocks)', () => {
  for (const [i, c] of dense.entries()) {
    test(describeCase(c), async () => {
      expect(isDepthwise(kernelOf(c))).toBe(false);
      expect(await check(c, 10 + i * 7)).toBeLessThan(1e-5);
    });
  }
});

describe('depthwise convolution', () => {
  for (const [i, c] of depthwise.entries()) {
    test(describeCase(c), async () => {
      expect(isDepthwise(kernelOf(c))).toBe(true);
      expect(await check(c, 100 + i * 7)).toBeLessThan(1e-5);
    });
  }
});

test('relaxed fused multiply-add builds validate (depthwise padded in the kernel, and output-channel blocks)', () => {
  for (const c of [depthwise[9]!, dense[0]!]) {
    const m = new WasmModule({ relaxedSimd: true });
    emitConv2d(m, 'conv', kernelOf(c));
    expect(m.validate()).toBe(true);
    expect(m.emitText()).toContain('f32x4.relaxed_madd');
    m.dispose();
  }
});
