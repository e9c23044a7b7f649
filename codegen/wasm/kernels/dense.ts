// Dense GEMM/GEMV: Y[M,N] = X[M,K] @ W[K,N] (+ bias), then the epilogue, all row-major f32.
//
// W is packed at build time into column panels of `nr` columns: panel p holds
// W[0..K, p*nr .. p*nr+nr] row after row (zero-padded past N), followed by the bias padded to
// a whole number of panels. The kernel walks panel by panel (a panel of K*nr floats stays in
// L1 while every row block of X streams past it) and, per block of `mr` rows, runs an
// mr x nr register tile: mr*nr/4 v128 accumulators, nr/4 weight vectors and one broadcast x.
// V8 keeps only 16 v128 values in registers, so mr*nr/4 + nr/4 + 1 must stay well under 16.
// Rows and columns that do not fill a tile get their own straight-line variants (shapes are
// static), so there are no masks at run time; the partial panel stores lane by lane.

import { bump, repeat } from '../loops.js';
import { i32, none, v128, type ExprRef, type FunctionScope, type Local, type WasmModule } from '../module.js';
import { EpilogueStore, matrixKernelParams, type Epilogue } from './epilogue.js';

export interface DenseSpec {
  name: string;
  M: number;
  K: number;
  N: number;
  bias?: boolean;
  epilogue?: Epilogue;
  /** Register tile; default by M (see denseTile). */
  tile?: { mr: number; nr: number };
  /** How many k steps one loop iteration covers (default 1: unrolling made V8 spill, see denseTile). */
  unrollK?: number;
}

const F = 4;
const V = 16;

/**
 * The register tile for a product with M rows. Measured on V8 (Node 20, x64): TurboFan hoists
 * the loads of a tile's k step ahead of the arithmetic, so tiles that look legal on paper
 * (6x8: 15 live vectors) spill once the loads are counted; 4x8 and 2x16 do not, and ran at
 * 28-32 GFLOP/s on 64x768x3072 where 6x8 ran at 20.
 */
export function denseTile(M: number): { mr: number; nr: number } {
  if (M === 1) return { mr: 1, nr: 16 };
  if (M < 4) return { mr: M, nr: 16 };
  return { mr: 4, nr: 8 };
}

function tileOf(spec: DenseSpec): { mr: number; nr: number } {
  const t = spec.tile ?? denseTile(spec.M);
  if (t.nr % 4 !== 0 || t.nr <= 0 || t.mr <= 0) throw new Error(`bad dense tile ${t.mr}x${t.nr}`);
  return t;
}

/** Floats in the packed weight blob (panels, then the padded bias when `bias`). */
export function densePackedLength(spec: DenseSpec): number {
  const { nr } = tileOf(spec);
  const panels = Math.ceil(spec.N / nr);
  return panels * nr * spec.K + (spec.bias ? panels * nr : 0);
}

/** Pack W [K,N] (row-major) and the optional bias [N] into the kernel's panel layout. */
export function packDense(spec: DenseSpec, W: Float32Array, bias?: Float32Array): Float32Array {
  const { K, N } = spec;
  const { nr } = tileOf(spec);
  if (W.length !== K * N) throw new Error(`dense weight has ${W.length} values, expected ${K}x${N}`);
  if (spec.bias && bias?.length !== N) throw new Error(`dense bias must have ${N} values`);
  const panels = Math.ceil(N / nr);
  const out = new Float32Array(densePackedLength(spec));
  for (let p = 0; p < panels; p++) {
    const base = p * K * nr;
    const cols = Math.min(nr, N - p * nr);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < cols; c++) out[base + k * nr + c] = W[k * N + p * nr + c]!;
    }
  }
  if (spec.bias && bias) out.set(bias, panels * nr * K);
  return out;
}

interface Tile {
  fn: FunctionScope;
  spec: DenseSpec;
  nr: number;
  x: Local; // first row of the current row block of X
  w: Local; // current panel
  b: Local; // current panel's bias
  y: Local; // output tile's top-left element
  pk: Local; // walks X along k
  pw: Local; // walks the panel along k
  acc: Local[][];
  wv: Local[];
  xs: Local;
  store: EpilogueStore;
}

/** Add `spec.name(x, w, y)`: byte addresses of X, the packed weights (packDense) and Y. */
export function emitDense(m: WasmModule, spec: DenseSpec): void {
  const { mr, nr } = tileOf(spec);
  const { M, K, N } = spec;
  m.addFunction(spec.name, matrixKernelParams(spec.epilogue), none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const nv = nr / 4;
    const t: Tile = {
      fn, spec, nr,
      x: fn.local(i32), w: fn.local(i32), b: fn.local(i32), y: fn.local(i32), pk: fn.local(i32), pw: fn.local(i32),
      acc: Array.from({ length: mr }, () => Array.from({ length: nv }, () => fn.local(v128))),
      wv: Array.from({ length: nv }, () => fn.local(v128)),
      xs: fn.local(v128),
      store: new EpilogueStore(fn, spec.epilogue),
    };
    const yPanel = fn.local(i32);
    const panels = Math.ceil(N / nr);
    const fullPanels = Math.floor(N / nr);
    const panelBytes = K * nr * F;
    const panel = (cols: number): ExprRef[] => [
      m.set(t.x, m.get(xArg)),
      m.set(t.y, m.get(yPanel)),
      repeat(fn, Math.floor(M / mr), [...tile(t, mr, cols), bump(fn, t.x, mr * K * F), bump(fn, t.y, mr * N * F)]),
      ...(M % mr ? tile(t, M % mr, cols) : []),
      bump(fn, t.w, panelBytes),
      bump(fn, t.b, nr * F),
      bump(fn, yPanel, nr * F),
    ];
    return [
      ...t.store.setup(),
      m.set(t.w, m.get(wArg)),
      m.set(t.b, m.i32.add(m.get(wArg), m.i32.const(panels * panelBytes))),
      m.set(yPanel, m.get(yArg)),
      repeat(fn, fullPanels, panel(nr)),
      ...(N % nr ? panel(N % nr) : []),
    ];
  });
}

/** One rows x cols register tile over the whole K: init, k loop, epilogue, stores. */
function tile(t: Tile, rows: number, cols: number): ExprRef[] {
  const { fn, spec, nr } = t;
  const m = fn.m;
  const { K, N } = spec;
  const nv = Math.ceil(cols / 4);
  const unroll = Math.max(1, Math.min(spec.unrollK ?? 1, K));
  const out: ExprRef[] = [];
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < nv; v++) {
      const init = spec.bias ? m.v128.load(m.get(t.b), v * V) : m.v128.zero();
      out.push(m.set(t.acc[r]![v]!, init));
    }
  }
  out.push(m.set(t.pk, m.get(t.x)), m.set(t.pw, m.get(t.w)));
  const steps = (count: number): ExprRef[] => {
    const s: ExprRef[] = [];
    for (let u = 0; u < count; u++) {
      const wOff = (v: number) => (u * nr + v * 4) * F;
      if (rows === 1) {
        // One row: each weight vector is used once, so load it straight into the madd.
        s.push(m.set(t.xs, m.v128.load32Splat(m.get(t.pk), u * F)));
        for (let v = 0; v < nv; v++) {
          const acc = t.acc[0]![v]!;
          s.push(m.set(acc, m.madd(m.get(t.xs), m.v128.load(m.get(t.pw), wOff(v)), m.get(acc))));
        }
        continue;
      }
      for (let v = 0; v < nv; v++) s.push(m.set(t.wv[v]!, m.v128.load(m.get(t.pw), wOff(v))));
      for (let r = 0; r < rows; r++) {
        s.push(m.set(t.xs, m.v128.load32Splat(m.get(t.pk), (r * K + u) * F)));
        for (let v = 0; v < nv; v++) {
          const acc = t.acc[r]![v]!;
          s.push(m.set(acc, m.madd(m.get(t.xs), m.get(t.wv[v]!), m.get(acc))));
        }
      }
    }
    return s;
  };
  out.push(repeat(fn, Math.floor(K / unroll), [...steps(unroll), bump(fn, t.pk, unroll * F), bump(fn, t.pw, unroll * nr * F)]));
  out.push(...steps(K % unroll));
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < nv; v++) {
      out.push(...t.store.vector(m.get(t.acc[r]![v]!), t.y, (r * N + v * 4) * F, Math.min(4, cols - v * 4)));
    }
  }
  return out;
}

