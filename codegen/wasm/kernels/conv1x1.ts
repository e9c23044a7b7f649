// Dense pointwise (1x1) convolution over NCHW activations (batch 1):
//   y [Cout, P] = Wc [Cout, Cin] @ x [Cin, P] (+ bias) (then an epilogue: clip or hardswish),
// the dense counterpart of the sparse kernels on the same pixel-contiguous layout. The weight
// is packed at build time in blocks of 4 output channels, k-major ([Cout/4][Cin][4], zero
// padded), so one k step of a block reads 4 consecutive floats. The register tile is 4
// channels x 8 pixels (8 v128 accumulators, 2 pixel vectors, 1 broadcast weight: 11 live
// values, under V8's 16). Pixel tails take a 4-pixel and a scalar strip; the last block keeps
// only the channels that exist. Shapes are static, so every variant is straight-line code.

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import type { Pointwise1x1Kernel } from '../../cnn-kernels.js';
import { applyEpilogue } from './cnn-epilogue.js';

const F = 4;
const MR = 4;
const STRIP = 8;

/** Weights [Cout/4 blocks][Cin][4] (zero padded), then the bias padded to whole blocks. */
export function packPointwise(k: Pointwise1x1Kernel, weight: Float32Array, bias: Float32Array | undefined): Float32Array {
  const { Cin, Cout } = k;
  if (weight.length !== Cin * Cout) throw new Error(`1x1 weight has ${weight.length} values, expected ${Cout}x${Cin}`);
  const blocks = Math.ceil(Cout / MR);
  const out = new Float32Array(blocks * MR * (Cin + 1));
  for (let co = 0; co < Cout; co++) {
    const blk = Math.floor(co / MR);
    for (let ci = 0; ci < Cin; ci++) out[(blk * Cin + ci) * MR + (co % MR)] = weight[co * Cin + ci]!;
  }
  if (bias) out.set(bias, blocks * MR * Cin);
  return out;
}

/** Add `name(x, w, y)`: the product of Pointwise1x1Kernel, w from packPointwise. */
export function emitPointwise(m: WasmModule, name: string, k: Pointwise1x1Kernel): void {
  const { Cin, Cout, pixels: P } = k;
  const blocks = Math.ceil(Cout / MR);
  const rowBytes = P * F;
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pw, pb, px, py, pk, pwk] = Array.from({ length: 6 }, () => fn.local(i32));
    const vecAcc = Array.from({ length: MR * 2 }, () => fn.local(v128));
    const scaAcc = Array.from({ length: MR }, () => fn.local(f32));
    const xv = [fn.local(v128), fn.local(v128)];
    const [wv, ws, xs] = [fn.local(v128), fn.local(f32), fn.local(f32)];
    const ctx: Strip = { fn, k, rowBytes, pb, px, py, pk, pwk, pw, vecAcc, scaAcc, xv, wv, ws, xs };
    const block = (rows: number): ExprRef[] => {
      const full = Math.floor(P / STRIP);
      const rest = P - full * STRIP;
      return [
        m.set(px, m.get(xArg)),
        repeat(fn, full, strip(ctx, rows, 2)),
        ...(rest >= 4 ? strip(ctx, rows, 1) : []),
        repeat(fn, rest % 4, strip(ctx, rows, 0)),
        bump(fn, pw, Cin * MR * F),
        bump(fn, pb, MR * F),
        // The strips walked py along this block's first output row; move to the next block.
        m.set(py, m.i32.add(m.get(py), m.i32.const((MR - 1) * rowBytes))),
      ];
    };
    return [
      m.set(pw, m.get(wArg)),
      m.set(pb, m.i32.add(m.get(wArg), m.i32.const(blocks * MR * Cin * F))),
      m.set(py, m.get(yArg)),
      repeat(fn, Math.floor(Cout / MR), block(MR)),
      ...(Cout % MR ? block(Cout % MR) : []),
    ];
  });
}

interface Strip {
  fn: FunctionScope;
  k: Pointwise1x1Kernel;
  rowBytes: number;
  pb: Local; px: Local; py: Local; pk: Local; pwk: Local; pw: Local;
  vecAcc: Local[]; scaAcc: Local[]; xv: Local[]; wv: Local; ws: Local; xs: Local;
}

/** `rows` channels x (vectors * 4 pixels, or 1 pixel when vectors is 0): init, k loop, epilogue, store; advances px and py. */
function strip(c: Strip, rows: number, vectors: number): ExprRef[] {
  const { fn, k, rowBytes } = c;
  const m = fn.m;
  const vector = vectors > 0;
  const acc = (r: number, v: number) => (vector ? c.vecAcc[r * 2 + v]! : c.scaAcc[r]!);
  const out: ExprRef[] = [];
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < Math.max(vectors, 1); v++) {
      const init = k.bias ? (vector ? m.v128.load32Splat(m.get(c.pb), r * F) : m.f32.load(m.get(c.pb), r * F)) : (vector ? m.v128.zero() : m.f32.const(0));
      out.push(m.set(acc(r, v), init));
    }
  }
  const step: ExprRef[] = [];
  for (let v = 0; v < vectors; v++) step.push(m.set(c.xv[v]!, m.v128.load(m.get(c.pk), v * 16)));
  if (!vector) step.push(m.set(c.xs, m.f32.load(m.get(c.pk))));
  for (let r = 0; r < rows; r++) {
    if (vector) {
      step.push(m.set(c.wv, m.v128.load32Splat(m.get(c.pwk), r * F)));
      for (let v = 0; v < vectors; v++) step.push(m.set(acc(r, v), m.madd(m.get(c.wv), m.get(c.xv[v]!), m.get(acc(r, v)))));
    } else {
      step.push(m.set(acc(r, 0), m.f32.add(m.f32.mul(m.f32.load(m.get(c.pwk), r * F), m.get(c.xs)), m.get(acc(r, 0)))));
    }
  }
  out.push(m.set(c.pk, m.get(c.px)), m.set(c.pwk, m.get(c.pw)));
  out.push(repeat(fn, k.Cin, [...step, bump(fn, c.pk, rowBytes), bump(fn, c.pwk, MR * F)]));
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < Math.max(vectors, 1); v++) {
      const value = applyEpilogue(m, acc(r, v), vector, k.epilogue);
      const offset = r * rowBytes + v * 16;
      out.push(vector ? m.v128.store(m.get(c.py), value, offset) : m.f32.store(m.get(c.py), value, offset));
    }
  }
  const pixels = vector ? vectors * 4 : 1;
  out.push(bump(fn, c.px, pixels * F), bump(fn, c.py, pixels * F));
  return out;
}
