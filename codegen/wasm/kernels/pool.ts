// Pooling over NCHW activations (batch 1), optionally applying the activation before it as it reads.

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type WasmModule } from '../module.js';
import type { GlobalAveragePoolKernel } from '../../cnn-kernels.js';
import { applyEpilogue } from './cnn-epilogue.js';

const F = 4;

/** Add `name(x, y)`: y [C] = the mean of each channel's P pixels of x [C, P] (each through the activation, if any). */
export function emitGlobalAveragePool(m: WasmModule, name: string, k: GlobalAveragePoolKernel): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const [accV, sum, xv, xs] = [fn.local(v128), fn.local(f32), fn.local(v128), fn.local(f32)];
    const groups = Math.floor(k.pixels / 4);
    return [repeat(fn, k.channels, [
      m.set(accV, m.v128.zero()),
      repeat(fn, groups, [
        m.set(xv, m.v128.load(m.get(px))),
        m.set(accV, m.f32x4.add(m.get(accV), applyEpilogue(m, xv, true, k.activation))),
        bump(fn, px, 16),
      ]),
      m.set(sum, m.sumLanes(accV)),
      repeat(fn, k.pixels - groups * 4, [
        m.set(xs, m.f32.load(m.get(px))),
        m.set(sum, m.f32.add(m.get(sum), applyEpilogue(m, xs, false, k.activation))),
        bump(fn, px, F),
      ]),
      m.f32.store(m.get(py), m.f32.div(m.get(sum), m.f32.const(k.pixels))),
      bump(fn, py, F),
    ])];
  });
}
