// Sparse weight x one token: y [N] = x [K] @ W (+ bias), then the epilogue. With a single token the
// product is memory-bound, so the weights travel in a compact sparse form and the math is
// done densely in registers (as Flash-LLM does for skinny products): each output channel's
// nonzeros, padded to groups of 4, are multiplied against a vector gathered from x (which
// stays in L1), and the four lanes are summed at the end of the channel.

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams } from './epilogue.js';
import { BlobBuilder, stepRows, type SparseRows } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';

const GROUP = 4;

/**
 * Blob: values f32 and input positions per channel padded to groups of 4, bias, group counts
 * i32. Positions are u16/i32 input channels, or with `compact` one-byte steps (sparse-format.ts
 * stepRows; offsets.steps: 5 bytes per nonzero instead of 6). Not the default: in `npm run
 * bench` (768x3072, one token, all contenders interleaved) the steps form ran at 0.0817 ms
 * against 0.0675 at 90% and 0.0458 against 0.0338 at 95%, though a focused A/B
 * (bench/csr-steps.ts 1) showed them within 2-4%.
 */
export function packSpmv(spec: SparseSpec, rows: SparseRows, bias?: Float32Array, compact = false): PackedSparse {
  if (rows.K !== spec.K || rows.N !== spec.N) throw new Error(`sparse weight is ${rows.K}x${rows.N}, kernel expects ${spec.K}x${spec.N}`);
  if (spec.M !== 1) throw new Error('the sparse GEMV kernel computes one token (M = 1)');
  if (spec.bias && bias?.length !== spec.N) throw new Error(`sparse bias must have ${spec.N} values`);
  if (compact) {
    const r = stepRows(rows, GROUP);
    const b = new BlobBuilder();
    const valuesAt = b.add(r.values);
    const kAt = b.add(r.steps);
    const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
    const countsAt = b.add(r.counts.map((c) => c / GROUP));
    return { blob: b.build(), offsets: { values: valuesAt, bias: biasAt, counts: countsAt, k: kAt, kBytes: 2, steps: true } };
  }
  const groups = new Int32Array(spec.N);
  for (let n = 0; n < spec.N; n++) groups[n] = Math.ceil((rows.start[n + 1]! - rows.start[n]!) / GROUP);
  const padded = groups.reduce((s, g) => s + g, 0) * GROUP;
  const values = new Float32Array(padded);
  const kBytes = spec.K <= 65536 ? 2 : 4;
  const ks = kBytes === 2 ? new Uint16Array(padded) : new Uint32Array(padded);
  let at = 0;
  for (let n = 0; n < spec.N; n++) {
    // Padding entries are zero weights at input channel 0: harmless, and x[0] always exists.
    for (let j = rows.start[n]!; j < rows.start[n + 1]!; j++, at++) {
      values[at] = rows.values[j]!;
      ks[at] = rows.k[j]!;
    }
    at = Math.ceil(at / GROUP) * GROUP;
  }
  const b = new BlobBuilder();
  const valuesAt = b.add(values);
  const kAt = b.add(ks);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  const countsAt = b.add(groups);
  return { blob: b.build(), offsets: { values: valuesAt, bias: biasAt, counts: countsAt, k: kAt, kBytes } };
}

/** Add `spec.name(x, w, y)` (byte addresses; w is packSpmv's blob). */
export function emitSpmv(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  const kb = offsets.steps ? 1 : offsets.kBytes;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pv, pk, pc, pb, py, count, px] = Array.from({ length: 7 }, () => fn.local(i32));
    const [acc, xv] = [fn.local(v128), fn.local(v128)];
    const sum = fn.local(f32);
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    const xAddr = (lane: number): ExprRef => {
      // Steps: lane 0 moves px (the group's first input) on; the other lanes are offsets from it.
      if (offsets.steps) {
        const step = m.i32.shl(m.i32.load8U(m.get(pk), lane), m.i32.const(2));
        return lane === 0 ? m.tee(px, m.i32.add(m.get(px), step)) : m.i32.add(m.get(px), step);
      }
      const k = kb === 2 ? m.i32.load16U(m.get(pk), lane * 2) : m.i32.load(m.get(pk), lane * 4);
      return m.i32.add(m.get(xArg), m.i32.shl(k, m.i32.const(2)));
    };
    return [
      ...epilogue.setup(),
      m.set(pv, at(offsets.values)), m.set(pk, at(offsets.k)), m.set(pc, at(offsets.counts)), m.set(pb, at(offsets.bias)),
      m.set(py, m.get(yArg)),
      repeat(fn, spec.N, [
        m.set(acc, m.v128.zero()),
        offsets.steps ? m.set(px, m.get(xArg)) : m.nop(),
        m.set(count, m.i32.load(m.get(pc))),
        repeatRuntime(fn, count, [
          m.set(xv, m.v128.load32Zero(xAddr(0))),
          m.set(xv, m.v128.load32Lane(xAddr(1), m.get(xv), 1)),
          m.set(xv, m.v128.load32Lane(xAddr(2), m.get(xv), 2)),
          m.set(xv, m.v128.load32Lane(xAddr(3), m.get(xv), 3)),
          m.set(acc, m.madd(m.v128.load(m.get(pv)), m.get(xv), m.get(acc))),
          bump(fn, pv, GROUP * 4),
          bump(fn, pk, GROUP * kb),
        ]),
        m.set(sum, spec.bias ? m.f32.add(m.sumLanes(acc), m.f32.load(m.get(pb))) : m.sumLanes(acc)),
        ...epilogue.scalar(m.get(sum), py, 0),
        bump(fn, pc, 4), bump(fn, pb, spec.bias ? 4 : 0), bump(fn, py, 4),
      ]),
    ];
  });
}
