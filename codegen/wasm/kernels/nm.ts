// 2:4 sparse weights (two nonzeros in every group of four consecutive input channels of each
// output channel). Storage per output channel: K/2 values, and one byte per pair of groups
// holding four 2-bit positions (value j of the pair sits at input channel 4*(2p + j>>1) +
// position_j). That is 4.25 bytes per kept weight, 53% of the dense bytes; there are no counts
// because every channel holds exactly K/2 values.
//
// Kernels: many tokens (transposed activations, the strips of strips.ts, as for unstructured
// sparsity but with positions decoded from the byte), and one token (the four weights of a
// byte are multiplied against a vector gathered from x).

import { bump, repeat } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { BlobBuilder } from './sparse-format.js';
import type { PackedSparse, SparseSpec } from './spmm.js';
import { forEachStrip, type Strip } from './strips.js';

/** Pack W [K,N] that is 2:4 along K (K % 4 == 0) into values, position bytes and bias. */
export function pack2of4(spec: SparseSpec, W: Float32Array, bias?: Float32Array): PackedSparse {
  const { K, N } = spec;
  if (K % 4 !== 0) throw new Error(`2:4 needs K divisible by 4, got ${K}`);
  if (spec.bias && bias?.length !== N) throw new Error(`2:4 bias must have ${N} values`);
  const groups = K / 4;
  const bytesPerChannel = Math.ceil(groups / 2);
  const values = new Float32Array(N * groups * 2);
  const positions = new Uint8Array(N * bytesPerChannel);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const kept: number[] = [];
      for (let i = 0; i < 4; i++) if (W[(4 * g + i) * N + n] !== 0) kept.push(i);
      if (kept.length > 2) throw new Error(`weight is not 2:4: output ${n}, inputs ${4 * g}..${4 * g + 3} hold ${kept.length} nonzeros`);
      // Fewer than two nonzeros: fill with zero weights at unused positions.
      for (let i = 0; kept.length < 2; i++) if (!kept.includes(i)) kept.push(i);
      kept.sort((a, b) => a - b);
      kept.forEach((pos, j) => {
        values[(n * groups + g) * 2 + j] = W[(4 * g + pos) * N + n]!;
        positions[n * bytesPerChannel + (g >> 1)]! |= pos << (2 * ((g & 1) * 2 + j));
      });
    }
  }
  const b = new BlobBuilder();
  const valuesAt = b.add(values);
  const kAt = b.add(positions);
  const biasAt = b.add(spec.bias && bias ? bias : new Float32Array(0));
  return { blob: b.build(), offsets: { values: valuesAt, bias: biasAt, counts: 0, k: kAt, kBytes: 2 } };
}

/** The 2-bit position `j` (0..3) of the byte in `byte`. */
function position(m: WasmModule, byte: Local, j: number): ExprRef {
  const shifted = j === 0 ? m.get(byte) : m.i32.shrU(m.get(byte), m.i32.const(2 * j));
  return j === 3 ? shifted : m.i32.and(shifted, m.i32.const(3));
}

/**
 * Add `spec.name(xT, w, yT)` for many tokens: transposed activations as in spmm, channels
 * outer and strips inner so a channel's values and positions are reused from L1.
 */
export function emit2of4(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  if (spec.M === 1) return emit2of4Gemv(m, spec, offsets);
  const { M, K, N } = spec;
  const rowBytes = M * 4;
  const pairs = Math.floor(K / 8);
  const oddGroup = (K / 4) % 2 === 1;
  const channelValueBytes = (K / 2) * 4;
  const channelPositionBytes = Math.ceil(K / 8);
  m.addFunction(spec.name, [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [xs, ys, cv, ci, pv, pi, pb, px, byte, addr] = Array.from({ length: 10 }, () => fn.local(i32));
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    // Value j of the current byte: input row 4*(j>>1) + position_j relative to px.
    const step = (strip: Strip, j: number): ExprRef[] => [
      strip.loadWeight(m.get(pv), j * 4),
      m.set(addr, m.i32.add(m.get(px), m.i32.mul(position(m, byte, j), m.i32.const(rowBytes)))),
      ...strip.accumulate(addr, 4 * (j >> 1) * rowBytes),
    ];
    return [
      m.set(cv, at(offsets.values)), m.set(ci, at(offsets.k)), m.set(pb, at(offsets.bias)), m.set(ys, m.get(yArg)),
      repeat(fn, N, [
        m.set(xs, m.get(xArg)),
        ...forEachStrip(fn, M, xs, ys, (strip) => [
          ...strip.init(spec.bias ? { ptr: pb, offset: 0 } : undefined),
          m.set(pv, m.get(cv)), m.set(pi, m.get(ci)), m.set(px, m.get(xs)),
          repeat(fn, pairs, [
            m.set(byte, m.i32.load8U(m.get(pi))),
            ...[0, 1, 2, 3].flatMap((j) => step(strip, j)),
            bump(fn, pv, 16), bump(fn, pi, 1), bump(fn, px, 8 * rowBytes),
          ]),
          ...(oddGroup ? [m.set(byte, m.i32.load8U(m.get(pi))), ...step(strip, 0), ...step(strip, 1)] : []),
          ...strip.store(ys, 0, spec.relu ?? false),
        ]),
        bump(fn, cv, channelValueBytes), bump(fn, ci, channelPositionBytes), bump(fn, pb, spec.bias ? 4 : 0),
      ]),
    ];
  });
}

/** One token: y[n] = sum over pairs of groups of values . gather(x, positions). */
function emit2of4Gemv(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets']): void {
  const { K, N } = spec;
  const pairs = Math.floor(K / 8);
  const oddGroup = (K / 4) % 2 === 1;
  m.addFunction(spec.name, [i32, i32, i32], none, (fn: FunctionScope) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pv, pi, pb, py, px, byte] = Array.from({ length: 6 }, () => fn.local(i32));
    const [acc, xv] = [fn.local(v128), fn.local(v128)];
    const sum = fn.local(f32);
    const at = (off: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(off));
    const xAddr = (j: number): ExprRef => m.i32.add(m.get(px), m.i32.shl(position(m, byte, j), m.i32.const(2)));
    const gather = (lanes: number): ExprRef[] => [
      m.set(byte, m.i32.load8U(m.get(pi))),
      m.set(xv, m.v128.load32Zero(xAddr(0))),
      ...Array.from({ length: lanes - 1 }, (_, i) => m.set(xv, m.v128.load32Lane(xAddr(i + 1), m.get(xv), i + 1, 16 * ((i + 1) >> 1)))),
    ];
    return [
      m.set(pv, at(offsets.values)), m.set(pi, at(offsets.k)), m.set(pb, at(offsets.bias)), m.set(py, m.get(yArg)),
      repeat(fn, N, [
        m.set(acc, m.v128.zero()),
        m.set(px, m.get(xArg)),
        repeat(fn, pairs, [
          ...gather(4),
          m.set(acc, m.madd(m.v128.load(m.get(pv)), m.get(xv), m.get(acc))),
          bump(fn, pv, 16), bump(fn, pi, 1), bump(fn, px, 32),
        ]),
        ...(oddGroup ? [...gather(2), m.set(acc, m.madd(m.v128.load64Zero(m.get(pv)), m.get(xv), m.get(acc))), bump(fn, pv, 8), bump(fn, pi, 1)] : []),
        m.set(sum, spec.bias ? m.f32.add(m.sumLanes(acc), m.f32.load(m.get(pb))) : m.sumLanes(acc)),
        m.f32.store(m.get(py), spec.relu ? m.f32.max(m.get(sum), m.f32.const(0)) : m.get(sum)),
        bump(fn, pb, spec.bias ? 4 : 0), bump(fn, py, 4),
      ]),
    ];
  });
}
