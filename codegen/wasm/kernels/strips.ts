// Token strips for the sparse kernels, which work on transposed activations (X^T [K, M]:
// tokens contiguous, as XNNPACK's sparse kernels keep pixels contiguous). Each nonzero
// weight is broadcast and multiply-added into a strip of tokens: 24 tokens (6 v128
// accumulators) in the main loop, then 16/8/4-token strips and a scalar strip of 1-3 tokens
// for the rest, each emitted once as straight-line code because M is static.
//
// Why 6: V8 (TurboFan) schedules a loop body's loads ahead of its arithmetic, so a nonzero's
// strip needs accumulators + loaded X^T vectors + the weight live at once. 6 + 6 + 1 fits the
// 16 xmm registers; 8 + 8 + 1 spilled on every nonzero. Measured at 64x768x3072 (CPU time,
// interleaved): 50% unstructured 0.8x -> 1.4x our dense, 90% 4.3x -> 7.2x, 95% 9.6x -> 15x.

import { bump, repeat } from '../loops.js';
import { f32, v128, type ExprRef, type FunctionScope, type Local } from '../module.js';
import type { EpilogueStore } from './epilogue.js';

const MAIN_VECTORS = 6;

export class Strip {
  readonly acc: Local[];
  readonly w: Local;

  /** `vectors` v128 accumulators (4 tokens each), or `scalars` f32 accumulators when vectors is 0. */
  constructor(readonly fn: FunctionScope, readonly vectors: number, readonly scalars: number) {
    const type = vectors > 0 ? v128 : f32;
    this.acc = Array.from({ length: vectors > 0 ? vectors : scalars }, () => fn.local(type));
    this.w = fn.local(type);
  }

  get tokens(): number {
    return this.vectors > 0 ? this.vectors * 4 : this.scalars;
  }

  /** Accumulators := bias loaded from `bias + offset` (broadcast), or zero. */
  init(bias?: { ptr: Local; offset: number }): ExprRef[] {
    const m = this.fn.m;
    const vec = this.vectors > 0;
    const value = (): ExprRef => {
      if (!bias) return vec ? m.v128.zero() : m.f32.const(0);
      return vec ? m.v128.load32Splat(m.get(bias.ptr), bias.offset) : m.f32.load(m.get(bias.ptr), bias.offset);
    };
    return this.acc.map((a) => m.set(a, value()));
  }

  /** w := the weight at `ptr + offset`, broadcast to the strip's lanes. */
  loadWeight(ptr: ExprRef, offset = 0): ExprRef {
    const m = this.fn.m;
    return m.set(this.w, this.vectors > 0 ? m.v128.load32Splat(ptr, offset) : m.f32.load(ptr, offset));
  }

  /** acc += w * X^T[row at `x + offset`, strip]. `x` is a local so every lane load reuses it. */
  accumulate(x: Local, offset: number): ExprRef[] {
    const m = this.fn.m;
    return this.acc.map((a, i) =>
      this.vectors > 0
        ? m.set(a, m.madd(m.get(this.w), m.v128.load(m.get(x), offset + i * 16), m.get(a)))
        : m.set(a, m.f32.add(m.f32.mul(m.get(this.w), m.f32.load(m.get(x), offset + i * 4)), m.get(a))));
  }

  /** Store the strip at `y + offset` through the kernel's epilogue. */
  store(y: Local, offset: number, epilogue: EpilogueStore): ExprRef[] {
    const m = this.fn.m;
    return this.acc.flatMap((a, i) => (this.vectors > 0 ? epilogue.vector(m.get(a), y, offset + i * 16) : epilogue.scalar(m.get(a), y, offset + i * 4)));
  }
}

/**
 * Cover M tokens with strips: `body(strip)` computes the strip starting at the tokens that
 * `xs` and `ys` point to (byte addresses into X^T and Y^T); this advances them past every
 * strip, so they end M tokens further on. `mainVectors` (at most 8) sets the main strip's width.
 */
export function forEachStrip(fn: FunctionScope, M: number, xs: Local, ys: Local, body: (strip: Strip) => ExprRef[], mainVectors = MAIN_VECTORS): ExprRef[] {
  const out: ExprRef[] = [];
  const advance = (tokens: number) => [bump(fn, xs, tokens * 4), bump(fn, ys, tokens * 4)];
  const full = Math.floor(M / (mainVectors * 4));
  if (full > 0) {
    const strip = new Strip(fn, mainVectors, 0);
    out.push(repeat(fn, full, [...body(strip), ...advance(strip.tokens)]));
  }
  let rest = M - full * mainVectors * 4;
  for (const vectors of [4, 2, 1]) {
    if (rest < vectors * 4) continue;
    const strip = new Strip(fn, vectors, 0);
    out.push(...body(strip), ...advance(strip.tokens));
    rest -= vectors * 4;
  }
  if (rest > 0) out.push(...body(new Strip(fn, 0, rest)), ...advance(rest));
  return out;
}
