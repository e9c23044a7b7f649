// Sparse weight x one token: y [N] = x [K] @ W (+ bias), then the epilogue. With a single token
// every weight is used once, so the weights travel in a compact sparse form and the math is
// done densely in registers (as Flash-LLM does for skinny products): each output channel's
// nonzeros, in groups of 4, are multiplied against a vector gathered from x (which stays in
// L1), and the four lanes are summed at the end of the channel.
//
// The weights are sparse-format.ts offsetGroups: 5 bytes per nonzero in one stream (values, then
// one-byte input offsets from a running position), and the channels go two at a time (sorted by
// group count, so a pair's counts match and padding is rare): one loop over both channels'
// interleaved groups, two accumulators. Against the form it replaced (values and u16 input
// channels in two streams, one channel per loop, 6 bytes per nonzero) that measured 1.02-1.19x the
// speed (most runs 1.04-1.06x) at 70/90/95% on 768x3072 and 3072x768 with 17% fewer bytes
// (bench/spmv-ab.ts, paired CPU-time ratios on a loaded 2-core machine); one channel per loop in
// this format ran at 0.98-1.04x. Tried and not faster (variants of bench/spmv-ab.ts, most in its
// first commit): one-byte steps chained through lane 0 (0.96-0.98x), two groups or two alternating
// accumulators per channel (+0-3%), the four offsets read as one i32 (0.88-0.91x), lanes gathered
// by broadcast loads and blends or by scalar loads and unpacks (same), lanes 2-3 through an i64
// (0.85x), channels unrolled by group count (0.80x), three or four channels per loop (no better
// than two). The gather's index loads and address adds bound the loop: with fixed x offsets in
// place of loaded ones it ran 1.25x faster.

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams } from './epilogue.js';
import { BlobBuilder, OFFSET_GROUP_BYTES, offsetGroups, type SparseRows } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';

/**
 * The output channels in pairs, sorted by group count so that the two of a pair nearly always
 * have the same count (the shorter one is padded with zero groups); an odd last channel alone.
 */
function channelPairs(groups: Int32Array): { pairs: [number, number][]; single?: number } {
  const order = Array.from(groups.keys()).sort((a, b) => groups[a]! - groups[b]! || a - b);
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < order.length; i += 2) pairs.push([order[i]!, order[i + 1]!]);
  return order.length % 2 === 1 ? { pairs, single: order[order.length - 1]! } : { pairs };
}

/**
 * Blob: the offset groups (sparse-format.ts offsetGroups) of each channel pair interleaved
 * (a group of one channel, then one of the other), then the odd channel's; bias f32; per pair
 * i32 (first channel * 4, second channel * 4, groups), then (channel * 4, groups) for the odd one.
 */
export function packSpmv(spec: SparseSpec, rows: SparseRows, bias?: Float32Array): PackedSparse {
  if (rows.K !== spec.K || rows.N !== spec.N) throw new Error(`sparse weight is ${rows.K}x${rows.N}, kernel expects ${spec.K}x${spec.N}`);
  if (spec.M !== 1) throw new Error('the sparse GEMV kernel computes one token (M = 1)');
  if (spec.bias && bias?.length !== spec.N) throw new Error(`sparse bias must have ${spec.N} values`);
  const { records, groups } = offsetGroups(rows);
  const first = new Int32Array(spec.N);
  for (let n = 1; n < spec.N; n++) first[n] = first[n - 1]! + groups[n - 1]!;
  const groupsOf = (n: number, count = groups[n]!) => records.subarray(first[n]! * OFFSET_GROUP_BYTES, (first[n]! + count) * OFFSET_GROUP_BYTES);
  const { pairs, single } = channelPairs(groups);
  const paired = pairs.reduce((s, [a, b]) => s + 2 * Math.max(groups[a]!, groups[b]!), 0);
  const stream = new Uint8Array((paired + (single === undefined ? 0 : groups[single]!)) * OFFSET_GROUP_BYTES);
  const meta = new Int32Array(pairs.length * 3 + (single === undefined ? 0 : 2));
  let at = 0;
  pairs.forEach(([a, b], p) => {
    const count = Math.max(groups[a]!, groups[b]!);
    meta.set([a * 4, b * 4, count], p * 3);
    for (let g = 0; g < count; g++) {
      // Past its own groups a channel gets zero groups (values 0, offsets 0: x at its position).
      for (const n of [a, b]) {
        if (g < groups[n]!) stream.set(groupsOf(n).subarray(g * OFFSET_GROUP_BYTES, (g + 1) * OFFSET_GROUP_BYTES), at);
        at += OFFSET_GROUP_BYTES;
      }
    }
  });
  if (single !== undefined) {
    meta.set([single * 4, groups[single]!], pairs.length * 3);
    stream.set(groupsOf(single), at);
  }
  const b = new BlobBuilder();
  const streamAt = b.add(stream);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  const metaAt = b.add(meta);
  return { blob: b.build(), offsets: { values: streamAt, k: streamAt, bias: biasAt, counts: metaAt, kBytes: 2 } };
}

/** Add `spec.name(x, w, y)` (byte addresses; w is packSpmv's blob). */
export function emitSpmv(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pr, pm, pb, py, count, channel] = Array.from({ length: 6 }, () => fn.local(i32));
    const px = [fn.local(i32), fn.local(i32)];
    const acc = [fn.local(v128), fn.local(v128)];
    const xv = [fn.local(v128), fn.local(v128)];
    const sum = fn.local(f32);
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    // Every lane's input is px + offset; lane 3's (evaluated last) becomes the next group's px.
    const xAddr = (c: number, lane: number): ExprRef => {
      const address = m.i32.add(m.get(px[c]!), m.i32.shl(m.i32.load8U(m.get(pr), c * OFFSET_GROUP_BYTES + 16 + lane), m.i32.const(2)));
      return lane === 3 ? m.tee(px[c]!, address) : address;
    };
    const gather = (c: number): ExprRef[] => [
      m.set(xv[c]!, m.v128.load32Zero(xAddr(c, 0))),
      m.set(xv[c]!, m.v128.load32Lane(xAddr(c, 1), m.get(xv[c]!), 1)),
      m.set(xv[c]!, m.v128.load32Lane(xAddr(c, 2), m.get(xv[c]!), 2)),
      m.set(xv[c]!, m.v128.load32Lane(xAddr(c, 3), m.get(xv[c]!), 3)),
    ];
    const store = (c: number): ExprRef[] => [
      m.set(channel, m.i32.load(m.get(pm), c * 4)),
      m.set(py, m.i32.add(m.get(yArg), m.get(channel))),
      m.set(sum, spec.bias ? m.f32.add(m.sumLanes(acc[c]!), m.f32.load(m.i32.add(m.get(pb), m.get(channel)))) : m.sumLanes(acc[c]!)),
      ...epilogue.scalar(m.get(sum), py, 0),
    ];
    // `width` channels at a time: one loop over their interleaved groups, one accumulator each.
    const channels = (width: number, iterations: number): ExprRef => {
      const lanes = Array.from({ length: width }, (_, c) => c);
      return repeat(fn, iterations, [
        ...lanes.flatMap((c) => [m.set(acc[c]!, m.v128.zero()), m.set(px[c]!, m.get(xArg))]),
        m.set(count, m.i32.load(m.get(pm), width * 4)),
        repeatRuntime(fn, count, [
          ...lanes.flatMap(gather),
          ...lanes.map((c) => m.set(acc[c]!, m.madd(m.v128.load(m.get(pr), c * OFFSET_GROUP_BYTES), m.get(xv[c]!), m.get(acc[c]!)))),
          bump(fn, pr, width * OFFSET_GROUP_BYTES),
        ]),
        ...lanes.flatMap(store),
        bump(fn, pm, (width + 1) * 4),
      ]);
    };
    return [
      ...epilogue.setup(),
      m.set(pr, at(offsets.values)), m.set(pm, at(offsets.counts)), m.set(pb, at(offsets.bias)),
      channels(2, Math.floor(spec.N / 2)),
      channels(1, spec.N % 2),
    ];
  });
}
