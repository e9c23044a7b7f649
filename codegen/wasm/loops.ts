// Loop shapes the kernels share. Trip counts are static (shapes are known at build time), so a
// loop that runs zero times emits nothing and one that runs once emits its body alone.

import { i32, type ExprRef, type FunctionScope, type Local } from './module.js';

/**
 * Run `body` `count` times (count known at build time). The body advances its own pointers;
 * a down-counter drives the branch, so no induction variable is recomputed per iteration.
 */
export function repeat(fn: FunctionScope, count: number, body: readonly ExprRef[]): ExprRef {
  const m = fn.m;
  if (count <= 0) return m.nop();
  if (count === 1) return m.block(null, body);
  const counter = fn.local(i32);
  const label = fn.label('loop');
  return m.block(null, [
    m.set(counter, m.i32.const(count)),
    m.loop(label, m.block(null, [
      ...body,
      m.br(label, m.tee(counter, m.i32.sub(m.get(counter), m.i32.const(1)))),
    ])),
  ]);
}

/** Run `body` while the runtime count in `counter` is non-zero, decrementing it (skips when zero). */
export function repeatRuntime(fn: FunctionScope, counter: Local, body: readonly ExprRef[]): ExprRef {
  const m = fn.m;
  const label = fn.label('dyn');
  return m.if(m.get(counter), m.loop(label, m.block(null, [
    ...body,
    m.br(label, m.tee(counter, m.i32.sub(m.get(counter), m.i32.const(1)))),
  ])));
}

/** `local += bytes` for pointer locals. */
export function bump(fn: FunctionScope, ptr: Local, bytes: number): ExprRef {
  const m = fn.m;
  return bytes === 0 ? m.nop() : m.set(ptr, m.i32.add(m.get(ptr), m.i32.const(bytes)));
}
