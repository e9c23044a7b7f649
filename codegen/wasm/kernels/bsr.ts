// Block-sparse weights in 4x1 blocks: 4 consecutive output channels x 1 input channel, kept
// or dropped together (the pruner's block:4x1). Storage per block row (4 output channels):
// the kept blocks' 4 values (one v128) and input channel (u16, u32 past 65536 inputs; for one
// token x's byte offset 4k while it fits 16 bits), the list padded with zero blocks to a
// multiple of 4; per block row a count of 4-block groups, and the bias padded to whole block
// rows. At 80% sparsity that is 18 bytes per kept block,
// 1.13x (density x dense bytes).
//
// Kernels:
// - one token: y[4b..4b+3] += block values (f32x4) * x[k] (broadcast). Exactly the dense
//   GEMV's inner step, on the kept inputs only; four independent accumulators (one per block
//   of a group) keep the add latency off the critical path.
// - many tokens, on transposed activations X^T [K,M] as the other sparse kernels: a tile of
//   the block's 4 channels x 8 tokens (8 v128 accumulators); per block, 2 loads of X^T row k
//   and 4 broadcast weights feed 8 multiply-adds, the dense 4x8 tile's ratio. 14 live v128
//   values at most, because V8 hoists a loop body's loads ahead of its arithmetic and
//   spills past 16 (see dense.ts).

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams } from './epilogue.js';
import { BlobBuilder } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';

/** Output channels per block. */
export const BLOCK = 4;
/** Blocks per group: block lists are padded to whole groups (the one-token kernel's unroll). */
const GROUP = 4;

export interface BlockStats {
  /** Blocks with at least one nonzero over all blocks (N padded up to whole blocks). */
  blockDensity: number;
  kept: number;
}

/** Which 4x1 blocks of W [K,N] (output channels grouped by 4) hold a nonzero. */
export function blockStats(W: Float32Array, K: number, N: number): BlockStats {
  const rows = Math.ceil(N / BLOCK);
  let kept = 0;
  for (let k = 0; k < K; k++) {
    for (let b = 0; b < rows; b++) {
      const end = Math.min(N, (b + 1) * BLOCK);
      for (let n = b * BLOCK; n < end; n++) {
        if (W[k * N + n] !== 0) {
          kept++;
          break;
        }
      }
    }
  }
  return { blockDensity: K * rows === 0 ? 1 : kept / (K * rows), kept };
}

/**
 * One token with K <= 16384 stores each block's byte offset into x (4k) rather than k: one
 * shift less per block in the kernel's hottest loop.
 */
const byteOffsets = (spec: SparseSpec): boolean => spec.M === 1 && spec.K <= 16384;

/** Pack W [K,N] (row-major) into 4x1 blocks; every block holding a nonzero is kept. */
export function packBsr(spec: SparseSpec, W: Float32Array, bias?: Float32Array): PackedSparse {
  const { K, N } = spec;
  if (W.length !== K * N) throw new Error(`block-sparse weight has ${W.length} values, expected ${K}x${N}`);
  if (spec.bias && bias?.length !== N) throw new Error(`block-sparse bias must have ${N} values`);
  const rows = Math.ceil(N / BLOCK);
  const lists: number[][] = Array.from({ length: rows }, () => []);
  for (let b = 0; b < rows; b++) {
    const end = Math.min(N, (b + 1) * BLOCK);
    for (let k = 0; k < K; k++) {
      for (let n = b * BLOCK; n < end; n++) {
        if (W[k * N + n] !== 0) {
          lists[b]!.push(k);
          break;
        }
      }
    }
  }
  const groups = Int32Array.from(lists, (l) => Math.ceil(l.length / GROUP));
  const blocks = groups.reduce((s, g) => s + g, 0) * GROUP;
  const values = new Float32Array(blocks * BLOCK);
  const kBytes = K <= 65536 ? 2 : 4;
  const ks = kBytes === 2 ? new Uint16Array(blocks) : new Uint32Array(blocks);
  let at = 0;
  lists.forEach((list, b) => {
    // Padding blocks are zero weights at input channel 0: harmless, and x[0] always exists.
    for (const k of list) {
      for (let c = 0; c < BLOCK && b * BLOCK + c < N; c++) values[at * BLOCK + c] = W[k * N + b * BLOCK + c]!;
      ks[at++] = byteOffsets(spec) ? 4 * k : k;
    }
    at = Math.ceil(at / GROUP) * GROUP;
  });
  const paddedBias = new Float32Array(spec.bias ? rows * BLOCK : 0);
  if (spec.bias && bias) paddedBias.set(bias);
  const blob = new BlobBuilder();
  const valuesAt = blob.add(values);
  const kAt = blob.add(ks);
  const countsAt = blob.add(groups);
  const biasAt = blob.add(paddedBias);
  return { blob: blob.build(), offsets: { values: valuesAt, bias: biasAt, counts: countsAt, k: kAt, kBytes } };
}

/** Add `spec.name(x, w, y)`: x row-major for one token, X^T [K,M] and Y^T [N,M] for more. */
export function emitBsr(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  if (spec.M === 1) emitBsrGemv(m, spec, offsets);
  else emitBsrTokens(m, spec, offsets);
}

interface Pointers {
  pv: Local; // block values
  pk: Local; // block input channels
  pc: Local; // group counts
  pb: Local; // bias
}

function pointers(fn: FunctionScope, w: Local, offsets: PackedSparse['offsets']): { p: Pointers; init: ExprRef[] } {
  const m = fn.m;
  const p = { pv: fn.local(i32), pk: fn.local(i32), pc: fn.local(i32), pb: fn.local(i32) };
  const at = (off: number): ExprRef => m.i32.add(m.get(w), m.i32.const(off));
  return { p, init: [m.set(p.pv, at(offsets.values)), m.set(p.pk, at(offsets.k)), m.set(p.pc, at(offsets.counts)), m.set(p.pb, at(offsets.bias))] };
}

function loadK(m: WasmModule, pk: Local, kBytes: 2 | 4, index = 0): ExprRef {
  return kBytes === 2 ? m.i32.load16U(m.get(pk), index * 2) : m.i32.load(m.get(pk), index * 4);
}

function emitBsrGemv(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  const { N } = spec;
  const kb = offsets.kBytes;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const { p, init } = pointers(fn, wArg, offsets);
    const [py, count] = [fn.local(i32), fn.local(i32)];
    const acc = Array.from({ length: GROUP }, () => fn.local(v128));
    const xs = Array.from({ length: GROUP }, () => fn.local(v128));
    const offset = (u: number): ExprRef => (byteOffsets(spec) ? loadK(m, p.pk, kb, u) : m.i32.shl(loadK(m, p.pk, kb, u), m.i32.const(2)));
    const xAt = (u: number): ExprRef => m.i32.add(m.get(xArg), offset(u));
    const blockRow = (channels: number): ExprRef[] => {
      const total = m.f32x4.add(m.f32x4.add(m.get(acc[0]!), m.get(acc[1]!)), m.f32x4.add(m.get(acc[2]!), m.get(acc[3]!)));
      return [
        m.set(acc[0]!, spec.bias ? m.v128.load(m.get(p.pb)) : m.v128.zero()),
        ...acc.slice(1).map((a) => m.set(a, m.v128.zero())),
        m.set(count, m.i32.load(m.get(p.pc))),
        repeatRuntime(fn, count, [
          ...xs.map((x, u) => m.set(x, m.v128.load32Splat(xAt(u)))),
          ...acc.map((a, u) => m.set(a, m.madd(m.v128.load(m.get(p.pv), u * 16), m.get(xs[u]!), m.get(a)))),
          bump(fn, p.pv, GROUP * BLOCK * 4),
          bump(fn, p.pk, GROUP * kb),
        ]),
        ...epilogue.vector(total, py, 0, channels),
        bump(fn, p.pc, 4), bump(fn, p.pb, spec.bias ? BLOCK * 4 : 0), bump(fn, py, BLOCK * 4),
      ];
    };
    return [
      ...epilogue.setup(),
      ...init, m.set(py, m.get(yArg)),
      repeat(fn, Math.floor(N / BLOCK), blockRow(BLOCK)),
      ...(N % BLOCK ? blockRow(N % BLOCK) : []),
    ];
  });
}

/** Token strips of the many-token kernel: `vectors` v128 per channel, or `scalars` f32 tokens. */
interface TokenStrip {
  vectors: number;
  scalars: number;
}

const MAIN_VECTORS = 2;

function tokenStrips(M: number): { strip: TokenStrip; times: number }[] {
  const out: { strip: TokenStrip; times: number }[] = [];
  const full = Math.floor(M / (MAIN_VECTORS * 4));
  if (full > 0) out.push({ strip: { vectors: MAIN_VECTORS, scalars: 0 }, times: full });
  let rest = M - full * MAIN_VECTORS * 4;
  for (let v = MAIN_VECTORS - 1; v >= 1; v--) {
    if (rest >= v * 4) {
      out.push({ strip: { vectors: v, scalars: 0 }, times: 1 });
      rest -= v * 4;
    }
  }
  if (rest > 0) out.push({ strip: { vectors: 0, scalars: rest }, times: 1 });
  return out;
}

function emitBsrTokens(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  const { M, N } = spec;
  const rowBytes = M * 4;
  const kb = offsets.kBytes;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const { p, init } = pointers(fn, wArg, offsets);
    // rowV/rowK: this block row's first block; xs/ys: the strip's first token in X^T row 0
    // and in Y^T row 4b; px: X^T row k of the current block at the strip's tokens.
    const [rowV, rowK, yRow, xs, ys, px, count] = Array.from({ length: 7 }, () => fn.local(i32));
    const vecAcc = Array.from({ length: BLOCK * MAIN_VECTORS }, () => fn.local(v128));
    const vecX = Array.from({ length: MAIN_VECTORS }, () => fn.local(v128));
    const vecW = Array.from({ length: BLOCK }, () => fn.local(v128));
    const scalarAcc = Array.from({ length: BLOCK * 3 }, () => fn.local(f32));
    const scalarX = Array.from({ length: 3 }, () => fn.local(f32));
    const scalarW = Array.from({ length: BLOCK }, () => fn.local(f32));

    const stripBody = (s: TokenStrip, channels: number): ExprRef[] => {
      const vec = s.vectors > 0;
      const lanes = vec ? s.vectors : s.scalars;
      const acc = (c: number, i: number): Local => (vec ? vecAcc : scalarAcc)[c * lanes + i]!;
      const out: ExprRef[] = [];
      for (let c = 0; c < BLOCK; c++) {
        for (let i = 0; i < lanes; i++) {
          const value = spec.bias
            ? (vec ? m.v128.load32Splat(m.get(p.pb), c * 4) : m.f32.load(m.get(p.pb), c * 4))
            : (vec ? m.v128.zero() : m.f32.const(0));
          out.push(m.set(acc(c, i), value));
        }
      }
      out.push(m.set(p.pv, m.get(rowV)), m.set(p.pk, m.get(rowK)), m.set(count, m.i32.shl(m.i32.load(m.get(p.pc)), m.i32.const(2))));
      const step: ExprRef[] = [m.set(px, m.i32.add(m.get(xs), m.i32.mul(loadK(m, p.pk, kb), m.i32.const(rowBytes))))];
      for (let i = 0; i < lanes; i++) step.push(m.set(vec ? vecX[i]! : scalarX[i]!, vec ? m.v128.load(m.get(px), i * 16) : m.f32.load(m.get(px), i * 4)));
      for (let c = 0; c < BLOCK; c++) {
        step.push(m.set(vec ? vecW[c]! : scalarW[c]!, vec ? m.v128.load32Splat(m.get(p.pv), c * 4) : m.f32.load(m.get(p.pv), c * 4)));
        for (let i = 0; i < lanes; i++) {
          const a = acc(c, i);
          step.push(m.set(a, vec
            ? m.madd(m.get(vecW[c]!), m.get(vecX[i]!), m.get(a))
            : m.f32.add(m.f32.mul(m.get(scalarW[c]!), m.get(scalarX[i]!)), m.get(a))));
        }
      }
      step.push(bump(fn, p.pv, BLOCK * 4), bump(fn, p.pk, kb));
      out.push(repeatRuntime(fn, count, step));
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < lanes; i++) {
          const a = acc(c, i);
          out.push(...(vec ? epilogue.vector(m.get(a), ys, c * rowBytes + i * 16) : epilogue.scalar(m.get(a), ys, c * rowBytes + i * 4)));
        }
      }
      const tokens = vec ? s.vectors * 4 : s.scalars;
      out.push(bump(fn, xs, tokens * 4), bump(fn, ys, tokens * 4));
      return out;
    };

    const blockRow = (channels: number): ExprRef[] => [
      m.set(xs, m.get(xArg)), m.set(ys, m.get(yRow)),
      ...tokenStrips(M).map(({ strip, times }) => repeat(fn, times, stripBody(strip, channels))),
      // The strips left pv/pk at the end of this block row's list: the next row starts there.
      m.set(rowV, m.get(p.pv)), m.set(rowK, m.get(p.pk)),
      bump(fn, p.pc, 4), bump(fn, p.pb, spec.bias ? BLOCK * 4 : 0), bump(fn, yRow, BLOCK * rowBytes),
    ];
    return [
      ...epilogue.setup(),
      ...init,
      m.set(rowV, m.get(p.pv)), m.set(rowK, m.get(p.pk)), m.set(yRow, m.get(yArg)),
      repeat(fn, Math.floor(N / BLOCK), blockRow(BLOCK)),
      ...(N % BLOCK ? blockRow(N % BLOCK) : []),
    ];
  });
}
