// Depthwise convolution (groups = input channels = output channels) of a padded NCHW input,
// vectorized over output pixels. Each channel's taps and bias are broadcast into v128 locals
// once and serve every pixel of the channel (the general direct kernel reloads them per tap
// and pixel group). Two output rows are computed together, four pixels per step, with one
// accumulator each: two independent multiply-add chains overlap (one chain of kh*kw dependent
// adds per four pixels was latency-bound), and an input row both output rows read is loaded
// once (at stride 1, four input rows serve two output rows instead of six: 1.4x the one-row
// form with eight pixels per step on 96x56x56, 1.1x at stride 2; three rows at a time ran no
// faster, CPU-time A/B). Tap vectors come from RowTaps: unaligned loads at stride 1, even/odd
// shuffles at stride 2. An odd last row goes eight pixels per step; leftover pixels one by one.
//
// With `pad` the kernel takes the unpadded input and copies one channel at a time into a
// small padded plane (zeroed once; its border is never written), applying the pending
// activation as it copies, then convolves the plane while it is in cache. That replaces a
// pad2d pass over the whole tensor (a read and a write of every activation through memory).

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import type { Conv2dKernel } from '../../cnn-kernels.js';
import { applyEpilogue } from './cnn-epilogue.js';
import { RowTaps } from './conv-taps.js';
import { copyRun, zeroRun } from './copy-runs.js';

const F = 4;

/** True when the depthwise kernel runs `k` (weights laid out as packConv2d's). */
export function isDepthwise(k: Conv2dKernel): boolean {
  return k.group === k.Cin && k.Cout === k.Cin;
}

/** Add `name(x, w, y)` (x padded), or `name(x, w, plane, y)` with `pad`, for a depthwise Conv2dKernel (w from packConv2d). */
export function emitDepthwise(m: WasmModule, name: string, k: Conv2dKernel): void {
  const taps = k.kh * k.kw;
  const planeBytes = k.H * k.W * F;
  const rowBytes = k.W * F;
  const pairs = Math.floor(k.OW / 8);
  const singles = Math.floor((k.OW - pairs * 8) / 4);
  const quads = Math.floor(k.OW / 4);
  const scalars = k.OW - quads * 4;
  const pad = k.pad;
  m.addFunction(name, pad ? [i32, i32, i32, i32] : [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(pad ? 3 : 2)];
    const [xc, pw, pb, py, prow, px] = Array.from({ length: 6 }, () => fn.local(i32));
    const weights = Array.from({ length: taps }, () => fn.local(v128));
    const bias = fn.local(v128);
    const acc = [fn.local(v128), fn.local(v128)];
    const accS = fn.local(f32);
    const rowTaps = new RowTaps(fn, k.kw, k.sw, k.dw);

    /** `vectors` groups of four output pixels from *px, stored from *py. */
    const vectorStep = (vectors: number): ExprRef[] => {
      const out: ExprRef[] = [];
      for (let v = 0; v < vectors; v++) out.push(m.set(acc[v]!, m.get(bias)));
      for (let ky = 0; ky < k.kh; ky++) {
        for (let v = 0; v < vectors; v++) {
          out.push(...rowTaps.load(px, ky * k.dh * rowBytes + v * 4 * k.sw * F));
          for (let kx = 0; kx < k.kw; kx++) out.push(m.set(acc[v]!, m.madd(m.get(weights[ky * k.kw + kx]!), rowTaps.tap(kx), m.get(acc[v]!))));
        }
      }
      for (let v = 0; v < vectors; v++) out.push(m.v128.store(m.get(py), applyEpilogue(m, acc[v]!, true, k.epilogue), v * 16));
      out.push(bump(fn, py, vectors * 16), bump(fn, px, vectors * 4 * k.sw * F));
      return out;
    };
    /** Four output pixels of `rows` consecutive output rows from *px; row r is stored at *py + r * OW floats. */
    const rowPairStep = (rows: number): ExprRef[] => {
      const out: ExprRef[] = [];
      // Each distinct input row the output rows read is loaded once (at stride 1 two output
      // rows share two of their three input rows).
      const readers = new Map<number, { r: number; ky: number }[]>();
      for (let r = 0; r < rows; r++) {
        out.push(m.set(acc[r]!, m.get(bias)));
        for (let ky = 0; ky < k.kh; ky++) {
          const at = (r * k.sh + ky * k.dh) * rowBytes;
          readers.set(at, [...(readers.get(at) ?? []), { r, ky }]);
        }
      }
      for (const [at, users] of [...readers].sort((a, b) => a[0] - b[0])) {
        out.push(...rowTaps.load(px, at));
        for (const { r, ky } of users) {
          for (let kx = 0; kx < k.kw; kx++) out.push(m.set(acc[r]!, m.madd(m.get(weights[ky * k.kw + kx]!), rowTaps.tap(kx), m.get(acc[r]!))));
        }
      }
      for (let r = 0; r < rows; r++) out.push(m.v128.store(m.get(py), applyEpilogue(m, acc[r]!, true, k.epilogue), r * k.OW * F));
      out.push(bump(fn, py, 16), bump(fn, px, 4 * k.sw * F));
      return out;
    };
    /** One output pixel of `rows` output rows (as rowPairStep). */
    const scalarStep = (rows = 1): ExprRef[] => {
      const out: ExprRef[] = [];
      for (let r = 0; r < rows; r++) {
        out.push(m.set(accS, m.f32x4.extractLane(m.get(bias), 0)));
        for (let ky = 0; ky < k.kh; ky++) {
          for (let kx = 0; kx < k.kw; kx++) {
            const x = m.f32.load(m.get(px), ((r * k.sh + ky * k.dh) * k.W + kx * k.dw) * F);
            out.push(m.set(accS, m.f32.add(m.f32.mul(m.f32x4.extractLane(m.get(weights[ky * k.kw + kx]!), 0), x), m.get(accS))));
          }
        }
        out.push(m.f32.store(m.get(py), applyEpilogue(m, accS, false, k.epilogue), r * k.OW * F));
      }
      out.push(bump(fn, py, F), bump(fn, px, k.sw * F));
      return out;
    };
    // With `pad`: xc walks the unpadded input, each channel is copied into the plane, and the
    // convolution reads the plane.
    const channelInput: ExprRef[] = [];
    const setup: ExprRef[] = [];
    let source = xc;
    if (pad) {
      const plane = fn.param(2);
      const [pd, temps] = [fn.local(i32), { v: fn.local(v128), s: fn.local(f32) }];
      const width = k.W - pad.left - pad.right;
      setup.push(m.set(pd, m.get(plane)), ...zeroRun(fn, pd, k.H * k.W));
      channelInput.push(
        m.set(pd, m.i32.add(m.get(plane), m.i32.const((pad.top * k.W + pad.left) * F))),
        repeat(fn, k.H - pad.top - pad.bottom, [...copyRun(fn, xc, pd, width, k.inputActivation, temps), bump(fn, pd, (k.W - width) * F)]),
      );
      source = plane;
    }
    return [
      m.set(xc, m.get(xArg)),
      m.set(pw, m.get(wArg)),
      m.set(pb, m.i32.add(m.get(wArg), m.i32.const(k.Cout * taps * F))),
      m.set(py, m.get(yArg)),
      ...setup,
      repeat(fn, k.Cout, [
        ...weights.map((w, t) => m.set(w, m.v128.load32Splat(m.get(pw), t * F))),
        m.set(bias, m.v128.load32Splat(m.get(pb))),
        ...channelInput,
        m.set(prow, m.get(source)),
        // Two output rows at a time, four pixels per step.
        repeat(fn, Math.floor(k.OH / 2), [
          m.set(px, m.get(prow)),
          repeat(fn, quads, rowPairStep(2)),
          repeat(fn, scalars, scalarStep(2)),
          // py walked the first row; the second is written.
          bump(fn, py, k.OW * F),
          bump(fn, prow, 2 * k.sh * rowBytes),
        ]),
        // An odd last row: eight pixels per step.
        ...(k.OH % 2 ? [
          m.set(px, m.get(prow)),
          repeat(fn, pairs, vectorStep(2)),
          repeat(fn, singles, vectorStep(1)),
          repeat(fn, scalars, scalarStep()),
        ] : []),
        bump(fn, pw, taps * F),
        bump(fn, pb, F),
        // copyRun advanced xc through the channel already.
        ...(pad ? [] : [bump(fn, xc, planeBytes)]),
      ]),
    ];
  });
}
