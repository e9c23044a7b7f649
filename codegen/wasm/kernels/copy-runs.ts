// Straight-line runs of floats the padding copies write: a row of x (through an activation,
// if any) and a stretch of zeros, each advancing its pointers.

import { bump, repeat } from '../loops.js';
import type { ExprRef, FunctionScope, Local } from '../module.js';
import type { Epilogue } from '../../cnn-kernels.js';
import { applyEpilogue } from './cnn-epilogue.js';

const F = 4;

/** Scratch locals of copyRun: one v128 and one f32. */
export interface CopyTemps { v: Local; s: Local }

/** `count` floats from *src to *dst (v128 for whole groups of four) through `activation`, advancing both pointers. */
export function copyRun(fn: FunctionScope, src: Local, dst: Local, count: number, activation: Epilogue | undefined, temps: CopyTemps): ExprRef[] {
  const m = fn.m;
  const vectors = Math.floor(count / 4);
  const vector = activation
    ? [m.set(temps.v, m.v128.load(m.get(src))), m.v128.store(m.get(dst), applyEpilogue(m, temps.v, true, activation))]
    : [m.v128.store(m.get(dst), m.v128.load(m.get(src)))];
  const scalar = activation
    ? [m.set(temps.s, m.f32.load(m.get(src))), m.f32.store(m.get(dst), applyEpilogue(m, temps.s, false, activation))]
    : [m.f32.store(m.get(dst), m.f32.load(m.get(src)))];
  return [
    repeat(fn, vectors, [...vector, bump(fn, src, 16), bump(fn, dst, 16)]),
    repeat(fn, count - vectors * 4, [...scalar, bump(fn, src, F), bump(fn, dst, F)]),
  ];
}

/** `count` zeros from *dst on, advancing it. */
export function zeroRun(fn: FunctionScope, dst: Local, count: number): ExprRef[] {
  const m = fn.m;
  const vectors = Math.floor(count / 4);
  return [
    repeat(fn, vectors, [m.v128.store(m.get(dst), m.v128.zero()), bump(fn, dst, 16)]),
    ...Array.from({ length: count - vectors * 4 }, (_, i) => m.f32.store(m.get(dst), m.f32.const(0), i * F)),
    bump(fn, dst, (count - vectors * 4) * F),
  ];
}
