// Convolution kernels over NCHW activations (batch 1): a zero-padding copy and a direct
// convolution of the padded input (depthwise ones in depthwise.ts, which can pad per channel
// itself). Padding up front keeps bounds checks out of the convolution's inner loop; every tap
// then sits at a fixed byte distance from the window's corner, which becomes the load
// instruction's immediate offset.

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import type { Conv2dKernel, Pad2dKernel } from '../../cnn-kernels.js';
import { applyEpilogue } from './cnn-epilogue.js';
import { RowTaps } from './conv-taps.js';
import { copyRun, zeroRun } from './copy-runs.js';
import { emitDepthwise, isDepthwise } from './depthwise.js';

const F = 4;
/** Output channels a block of the direct kernel computes together (4, 6 and 8 ran alike on a 3->16 stride-2 stem, interleaved A/B; 4 leaves V8 registers to spare). */
const CONV_BLOCK = 4;

/**
 * Add `name(x, y)`: y walked once from start to end, writing each row of x (through the
 * activation, if any) and zeros only where the border is (y was zeroed whole, then copied
 * into: two writes of every interior float, and the pad ran 1.5x longer at 64x112x112).
 */
export function emitPad2d(m: WasmModule, name: string, k: Pad2dKernel): void {
  const Wp = k.W + k.left + k.right;
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const temps = { v: fn.local(v128), s: fn.local(f32) };
    // A function: binaryen expressions may not be shared, and the rows are emitted twice.
    const rows = () => [
      repeat(fn, k.H - 1, [...copyRun(fn, px, py, k.W, k.activation, temps), ...zeroRun(fn, py, k.right + k.left)]),
      ...copyRun(fn, px, py, k.W, k.activation, temps),
    ];
    return [
      ...zeroRun(fn, py, k.top * Wp + k.left),
      // Between two channels: this one's right and bottom border, the next one's top and left.
      repeat(fn, k.C - 1, [...rows(), ...zeroRun(fn, py, k.right + (k.bottom + k.top) * Wp + k.left)]),
      ...rows(),
      ...zeroRun(fn, py, k.right + k.bottom * Wp),
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

/**
 * Add `name(x, w, y)`: the direct convolution of Conv2dKernel (x padded, w from packConv2d).
 * Depthwise convolutions have their own kernel (depthwise.ts). Otherwise a block of up to
 * eight output channels of one group is computed together: each row of taps is loaded once
 * (RowTaps) and multiplied into the block's eight accumulators, so the loads (and the stride-2
 * shuffles) are shared by the block. Four neighbouring output pixels share one v128
 * accumulator; a row's last OW % 4 pixels are computed one by one.
 */
export function emitConv2d(m: WasmModule, name: string, k: Conv2dKernel): void {
  if (isDepthwise(k)) return emitDepthwise(m, name, k);
  const cinG = k.Cin / k.group;
  const coutG = k.Cout / k.group;
  const taps = k.kh * k.kw;
  const plane = k.H * k.W * F;
  const outPlane = k.OH * k.OW * F;
  const biasAt = k.Cout * cinG * taps * F;
  const vectorized = Math.floor(k.OW / 4);
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [xg, pw, pb, py, prow, px, pxc, pwc] = Array.from({ length: 8 }, () => fn.local(i32));
    const accV = Array.from({ length: CONV_BLOCK }, () => fn.local(v128));
    const accS = Array.from({ length: CONV_BLOCK }, () => fn.local(f32));
    const rowTaps = new RowTaps(fn, k.kw, k.sw, k.dw);
    // `cb` output channels x four output pixels (or one when not `vector`), from *px to *py.
    const pixels = (cb: number, vector: boolean): ExprRef[] => {
      const acc = vector ? accV : accS;
      const weightAt = (co: number, t: number) => (co * cinG * taps + t) * F;
      const step: ExprRef[] = [];
      for (let ky = 0; ky < k.kh; ky++) {
        const rowAt = ky * k.dh * k.W * F;
        if (vector) step.push(...rowTaps.load(pxc, rowAt));
        for (let kx = 0; kx < k.kw; kx++) {
          const t = ky * k.kw + kx;
          for (let co = 0; co < cb; co++) {
            step.push(vector
              ? m.set(acc[co]!, m.madd(m.v128.load32Splat(m.get(pwc), weightAt(co, t)), rowTaps.tap(kx), m.get(acc[co]!)))
              : m.set(acc[co]!, m.f32.add(m.f32.mul(m.f32.load(m.get(pwc), weightAt(co, t)), m.f32.load(m.get(pxc), rowAt + kx * k.dw * F)), m.get(acc[co]!))));
          }
        }
      }
      const out: ExprRef[] = [];
      for (let co = 0; co < cb; co++) out.push(m.set(acc[co]!, (vector ? m.v128.load32Splat : m.f32.load)(m.get(pb), co * F)));
      out.push(m.set(pxc, m.get(px)), m.set(pwc, m.get(pw)));
      out.push(repeat(fn, cinG, [...step, bump(fn, pxc, plane), bump(fn, pwc, taps * F)]));
      for (let co = 0; co < cb; co++) {
        const result = applyEpilogue(m, acc[co]!, vector, k.epilogue);
        out.push(vector ? m.v128.store(m.get(py), result, co * outPlane) : m.f32.store(m.get(py), result, co * outPlane));
      }
      out.push(bump(fn, py, vector ? 16 : F), bump(fn, px, (vector ? 4 : 1) * k.sw * F));
      return out;
    };
    const block = (cb: number): ExprRef[] => [
      m.set(prow, m.get(xg)),
      repeat(fn, k.OH, [
        m.set(px, m.get(prow)),
        repeat(fn, vectorized, pixels(cb, true)),
        repeat(fn, k.OW - vectorized * 4, pixels(cb, false)),
        bump(fn, prow, k.sh * k.W * F),
      ]),
      // py walked the block's first output plane; the next block starts after its last.
      bump(fn, py, (cb - 1) * outPlane),
      bump(fn, pw, cb * cinG * taps * F),
      bump(fn, pb, cb * F),
    ];
    const fullBlocks = Math.floor(coutG / CONV_BLOCK);
    const rest = coutG - fullBlocks * CONV_BLOCK;
    return [
      m.set(xg, m.get(xArg)),
      m.set(pw, m.get(wArg)),
      m.set(pb, m.i32.add(m.get(wArg), m.i32.const(biasAt))),
      m.set(py, m.get(yArg)),
      repeat(fn, k.group, [
        repeat(fn, fullBlocks, block(CONV_BLOCK)),
        ...(rest ? block(rest) : []),
        bump(fn, xg, cinG * plane),
      ]),
    ];
  });
}
