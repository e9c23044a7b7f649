// Convolution kernels over NCHW activations (batch 1): a zero-padding copy and a direct
// convolution of the padded input. Padding once up front keeps bounds checks out of the
// convolution's inner loop; every tap then sits at a fixed byte distance from the window's
// corner, which becomes the load instruction's immediate offset. Four neighbouring output
// pixels share one v128 accumulator: at stride 1 a tap's four input pixels are one unaligned
// load, at other strides four lane loads; a row's last OW % 4 pixels are computed one by one.

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import type { Conv2dKernel, Epilogue, Pad2dKernel } from '../../cnn-kernels.js';

const F = 4;

/** `count` floats from *src to *dst (v128 for whole groups of four), advancing both pointers. */
function copyRun(fn: FunctionScope, src: Local, dst: Local, count: number): ExprRef[] {
  const m = fn.m;
  const vectors = Math.floor(count / 4);
  return [
    repeat(fn, vectors, [m.v128.store(m.get(dst), m.v128.load(m.get(src))), bump(fn, src, 16), bump(fn, dst, 16)]),
    repeat(fn, count - vectors * 4, [m.f32.store(m.get(dst), m.f32.load(m.get(src))), bump(fn, src, F), bump(fn, dst, F)]),
  ];
}

/** Add `name(x, y)`: zero y, then copy each row of x to its place inside the border. */
export function emitPad2d(m: WasmModule, name: string, k: Pad2dKernel): void {
  const Hp = k.H + k.top + k.bottom;
  const Wp = k.W + k.left + k.right;
  const size = k.C * Hp * Wp;
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, yArg] = [fn.param(0), fn.param(1)];
    const [pz, py] = [fn.local(i32), fn.local(i32)];
    const vectors = Math.floor(size / 4);
    return [
      m.set(pz, m.get(yArg)),
      repeat(fn, vectors, [m.v128.store(m.get(pz), m.v128.zero()), bump(fn, pz, 16)]),
      repeat(fn, size - vectors * 4, [m.f32.store(m.get(pz), m.f32.const(0)), bump(fn, pz, F)]),
      m.set(py, m.i32.add(m.get(yArg), m.i32.const((k.top * Wp + k.left) * F))),
      repeat(fn, k.C, [
        repeat(fn, k.H, [...copyRun(fn, px, py, k.W), bump(fn, py, (Wp - k.W) * F)]),
        bump(fn, py, (k.top + k.bottom) * Wp * F),
      ]),
    ];
  });
}

/** Floats of the weight blob conv2d reads: weights [Cout, Cin/group, kh, kw], then the bias. */
export function packConv2d(k: Conv2dKernel, weight: Float32Array, bias: Float32Array | undefined): Float32Array {
  const n = k.Cout * (k.Cin / k.group) * k.kh * k.kw;
  if (weight.length !== n) throw new Error(`conv weight has ${weight.length} values, expected ${n}`);
  const out = new Float32Array(n + k.Cout);
  out.set(weight);
  if (bias) out.set(bias, n);
  return out;
}

/** Add `name(x, w, y)`: the direct convolution of Conv2dKernel (x padded, w from packConv2d). */
export function emitConv2d(m: WasmModule, name: string, k: Conv2dKernel): void {
  const cinG = k.Cin / k.group;
  const coutG = k.Cout / k.group;
  const taps = k.kh * k.kw;
  const plane = k.H * k.W * F;
  const biasAt = k.Cout * cinG * taps * F;
  // Byte distance of tap (ky, kx) from the window's top-left input pixel.
  const tapOffsets: number[] = [];
  for (let ky = 0; ky < k.kh; ky++) for (let kx = 0; kx < k.kw; kx++) tapOffsets.push((ky * k.dh * k.W + kx * k.dw) * F);
  const vectorized = Math.floor(k.OW / 4);
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [xg, pw, pb, py, prow, px, pxc, pwc] = Array.from({ length: 8 }, () => fn.local(i32));
    const accV = fn.local(v128);
    const acc = fn.local(f32);
    // One output pixel (or four): bias, then every input channel of the group and every tap.
    const pixel = (vector: boolean): ExprRef[] => {
      const target = vector ? accV : acc;
      const step: ExprRef[] = tapOffsets.map((off, t) => {
        const w = (vector ? m.v128.load32Splat : m.f32.load)(m.get(pwc), t * F);
        const x = vector ? loadPixels(m, pxc, off, k.sw) : m.f32.load(m.get(pxc), off);
        return m.set(target, vector ? m.madd(w, x, m.get(accV)) : m.f32.add(m.f32.mul(w, x), m.get(acc)));
      });
      const result = applyEpilogue(m, target, vector, k.epilogue);
      return [
        m.set(target, vector ? m.v128.load32Splat(m.get(pb)) : m.f32.load(m.get(pb))),
        m.set(pxc, m.get(px)),
        m.set(pwc, m.get(pw)),
        repeat(fn, cinG, [...step, bump(fn, pxc, plane), bump(fn, pwc, taps * F)]),
        vector ? m.v128.store(m.get(py), result) : m.f32.store(m.get(py), result),
        bump(fn, py, vector ? 16 : F),
        bump(fn, px, (vector ? 4 : 1) * k.sw * F),
      ];
    };
    return [
      m.set(xg, m.get(xArg)),
      m.set(pw, m.get(wArg)),
      m.set(pb, m.i32.add(m.get(wArg), m.i32.const(biasAt))),
      m.set(py, m.get(yArg)),
      repeat(fn, k.group, [
        repeat(fn, coutG, [
          m.set(prow, m.get(xg)),
          repeat(fn, k.OH, [
            m.set(px, m.get(prow)),
            repeat(fn, vectorized, pixel(true)),
            repeat(fn, k.OW - vectorized * 4, pixel(false)),
            bump(fn, prow, k.sh * k.W * F),
          ]),
          bump(fn, pw, cinG * taps * F),
          bump(fn, pb, F),
        ]),
        bump(fn, xg, cinG * plane),
      ]),
    ];
  });
}

/** Four input pixels `stride` apart from *ptr + offset: one v128 load at stride 1, else lane by lane. */
function loadPixels(m: WasmModule, ptr: Local, offset: number, stride: number): ExprRef {
  if (stride === 1) return m.v128.load(m.get(ptr), offset);
  let v = m.v128.load32Zero(m.get(ptr), offset);
  for (let lane = 1; lane < 4; lane++) v = m.v128.load32Lane(m.get(ptr), v, lane, offset + lane * stride * F);
  return v;
}

/** min(v, hi) per lane as -max(-v, -hi): exact, and needs only the ops the module layer has. */
export function vectorMin(m: WasmModule, v: ExprRef, hi: number): ExprRef {
  const minusOne = m.f32x4.splatConst(-1);
  return m.f32x4.mul(m.f32x4.max(m.f32x4.mul(v, minusOne), m.f32x4.splatConst(-hi)), minusOne);
}

/** The value of `acc` (v128 when `vector`, else f32) after the epilogue, if any. */
export function applyEpilogue(m: WasmModule, acc: Local, vector: boolean, ep: Epilogue | undefined): ExprRef {
  const clamp = (v: ExprRef, lo: number, hi: number) => (vector
    ? vectorMin(m, m.f32x4.max(v, m.f32x4.splatConst(lo)), hi)
    : m.f32.min(m.f32.max(v, m.f32.const(lo)), m.f32.const(hi)));
  if (!ep) return m.get(acc);
  if (ep.fn === 'clamp') return clamp(m.get(acc), ep.lo, ep.hi);
  const [mul, add, c] = vector ? [m.f32x4.mul, m.f32x4.add, m.f32x4.splatConst] : [m.f32.mul, m.f32.add, m.f32.const];
  return mul(m.get(acc), clamp(add(mul(m.get(acc), c(ep.alpha)), c(ep.beta)), 0, 1));
}
