// Unstructured sparse weight x dense activations, XNNPACK-style: Y^T [N,M] = W^T (sparse) @
// X^T [K,M] (+ bias), then the epilogue. For each strip of tokens and each output channel, walk the
// channel's nonzeros, broadcast each weight and multiply-add the strip of X^T row k.
//
// Two variants:
// - data: values, per-channel counts and input channels live in a blob (u16 k when K allows);
//   one loop serves any matrix.
// - baked (SparseRT-style): the channel loop is unrolled at build time; each nonzero becomes a
//   broadcast load of its value at a fixed offset and loads of X^T at a fixed byte offset
//   (k*M*4 as the instruction's immediate). No index arithmetic at all, but the code grows
//   with the nonzero count (about 60 bytes per nonzero per strip width), so it suits small and
//   medium matrices; `bakedCodeEstimate` lets a cost model decide.

import { bump, repeat, repeatRuntime } from '../loops.js';
import { i32, none, type ExprRef, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams, type Epilogue } from './epilogue.js';
import { BlobBuilder, stepRows, type SparseRows } from './sparse-format.js';
import { forEachStrip } from './strips.js';

export interface SparseSpec {
  name: string;
  M: number;
  K: number;
  N: number;
  bias?: boolean;
  epilogue?: Epilogue;
  /**
   * Byte address of scratch memory the kernel may overwrite at every call, for kernels that
   * need some (nm.ts nmScratchBytes): the module's scratch region, beside the arena.
   */
  scratch?: number;
}

export interface PackedSparse {
  blob: Uint8Array;
  /** Byte offsets of the blob's parts, baked into the kernel; `steps`: `k` holds one-byte steps (stepRows), not channels. */
  offsets: { values: number; bias: number; counts: number; k: number; kBytes: 2 | 4; steps?: boolean };
}

function checkShape(spec: SparseSpec, rows: SparseRows): void {
  if (rows.K !== spec.K || rows.N !== spec.N) throw new Error(`sparse weight is ${rows.K}x${rows.N}, kernel expects ${spec.K}x${spec.N}`);
}

function checkRows(spec: SparseSpec, rows: SparseRows, bias?: Float32Array): void {
  checkShape(spec, rows);
  if (spec.bias && bias?.length !== spec.N) throw new Error(`sparse bias must have ${spec.N} values`);
}

/**
 * The data variant's blob: values f32, bias f32, per-channel record counts i32, and one-byte
 * input steps (sparse-format.ts stepRows; offsets.steps), or with `compact` false u16/i32 input channels.
 */
export function packSpmm(spec: SparseSpec, rows: SparseRows, bias?: Float32Array, compact = true): PackedSparse {
  checkRows(spec, rows, bias);
  const b = new BlobBuilder();
  if (compact) {
    const r = stepRows(rows);
    const valuesAt = b.add(r.values);
    const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
    const countsAt = b.add(r.counts);
    const kAt = b.add(r.steps);
    return { blob: b.build(), offsets: { values: valuesAt, bias: biasAt, counts: countsAt, k: kAt, kBytes: 2, steps: true } };
  }
  const values = b.add(rows.values);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  const counts = new Int32Array(spec.N);
  for (let n = 0; n < spec.N; n++) counts[n] = rows.start[n + 1]! - rows.start[n]!;
  const countsAt = b.add(counts);
  const kBytes = spec.K <= 65536 ? 2 : 4;
  const kAt = b.add(kBytes === 2 ? Uint16Array.from(rows.k) : rows.k);
  return { blob: b.build(), offsets: { values, bias: biasAt, counts: countsAt, k: kAt, kBytes } };
}

/**
 * Add `spec.name(xT, w, yT)` (byte addresses; w is packSpmm's blob). Output channels are the
 * outer loop and token strips the inner one, so a channel's nonzeros are read from memory
 * once and reused from L1 by every strip, while X^T (K*M floats) stays in L2.
 */
export function emitSpmm(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  const { M, N } = spec;
  const rowBytes = M * 4;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [xs, ys, cv, ck, pv, pk, pc, pb, px, count] = Array.from({ length: 10 }, () => fn.local(i32));
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    const loadK = (): ExprRef => (offsets.kBytes === 2 ? m.i32.load16U(m.get(pk)) : m.i32.load(m.get(pk)));
    // One-byte steps move px along X^T by step rows: a shift when the row is a power of two bytes.
    const stepBytes = (step: ExprRef): ExprRef =>
      (rowBytes & (rowBytes - 1)) === 0 ? m.i32.shl(step, m.i32.const(Math.log2(rowBytes))) : m.i32.mul(step, m.i32.const(rowBytes));
    const nextRow = (): ExprRef => offsets.steps
      ? m.set(px, m.i32.add(m.get(px), stepBytes(m.i32.load8U(m.get(pk)))))
      : m.set(px, m.i32.add(m.get(xs), m.i32.mul(loadK(), m.i32.const(rowBytes))));
    return [
      ...epilogue.setup(),
      m.set(cv, at(offsets.values)), m.set(ck, at(offsets.k)), m.set(pc, at(offsets.counts)), m.set(pb, at(offsets.bias)),
      m.set(ys, m.get(yArg)),
      repeat(fn, N, [
        m.set(xs, m.get(xArg)),
        ...forEachStrip(fn, M, xs, ys, (strip) => [
          ...strip.init(spec.bias ? { ptr: pb, offset: 0 } : undefined),
          m.set(pv, m.get(cv)), m.set(pk, m.get(ck)),
          m.set(count, m.i32.load(m.get(pc))),
          offsets.steps ? m.set(px, m.get(xs)) : m.nop(),
          repeatRuntime(fn, count, [
            strip.loadWeight(m.get(pv)),
            nextRow(),
            ...strip.accumulate(px, 0),
            bump(fn, pv, 4),
            bump(fn, pk, offsets.steps ? 1 : offsets.kBytes),
          ]),
          ...strip.store(ys, 0, epilogue),
        ]),
        // The strips left ys at the next channel's output row; this channel's nonzeros end
        // where pv and pk stopped.
        m.set(cv, m.get(pv)), m.set(ck, m.get(pk)),
        bump(fn, pc, 4), bump(fn, pb, spec.bias ? 4 : 0),
      ]),
    ];
  });
}

/** The baked variant's blob: values f32 then bias f32 (input channels are in the code). */
export function packSpmmBaked(spec: SparseSpec, rows: SparseRows, bias?: Float32Array): PackedSparse {
  checkRows(spec, rows, bias);
  const b = new BlobBuilder();
  const values = b.add(rows.values);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  return { blob: b.build(), offsets: { values, bias: biasAt, counts: 0, k: 0, kBytes: 2 } };
}

/** Rough wasm bytes of the baked variant (per nonzero: one broadcast, one load and madd per vector). */
export function bakedCodeEstimate(spec: SparseSpec, nnz: number): number {
  const widths = new Set<number>();
  let rest = spec.M;
  if (rest >= 32) { widths.add(8); rest %= 32; }
  for (const v of [4, 2, 1]) if (rest >= v * 4) { widths.add(v); rest -= v * 4; }
  let perNonzero = 0;
  for (const v of widths) perNonzero += 8 + v * 14;
  if (rest > 0) perNonzero += 8 + rest * 12;
  return nnz * perNonzero + spec.N * 64;
}

/** Add `spec.name(xT, w, yT)` with every nonzero's position baked into the code (w: packSpmmBaked's blob). */
export function emitSpmmBaked(m: WasmModule, spec: SparseSpec, rows: SparseRows, offsets: PackedSparse['offsets']): void {
  checkShape(spec, rows);
  const { M, N } = spec;
  const rowBytes = M * 4;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [xs, ys] = [fn.local(i32), fn.local(i32)];
    return [
      ...epilogue.setup(),
      m.set(xs, m.get(xArg)),
      m.set(ys, m.get(yArg)),
      ...forEachStrip(fn, M, xs, ys, (strip) => {
        const out: ExprRef[] = [];
        for (let n = 0; n < N; n++) {
          out.push(...strip.init(spec.bias ? { ptr: wArg, offset: offsets.bias + n * 4 } : undefined));
          for (let j = rows.start[n]!; j < rows.start[n + 1]!; j++) {
            out.push(strip.loadWeight(m.get(wArg), offsets.values + j * 4), ...strip.accumulate(xs, rows.k[j]! * rowBytes));
          }
          out.push(...strip.store(ys, n * rowBytes, epilogue));
        }
        return out;
      }),
    ];
  });
}
