// Block-sparse weight x dense activations, for blocks of 4x1, 8x1, 1x4 and 4x4 (rows = output
// channels x cols = inputs; storage in bsr-format.ts).
//
// Kernels:
// - one token, blocks of 4 or 8 rows: y[rows of the block row] += block values (f32x4 per 4
//   channels) * x[k] (broadcast), for each of the block's inputs. The dense GEMV's inner step,
//   on the kept inputs only; a loop trip does four multiply-adds into four accumulators (one
//   per block of a group, or per input of a 4x4 block), keeping the add latency off the
//   critical path; their sum per 4 channels is stored once. A 4x4 block's x[k..k+3] is one
//   load and four lane shuffles rather than four broadcast loads (1x768x3072 at 80%: 13-15%
//   faster, three interleaved runs).
// - one token, 1x4 blocks: the block's 4 values times x[k..k+3], one contiguous f32x4 load;
//   four accumulators (one per block of a group) summed across lanes at the channel's end.
// - many tokens, on transposed activations X^T [K,M] as the other sparse kernels: a tile of 4
//   channels (one for 1x4 blocks) x a strip of tokens; per block input, loads of X^T row k
//   and one broadcast weight per channel feed channels x strip multiply-adds. Blocks of 8 rows
//   walk their list once per 4 channels, and a block's inputs take an inner loop. 4 channels x
//   2 vectors take 14 live v128 values at most, because V8 hoists a loop body's loads ahead of
//   its arithmetic and spills past 16 (see dense.ts); one channel takes 6 vectors (24 tokens)
//   per strip, as the unstructured kernel's strips.

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { byteOffsets, effectiveShape, groupSize, type BlockLabel, type BlockShape } from './bsr-format.js';
import { EpilogueStore, matrixKernelParams } from './epilogue.js';
import type { PackedSparse, SparseSpec } from './spmm.js';

/** Add `spec.name(x, w, y)`: x row-major for one token, X^T [K,M] and Y^T [N,M] for more; w from packBsr with `label`. */
export function emitBsr(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], label: BlockLabel): void {
  const shape = effectiveShape(label, spec.K);
  if (spec.M > 1) emitBsrTokens(m, spec, offsets, shape);
  else if (shape.rows === 1) emitBsrGemvRow(m, spec, offsets, shape);
  else emitBsrGemv(m, spec, offsets, shape);
}

interface Pointers {
  pv: Local; // block values
  pk: Local; // block inputs
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

/** Byte address of block `u`'s first input in x (one token). */
function xAddress(m: WasmModule, spec: SparseSpec, x: Local, p: Pointers, kBytes: 2 | 4, u: number): ExprRef {
  const offset = byteOffsets(spec) ? loadK(m, p.pk, kBytes, u) : m.i32.shl(loadK(m, p.pk, kBytes, u), m.i32.const(2));
  return m.i32.add(m.get(x), offset);
}

/** Whole block rows of `rows` channels, then the ragged last one. */
function blockRows(fn: FunctionScope, N: number, rows: number, body: (channels: number) => ExprRef[]): ExprRef[] {
  return [repeat(fn, Math.floor(N / rows), body(rows)), ...(N % rows ? body(N % rows) : [])];
}

/** Sum of the accumulators in a balanced tree (independent adds). */
function sumTree(m: WasmModule, terms: ExprRef[]): ExprRef {
  while (terms.length > 1) {
    const next: ExprRef[] = [];
    for (let i = 0; i + 1 < terms.length; i += 2) next.push(m.f32x4.add(terms[i]!, terms[i + 1]!));
    if (terms.length % 2) next.push(terms[terms.length - 1]!);
    terms = next;
  }
  return terms[0]!;
}

function emitBsrGemv(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], shape: BlockShape): void {
  const { rows, cols } = shape;
  const kb = offsets.kBytes;
  const vectors = rows / 4;
  const group = groupSize(spec, shape);
  const slots = group * cols * vectors;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const { p, init } = pointers(fn, wArg, offsets);
    const [py, count] = [fn.local(i32), fn.local(i32)];
    // Slot (u, c, v): block u of the group, its input c, its channels 4v..4v+3.
    const acc = Array.from({ length: slots }, () => fn.local(v128));
    const xs = Array.from({ length: group * cols }, () => fn.local(v128));
    const xAt = fn.local(i32);
    const xv = fn.local(v128);
    // Built per use: binaryen expressions must not be shared between two places in the tree.
    const step = (): ExprRef[] => {
      const out: ExprRef[] = [];
      for (let u = 0; u < group; u++) {
        if (cols === 1) out.push(m.set(xs[u]!, m.v128.load32Splat(xAddress(m, spec, xArg, p, kb, u))));
        else {
          out.push(m.set(xAt, xAddress(m, spec, xArg, p, kb, u)));
          if (cols === 4) {
            out.push(m.set(xv, m.v128.load(m.get(xAt))));
            for (let c = 0; c < cols; c++) out.push(m.set(xs[u * cols + c]!, m.bits.shuffle32(m.get(xv), m.get(xv), [c, c, c, c])));
          } else for (let c = 0; c < cols; c++) out.push(m.set(xs[u * cols + c]!, m.v128.load32Splat(m.get(xAt), c * 4)));
        }
      }
      for (let u = 0; u < group; u++) {
        for (let c = 0; c < cols; c++) {
          for (let v = 0; v < vectors; v++) {
            const a = acc[(u * cols + c) * vectors + v]!;
            const values = m.v128.load(m.get(p.pv), ((u * cols + c) * rows + v * 4) * 4);
            out.push(m.set(a, m.madd(values, m.get(xs[u * cols + c]!), m.get(a))));
          }
        }
      }
      out.push(bump(fn, p.pv, group * rows * cols * 4), bump(fn, p.pk, group * kb));
      return out;
    };
    const blockRow = (channels: number): ExprRef[] => {
      const out: ExprRef[] = acc.map((a, s) => m.set(a, spec.bias && s < vectors ? m.v128.load(m.get(p.pb), s * 16) : m.v128.zero()));
      out.push(m.set(count, m.i32.load(m.get(p.pc))), repeatRuntime(fn, count, step()));
      for (let v = 0; v * 4 < channels; v++) {
        const total = sumTree(m, acc.filter((_, s) => s % vectors === v).map((a) => m.get(a)));
        out.push(...epilogue.vector(total, py, v * 16, Math.min(4, channels - v * 4)));
      }
      out.push(bump(fn, p.pc, 4), bump(fn, p.pb, spec.bias ? rows * 4 : 0), bump(fn, py, rows * 4));
      return out;
    };
    return [...epilogue.setup(), ...init, m.set(py, m.get(yArg)), ...blockRows(fn, spec.N, rows, blockRow)];
  });
}

/** `lanes` f32 at ptr + offset in the low lanes of a v128, the rest zero (every load stays in bounds). */
function loadLanes(m: WasmModule, ptr: () => ExprRef, offset: number, lanes: number): ExprRef {
  switch (lanes) {
    case 4: return m.v128.load(ptr(), offset);
    case 3: return m.v128.load32Lane(ptr(), m.v128.load64Zero(ptr(), offset), 2, offset + 8);
    case 2: return m.v128.load64Zero(ptr(), offset);
    default: return m.v128.load32Zero(ptr(), offset);
  }
}

/** One token, one output channel per block row (1x4): contiguous x loads, a lane sum per channel. */
function emitBsrGemvRow(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], shape: BlockShape): void {
  const { cols } = shape;
  const kb = offsets.kBytes;
  const group = groupSize(spec, shape);
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const { p, init } = pointers(fn, wArg, offsets);
    const [py, count] = [fn.local(i32), fn.local(i32)];
    const acc = Array.from({ length: group }, () => fn.local(v128));
    const total = fn.local(v128);
    const step: ExprRef[] = acc.map((a, u) => {
      const x = loadLanes(m, () => xAddress(m, spec, xArg, p, kb, u), 0, cols);
      return m.set(a, m.madd(loadLanes(m, () => m.get(p.pv), u * cols * 4, cols), x, m.get(a)));
    });
    step.push(bump(fn, p.pv, group * cols * 4), bump(fn, p.pk, group * kb));
    const sum = spec.bias ? m.f32.add(m.sumLanes(total), m.f32.load(m.get(p.pb))) : m.sumLanes(total);
    const channel: ExprRef[] = [
      ...acc.map((a) => m.set(a, m.v128.zero())),
      m.set(count, m.i32.load(m.get(p.pc))),
      repeatRuntime(fn, count, step),
      m.set(total, sumTree(m, acc.map((a) => m.get(a)))),
      ...epilogue.scalar(sum, py, 0),
      bump(fn, p.pc, 4), bump(fn, p.pb, spec.bias ? 4 : 0), bump(fn, py, 4),
    ];
    return [...epilogue.setup(), ...init, m.set(py, m.get(yArg)), repeat(fn, spec.N, channel)];
  });
}

/** Token strips of the many-token kernel: `vectors` v128 per channel, or `scalars` f32 tokens. */
interface TokenStrip {
  vectors: number;
  scalars: number;
}

function tokenStrips(M: number, mainVectors: number): { strip: TokenStrip; times: number }[] {
  const out: { strip: TokenStrip; times: number }[] = [];
  const full = Math.floor(M / (mainVectors * 4));
  if (full > 0) out.push({ strip: { vectors: mainVectors, scalars: 0 }, times: full });
  let rest = M - full * mainVectors * 4;
  for (let v = mainVectors - 1; v >= 1; v--) {
    if (rest >= v * 4) {
      out.push({ strip: { vectors: v, scalars: 0 }, times: 1 });
      rest -= v * 4;
    }
  }
  if (rest > 0) out.push({ strip: { vectors: 0, scalars: rest }, times: 1 });
  return out;
}

function emitBsrTokens(m: WasmModule, spec: SparseSpec, offsets: PackedSparse['offsets'], shape: BlockShape): void {
  const { M, N } = spec;
  const { rows, cols } = shape;
  const rowBytes = M * 4;
  const blockBytes = rows * cols * 4;
  const kb = offsets.kBytes;
  // A tile's channels: 4 (a quarter of an 8-row block) or the block's one.
  const tile = Math.min(rows, 4);
  const mainVectors = tile === 4 ? 2 : 6;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const epilogue = new EpilogueStore(fn, spec.epilogue);
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const { p, init } = pointers(fn, wArg, offsets);
    // rowV/rowK: this block row's first block; xs/ys: the strip's first token in X^T row 0
    // and in Y^T row of the tile's first channel; px: X^T row k of the current block.
    const [rowV, rowK, yRow, xs, ys, px, count] = Array.from({ length: 7 }, () => fn.local(i32));
    const vecAcc = Array.from({ length: tile * mainVectors }, () => fn.local(v128));
    const vecX = Array.from({ length: mainVectors }, () => fn.local(v128));
    const vecW = Array.from({ length: tile }, () => fn.local(v128));
    const scalarAcc = Array.from({ length: tile * 3 }, () => fn.local(f32));
    const scalarX = Array.from({ length: 3 }, () => fn.local(f32));
    const scalarW = Array.from({ length: tile }, () => fn.local(f32));

    /** One strip of tokens for the tile of channels first..first+channels-1 of the block row. */
    const stripBody = (s: TokenStrip, first: number, channels: number): ExprRef[] => {
      const vec = s.vectors > 0;
      const lanes = vec ? s.vectors : s.scalars;
      const acc = (j: number, i: number): Local => (vec ? vecAcc : scalarAcc)[j * lanes + i]!;
      const out: ExprRef[] = [];
      for (let j = 0; j < tile; j++) {
        for (let i = 0; i < lanes; i++) {
          const at = (first + j) * 4;
          const value = spec.bias
            ? (vec ? m.v128.load32Splat(m.get(p.pb), at) : m.f32.load(m.get(p.pb), at))
            : (vec ? m.v128.zero() : m.f32.const(0));
          out.push(m.set(acc(j, i), value));
        }
      }
      out.push(m.set(p.pv, m.get(rowV)), m.set(p.pk, m.get(rowK)), m.set(count, m.i32.load(m.get(p.pc))));
      // One input of the block: X^T row k+c at the strip, times the tile's channel weights.
      const input: ExprRef[] = [];
      for (let i = 0; i < lanes; i++) {
        const at = i * (vec ? 16 : 4);
        input.push(m.set(vec ? vecX[i]! : scalarX[i]!, vec ? m.v128.load(m.get(px), at) : m.f32.load(m.get(px), at)));
      }
      for (let j = 0; j < tile; j++) {
        const at = (first + j) * 4;
        input.push(m.set(vec ? vecW[j]! : scalarW[j]!, vec ? m.v128.load32Splat(m.get(p.pv), at) : m.f32.load(m.get(p.pv), at)));
        for (let i = 0; i < lanes; i++) {
          const a = acc(j, i);
          input.push(m.set(a, vec
            ? m.madd(m.get(vecW[j]!), m.get(vecX[i]!), m.get(a))
            : m.f32.add(m.f32.mul(m.get(scalarW[j]!), m.get(scalarX[i]!)), m.get(a))));
        }
      }
      input.push(bump(fn, px, rowBytes), bump(fn, p.pv, rows * 4));
      // A block's inputs take a loop of their own: unrolled, V8 hoisted all their loads ahead
      // of the arithmetic and spilled (4x4 blocks at 64 tokens: 1.74x block density of dense
      // time, 1.23x with the loop). Two inputs per trip were slower for 1x4 blocks too (2.19
      // vs 2.03 ms at 4 vectors, 2.53 at 6; 64x768x3072, 80%).
      const step = [m.set(px, m.i32.add(m.get(xs), m.i32.mul(loadK(m, p.pk, kb), m.i32.const(rowBytes)))), repeat(fn, cols, input), bump(fn, p.pk, kb)];
      out.push(repeatRuntime(fn, count, step));
      for (let j = 0; j < channels; j++) {
        for (let i = 0; i < lanes; i++) {
          const a = acc(j, i);
          out.push(...(vec ? epilogue.vector(m.get(a), ys, j * rowBytes + i * 16) : epilogue.scalar(m.get(a), ys, j * rowBytes + i * 4)));
        }
      }
      const tokens = vec ? s.vectors * 4 : s.scalars;
      out.push(bump(fn, xs, tokens * 4), bump(fn, ys, tokens * 4));
      return out;
    };

    const blockRow = (channels: number): ExprRef[] => {
      const out: ExprRef[] = [];
      for (let first = 0; first < channels; first += tile) {
        out.push(m.set(xs, m.get(xArg)), m.set(ys, m.i32.add(m.get(yRow), m.i32.const(first * rowBytes))));
        out.push(...tokenStrips(M, mainVectors).map(({ strip, times }) => repeat(fn, times, stripBody(strip, first, Math.min(tile, channels - first)))));
      }
      // The strips left pk at the end of this block row's list: the next row starts there.
      out.push(
        m.set(rowV, m.i32.add(m.get(rowV), m.i32.mul(m.i32.load(m.get(p.pc)), m.i32.const(blockBytes)))), m.set(rowK, m.get(p.pk)),
        bump(fn, p.pc, 4), bump(fn, p.pb, spec.bias ? rows * 4 : 0), bump(fn, yRow, rows * rowBytes),
      );
      return out;
    };
    return [
      ...epilogue.setup(),
      ...init,
      m.set(rowV, m.get(p.pv)), m.set(rowK, m.get(p.pk)), m.set(yRow, m.get(yArg)),
      ...blockRows(fn, N, rows, blockRow),
    ];
  });
}
