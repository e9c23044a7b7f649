// Data movement kernels: embedding lookup (Gather of rows by int64 ids), block copies (Split,
// Slice, Concat: `outer` runs of `chunk` contiguous elements between strided places) and
// strided gathers (N-D transposes, Expand). All sizes and strides are static.

import { bump, repeat } from '../loops.js';
import { i32, none, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { walk } from './elementwise.js';

/** Copy `count` floats from `from` to `to`, advancing both. */
function copyRun(fn: FunctionScope, from: Local, to: Local, count: number): ExprRef[] {
  const m = fn.m;
  return walk(fn, count, [from, to], () => [m.v128.store(m.get(to), m.v128.load(m.get(from)))], () => [m.f32.store(m.get(to), m.f32.load(m.get(from)))]);
}

/** Add `name(table, ids, y)`: y[i, :] = table[ids[i], :] for `count` int64 ids (negative ids count from the end). */
export function emitGather(m: WasmModule, name: string, count: number, rows: number, cols: number): void {
  m.addFunction(name, [i32, i32, i32], none, (fn) => {
    const [table, pids, py] = [fn.param(0), fn.param(1), fn.param(2)];
    const [id, src] = [fn.local(i32), fn.local(i32)];
    return [repeat(fn, count, [
      m.set(id, m.i32.load(m.get(pids))),
      m.set(id, m.select(m.i32.ltS(m.get(id), m.i32.const(0)), m.i32.add(m.get(id), m.i32.const(rows)), m.get(id))),
      m.set(src, m.i32.add(m.get(table), m.i32.mul(m.get(id), m.i32.const(cols * 4)))),
      ...copyRun(fn, src, py, cols),
      bump(fn, pids, 8),
    ])];
  });
}

/** Add `name(x, y)`: `outer` runs of `chunk` floats from x + xOffset (step xStride) to y + yOffset (step yStride). */
export function emitBlockCopy(m: WasmModule, name: string, k: { outer: number; chunk: number; xOffset: number; xStride: number; yOffset: number; yStride: number }): void {
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const [q, r] = [fn.local(i32), fn.local(i32)];
    return [
      bump(fn, px, k.xOffset * 4),
      bump(fn, py, k.yOffset * 4),
      repeat(fn, k.outer, [m.set(q, m.get(px)), m.set(r, m.get(py)), ...copyRun(fn, q, r, k.chunk), bump(fn, px, k.xStride * 4), bump(fn, py, k.yStride * 4)]),
    ];
  });
}

/**
 * Add `name(x, y)`: y (of `shape`) written in order, element [i0, i1, ...] read from x at
 * sum(i_d * inStrides[d]): an N-D transpose (permuted strides) or a broadcast (stride 0).
 */
export function emitStrided(m: WasmModule, name: string, shape: readonly number[], inStrides: readonly number[]): void {
  const rank = shape.length;
  m.addFunction(name, [i32, i32], none, (fn) => {
    const [px, py] = [fn.param(0), fn.param(1)];
    const level = (d: number, parent: Local): ExprRef[] => {
      const p = fn.local(i32);
      // A contiguous innermost axis (transposes that keep the last axis) is one run copy.
      if (d === rank - 1 && inStrides[d] === 1) return [m.set(p, m.get(parent)), ...copyRun(fn, p, py, shape[d]!)];
      const inner = d === rank - 1 ? [m.f32.store(m.get(py), m.f32.load(m.get(p))), bump(fn, py, 4)] : level(d + 1, p);
      return [m.set(p, m.get(parent)), repeat(fn, shape[d]!, [...inner, bump(fn, p, inStrides[d]! * 4)])];
    };
    return rank === 0 ? [m.f32.store(m.get(py), m.f32.load(m.get(px)))] : level(0, px);
  });
}
