// Sparse weight x one token: y [N] = x [K] @ W (+ bias), then the epilogue. With a single token
// every weight is used once, so the weights travel in a compact sparse form and the math is
// done densely in registers (as Flash-LLM does for skinny products): each output channel's
// nonzeros, in groups of 4, are multiplied against a vector gathered from x (which stays in
// L1), and the four lanes are summed at the end of the channel.
//
// The weights are sparse-format.ts offsetGroups: 5 bytes per nonzero in one stream (values,
// then one-byte input offsets from a running position). Measured against the earlier form
// (values and u16 input channels in two streams, 6 bytes per nonzero; bench/spmv-ab.ts, paired
// CPU-time ratios on a loaded 2-core machine) it runs at the same speed (0.98-1.07x) with 17%
// fewer bytes. Variants that measured no faster: one-byte steps chained through lane 0
// (0.96-0.98x), channels sorted by group count so loop exits predict (+1-2%), two groups or
// two accumulators per iteration (+0-3%), the four offsets read as one i32 (0.88-0.91x),
// lanes gathered by broadcast loads and blends or by scalar loads and unpacks (same), lanes 2-3
// through an i64 (0.85x), and channels unrolled by group count (0.80x). The gather's
// index loads and address adds, not the x loads, bound it: with fixed x offsets instead of
// loaded ones the loop ran 1.25x faster.

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams } from './epilogue.js';
import { BlobBuilder, OFFSET_GROUP_BYTES, offsetGroups, type SparseRows } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';

/** Blob: the offset groups (sparse-format.ts offsetGroups), bias f32, groups per channel i32. */
export function packSpmv(spec: SparseSpec, rows: SparseRows, bias?: Float32Array): PackedSparse {
  if (rows.K !== spec.K || rows.N !== spec.N) throw new Error(`sparse weight is ${rows.K}x${rows.N}, kernel expects ${spec.K}x${spec.N}`);
  if (spec.M !== 1) throw new Error('the sparse GEMV kernel computes one token (M = 1)');
  if (spec.bias && bias?.length !== spec.N) throw new Error(`sparse bias must have ${spec.N} values`);
  const { records, groups } = offsetGroups(rows);
  const b = new BlobBuilder();
  const recordsAt = b.add(records);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  const countsAt = b.add(groups);
  return { blob: b.build(), offsets: { values: recordsAt, k: recordsAt, bias: biasAt, counts: countsAt, kBytes: 2 } };
}

/** Add `spec.name(x, w, y)` (byte addresses; w is packSpmv's blob). */
export function emitSpmv(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pr, pc, pb, py, count, px] = Array.from({ length: 6 }, () => fn.local(i32));
    const [acc, xv] = [fn.local(v128), fn.local(v128)];
    const sum = fn.local(f32);
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    // Every lane's input is px + offset; lane 3's (evaluated last) becomes the next group's px.
    const xAddr = (lane: number): ExprRef => {
      const address = m.i32.add(m.get(px), m.i32.shl(m.i32.load8U(m.get(pr), 16 + lane), m.i32.const(2)));
      return lane === 3 ? m.tee(px, address) : address;
    };
    return [
      ...epilogue.setup(),
      m.set(pr, at(offsets.values)), m.set(pc, at(offsets.counts)), m.set(pb, at(offsets.bias)),
      m.set(py, m.get(yArg)),
      repeat(fn, spec.N, [
        m.set(acc, m.v128.zero()),
        m.set(px, m.get(xArg)),
        m.set(count, m.i32.load(m.get(pc))),
        repeatRuntime(fn, count, [
          m.set(xv, m.v128.load32Zero(xAddr(0))),
          m.set(xv, m.v128.load32Lane(xAddr(1), m.get(xv), 1)),
          m.set(xv, m.v128.load32Lane(xAddr(2), m.get(xv), 2)),
          m.set(xv, m.v128.load32Lane(xAddr(3), m.get(xv), 3)),
          m.set(acc, m.madd(m.v128.load(m.get(pr)), m.get(xv), m.get(acc))),
          bump(fn, pr, OFFSET_GROUP_BYTES),
        ]),
        m.set(sum, spec.bias ? m.f32.add(m.sumLanes(acc), m.f32.load(m.get(pb))) : m.sumLanes(acc)),
        ...epilogue.scalar(m.get(sum), py, 0),
        bump(fn, pc, 4), bump(fn, pb, spec.bias ? 4 : 0), bump(fn, py, 4),
      ]),
    ];
  });
}
