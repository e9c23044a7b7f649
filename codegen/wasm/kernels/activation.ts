// The activations of mobile CNNs: Clip (ReLU6), HardSigmoid and HardSwish, and the per-channel
// scaling of squeeze-excite blocks. All elementwise over static sizes: v128 for groups of four,
// scalar code for the rest.

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import type { ActivationKernel, ChannelScaleKernel } from '../../cnn-kernels.js';
import { clampS, clampV } from './cnn-epilogue.js';

const F = 4;

/** `vector` per group of four floats and `scalar` per leftover one, advancing `ptrs` (x first, y last). */
function overFloats(fn: FunctionScope, size: number, ptrs: Local[], vector: () => ExprRef[], scalar: () => ExprRef[]): ExprRef[] {
  const groups = Math.floor(size / 4);
  return [
    repeat(fn, groups, [...vector(), ...ptrs.map((p) => bump(fn, p, 16))]),
    repeat(fn, size - groups * 4, [...scalar(), ...ptrs.map((p) => bump(fn, p, F))]),
  ];
}

/** Add `name(x, y)` computing the ActivationKernel's function over `size` floats. */
export function emitActivation(m: WasmModule, name: string, k: ActivationKernel): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const [xv, xs] = [fn.local(v128), fn.local(f32)];
    const hardSigmoidV = () => clampV(m, m.f32x4.add(m.f32x4.mul(m.get(xv), m.f32x4.splatConst(k.a)), m.f32x4.splatConst(k.b)), 0, 1);
    const hardSigmoidS = () => clampS(m, m.f32.add(m.f32.mul(m.get(xs), m.f32.const(k.a)), m.f32.const(k.b)), 0, 1);
    const value = {
      clip: [() => clampV(m, m.get(xv), k.a, k.b), () => clampS(m, m.get(xs), k.a, k.b)],
      hardsigmoid: [hardSigmoidV, hardSigmoidS],
      hardswish: [() => m.f32x4.mul(m.get(xv), hardSigmoidV()), () => m.f32.mul(m.get(xs), hardSigmoidS())],
    }[k.fn] as [() => ExprRef, () => ExprRef];
    return overFloats(fn, k.size, [px, py],
      () => [m.set(xv, m.v128.load(m.get(px))), m.v128.store(m.get(py), value[0]())],
      () => [m.set(xs, m.f32.load(m.get(px))), m.f32.store(m.get(py), value[1]())]);
  });
}

/** Add `name(x, s, y)`: y [C, P] = x [C, P] * s [C]. */
export function emitChannelScale(m: WasmModule, name: string, k: ChannelScaleKernel): void {
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [px, ps, py] = [fn.param(0), fn.param(1), fn.param(2)];
    const [sv, s] = [fn.local(v128), fn.local(f32)];
    return [repeat(fn, k.channels, [
      m.set(s, m.f32.load(m.get(ps))),
      m.set(sv, m.f32x4.splat(m.get(s))),
      ...overFloats(fn, k.pixels, [px, py],
        () => [m.v128.store(m.get(py), m.f32x4.mul(m.v128.load(m.get(px)), m.get(sv)))],
        () => [m.f32.store(m.get(py), m.f32.mul(m.f32.load(m.get(px)), m.get(s)))]),
      bump(fn, ps, F),
    ])];
  });
}
