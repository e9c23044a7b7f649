// Softmax over each row of `cols`: exp(x - max) / sum, four lanes at a time with a scalar
// tail. Fused forms (codegen/fuse-softmax.ts): x scaled by a constant as it is read, and a
// causal mask given as each row's kept prefix length (f32, one per row, in a second input):
// only the prefix is walked, the rest of the row is written as 0 (exp(-inf)).

import { bump, repeat, repeatRuntime } from '../loops.js';
import { f32, i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { exp, walk } from './elementwise.js';
import { expV } from './vector-math.js';

export interface SoftmaxSpec {
  rows: number;
  cols: number;
  scale?: number;
  prefix?: boolean;
}

/**
 * `body` over `len` floats (a local) from `ptrs`: groups of four, then single floats. With
 * `pair`, groups of eight first (two vectors with independent dependency chains), then at most
 * one group of four.
 */
function walkRuntime(fn: FunctionScope, len: Local, ptrs: Local[], vector: () => ExprRef[], scalar: () => ExprRef[], pair?: () => ExprRef[]): ExprRef[] {
  const m = fn.m;
  const count = fn.local(i32);
  const eights = pair ? [
    m.set(count, m.i32.shrU(m.get(len), m.i32.const(3))),
    repeatRuntime(fn, count, [...pair(), ...ptrs.map((p) => bump(fn, p, 32))]),
  ] : [];
  return [
    ...eights,
    m.set(count, pair ? m.i32.and(m.i32.shrU(m.get(len), m.i32.const(2)), m.i32.const(1)) : m.i32.shrU(m.get(len), m.i32.const(2))),
    repeatRuntime(fn, count, [...vector(), ...ptrs.map((p) => bump(fn, p, 16))]),
    m.set(count, m.i32.and(m.get(len), m.i32.const(3))),
    repeatRuntime(fn, count, [...scalar(), ...ptrs.map((p) => bump(fn, p, 4))]),
  ];
}

/** Add `name(x, [prefix,] y)`. */
export function emitSoftmax(m: WasmModule, name: string, k: SoftmaxSpec): void {
  const { rows, cols, scale, prefix } = k;
  m.addFunction(name, prefix ? [i32, i32, i32] : [i32, i32], none, (fn) => {
    const px = fn.param(0);
    const py = fn.param(prefix ? 2 : 1);
    const pl = fn.param(1);
    const [q, r, len, rest] = [fn.local(i32), fn.local(i32), fn.local(i32), fn.local(i32)];
    const [max, sum, arg, kk, e] = [fn.local(f32), fn.local(f32), fn.local(f32), fn.local(f32), fn.local(f32)];
    const [vmax, vsum, varg, vk, ve] = [fn.local(v128), fn.local(v128), fn.local(v128), fn.local(v128), fn.local(v128)];
    const f = m.f32x4;
    const lane = (v: Local, i: number) => f.extractLane(m.get(v), i);
    const span = (ptrs: Local[], vector: () => ExprRef[], scalar: () => ExprRef[]) =>
      (prefix ? walkRuntime(fn, len, ptrs, vector, scalar) : walk(fn, cols, ptrs, vector, scalar));
    // x as read: scaled when fused with the scores' scaling (the same f32 product).
    const loadV = () => (scale === undefined ? m.v128.load(m.get(q)) : f.mul(m.v128.load(m.get(q)), f.splatConst(scale)));
    const loadS = () => (scale === undefined ? m.f32.load(m.get(q)) : m.f32.mul(m.f32.load(m.get(q)), m.f32.const(scale)));
    const [vsum2, varg2, vk2, ve2] = [fn.local(v128), fn.local(v128), fn.local(v128), fn.local(v128)];
    // y = exp(x - max) for four floats at `offset`, summed into `acc`.
    const expStep = (offset: number, acc: Local, va: Local, vkk: Local, vy: Local): ExprRef[] => [
      m.set(va, f.sub(scale === undefined ? m.v128.load(m.get(q), offset) : f.mul(m.v128.load(m.get(q), offset), f.splatConst(scale)), f.splat(m.get(max)))),
      ...expV(m, va, vkk, vy),
      m.v128.store(m.get(r), m.get(vy), offset),
      m.set(acc, f.add(m.get(acc), m.get(vy))),
    ];
    const expScalar = (): ExprRef[] => [
      m.set(arg, m.f32.sub(loadS(), m.get(max))),
      ...exp(m, arg, kk, e),
      m.f32.store(m.get(r), m.get(e)),
      m.set(sum, m.f32.add(m.get(sum), m.get(e))),
    ];
    const interleave = (a: ExprRef[], b: ExprRef[]) => a.flatMap((x, i) => [x, b[i]!]);
    return [repeat(fn, rows, [
      ...(prefix ? [m.set(len, m.i32.truncF32(m.f32.load(m.get(pl)))), bump(fn, pl, 4)] : []),
      // The row's max (max is exact, so the lane order does not matter).
      m.set(q, m.get(px)),
      m.set(vmax, f.splatConst(-Infinity)),
      m.set(max, m.f32.const(-Infinity)),
      ...span([q], () => [m.set(vmax, f.max(m.get(vmax), loadV()))], () => [m.set(max, m.f32.max(m.get(max), loadS()))]),
      m.set(max, m.f32.max(m.get(max), m.f32.max(m.f32.max(lane(vmax, 0), lane(vmax, 1)), m.f32.max(lane(vmax, 2), lane(vmax, 3))))),
      m.set(q, m.get(px)),
      m.set(r, m.get(py)),
      m.set(vsum, m.v128.zero()),
      m.set(sum, m.f32.const(0)),
      ...(prefix ? [m.set(vsum2, m.v128.zero())] : []),
      ...(prefix ? walkRuntime(fn, len, [q, r], () => expStep(0, vsum, varg, vk, ve), () => expScalar(), () => interleave(expStep(0, vsum, varg, vk, ve), expStep(16, vsum2, varg2, vk2, ve2)))
        : walk(fn, cols, [q, r], () => expStep(0, vsum, varg, vk, ve), () => expScalar())),
      ...(prefix ? [m.set(vsum, f.add(m.get(vsum), m.get(vsum2)))] : []),
      // The masked tail (r is at its start): zeros.
      ...(prefix ? [
        m.set(rest, m.i32.sub(m.i32.const(cols), m.get(len))),
        ...walkRuntime(fn, rest, [r], () => [m.v128.store(m.get(r), m.v128.zero())], () => [m.f32.store(m.get(r), m.f32.const(0))]),
      ] : []),
      m.set(sum, m.f32.div(m.f32.const(1), m.f32.add(m.get(sum), m.sumLanes(vsum)))),
      m.set(r, m.get(py)),
      ...span([r],
        () => [m.v128.store(m.get(r), f.mul(m.v128.load(m.get(r)), f.splat(m.get(sum))))],
        () => [m.f32.store(m.get(r), m.f32.mul(m.f32.load(m.get(r)), m.get(sum)))]),
      bump(fn, px, cols * 4),
      bump(fn, py, cols * 4),
    ])];
  });
}
