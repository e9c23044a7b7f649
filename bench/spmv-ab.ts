// Prototype variants of the one-token unstructured kernel, interleaved A/B (scratch).
import './v8-flags.js';
import { loadavg } from 'node:os';
import { KernelInstance } from '../codegen/wasm/harness.js';
import { bump, repeat, repeatRuntime } from '../codegen/wasm/loops.js';
import { f32, i32, none, v128, type ExprRef, type WasmModule as WM } from '../codegen/wasm/module.js';
import { matmulRef, maxRelError, pruneUnstructured, randomFloats } from '../codegen/wasm/kernels/reference.js';
import { BlobBuilder, sparseRows, stepRows, type SparseRows } from '../codegen/wasm/kernels/sparse-format.js';
import { emitSpmv, packSpmv } from '../codegen/wasm/kernels/spmv.js';
import { WasmModule } from '../codegen/wasm/module.js';

interface Opts { steps: boolean; sorted: boolean; inter: boolean; unroll: 1 | 2; word?: boolean; runs?: boolean; rel?: boolean; swap?: boolean; gather?: 'splat' | 'movss' | 'none' | 'hybrid' | 'idxonly' | 'xonly' }

function pack(rows: SparseRows, o: Opts) {
  const { N } = rows;
  const G = 4 * o.unroll;
  // per channel: list of records (value, idx)
  const chans: { v: number[]; k: number[] }[] = [];
  if (o.rel) {
    for (let n = 0; n < N; n++) {
      const v: number[] = [], k: number[] = [];
      let last = 0;
      let j = rows.start[n]!;
      const end = rows.start[n + 1]!;
      while (j < end) {
        if (rows.k[j]! - last > 255) { for (let l = 0; l < 4; l++) { v.push(0); k.push(255); } last += 255; continue; }
        const gk: number[] = [], gv: number[] = [];
        while (j < end && gk.length < 4 && rows.k[j]! - last <= 255) { gk.push(rows.k[j]! - last); gv.push(rows.values[j]!); j++; }
        while (gk.length < 4) { gk.push(gk[gk.length - 1]!); gv.push(0); }
        v.push(...gv); k.push(...gk);
        last += gk[3]!;
      }
      while (v.length % G) { v.push(0); k.push(0); }
      chans.push({ v, k });
    }
  } else if (o.steps) {
    const r = stepRows(rows, 4);
    let at = 0;
    for (let n = 0; n < N; n++) {
      const c = r.counts[n]!;
      const v = Array.from(r.values.subarray(at, at + c)), k = Array.from(r.steps.subarray(at, at + c));
      at += c;
      while (v.length % G) { v.push(0); k.push(0); }
      chans.push({ v, k });
    }
  } else {
    for (let n = 0; n < N; n++) {
      const v = Array.from(rows.values.subarray(rows.start[n], rows.start[n + 1]));
      const k = Array.from(rows.k.subarray(rows.start[n], rows.start[n + 1]));
      while (v.length % G) { v.push(0); k.push(0); }
      chans.push({ v, k });
    }
  }
  const order = Array.from({ length: N }, (_, n) => n);
  if (o.sorted) order.sort((a, b) => chans[a]!.v.length - chans[b]!.v.length || a - b);
  const kb = o.steps || o.rel ? 1 : 2;
  const total = chans.reduce((s, c) => s + c.v.length, 0);
  const meta = new Uint32Array(N);
  order.forEach((n, i) => { meta[i] = n | ((chans[n]!.v.length / G) << 16); });
  const b = new BlobBuilder();
  let valuesAt: number, kAt: number;
  if (o.inter) {
    const rec = 16 + 4 * kb;
    const buf = new Uint8Array((total / 4) * rec);
    const dv = new DataView(buf.buffer);
    let at = 0;
    for (const n of order) {
      const c = chans[n]!;
      for (let g = 0; g < c.v.length; g += 4, at += rec) {
        for (let l = 0; l < 4; l++) {
          dv.setFloat32(at + l * 4, c.v[g + l]!, true);
          if (kb === 1) dv.setUint8(at + 16 + l, c.k[g + l]!); else dv.setUint16(at + 16 + 2 * l, c.k[g + l]!, true);
        }
      }
    }
    valuesAt = kAt = b.add(buf);
  } else {
    const values = new Float32Array(total), ks = kb === 1 ? new Uint8Array(total) : new Uint16Array(total);
    let at = 0;
    for (const n of order) { const c = chans[n]!; values.set(c.v, at); ks.set(c.k, at); at += c.v.length; }
    valuesAt = b.add(values); kAt = b.add(ks);
  }
  const metaAt = b.add(meta);
  return { blob: b.build(), valuesAt, kAt, metaAt };
}

function emit(m: WM, N: number, o: Opts, off: { valuesAt: number; kAt: number; metaAt: number }) {
  const kb = o.steps || o.rel ? 1 : 2;
  const rec = o.inter ? 16 + 4 * kb : 16;
  const kStride = o.inter ? rec : 4 * kb;
  m.addFunction('kernel', [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pv, pk, pm, py, count, px, meta, wd] = Array.from({ length: 8 }, () => fn.local(i32));
    const [acc, acc2, xv] = [fn.local(v128), fn.local(v128), fn.local(v128)];
    const sum = fn.local(f32);
    const at = (o2: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(o2));
    const xAddr = (lane: number, kOff: number): ExprRef => {
      if (o.word) {
        const w = m.get(wd);
        const idx = lane === 0 ? m.i32.and(w, m.i32.const(255)) : lane === 3 ? m.i32.shrU(w, m.i32.const(24)) : m.i32.and(m.i32.shrU(w, m.i32.const(8 * lane)), m.i32.const(255));
        const step = m.i32.shl(idx, m.i32.const(2));
        return lane === 0 ? m.tee(px, m.i32.add(m.get(px), step)) : m.i32.add(m.get(px), step);
      }
      if (o.rel) {
        const a = m.i32.add(m.get(px), m.i32.shl(m.i32.load8U(m.get(o.inter ? pv : pk), kOff + lane), m.i32.const(2)));
        return lane === 3 ? m.tee(px, a) : a;
      }
      if (o.steps) {
        const step = m.i32.shl(m.i32.load8U(m.get(o.inter ? pv : pk), kOff + lane), m.i32.const(2));
        return lane === 0 ? m.tee(px, m.i32.add(m.get(px), step)) : m.i32.add(m.get(px), step);
      }
      return m.i32.add(m.get(xArg), m.i32.shl(m.i32.load16U(m.get(o.inter ? pv : pk), kOff + lane * 2), m.i32.const(2)));
    };
    const group = (a: typeof acc, gi: number): ExprRef[] => {
      const kOff = gi * kStride + (o.inter ? 16 : 0), vOff = gi * rec;
      if (o.gather === 'none') return [m.set(a, m.madd(m.v128.load(m.get(pv), vOff), m.v128.load(xAddr(0, kOff)), m.get(a)))];
      if (o.gather === 'idxonly') {
        const sumA = m.i32.add(m.i32.add(xAddr(0, kOff), xAddr(1, kOff)), m.i32.add(xAddr(2, kOff), xAddr(3, kOff)));
        return [m.set(a, m.madd(m.v128.load(m.get(pv), vOff), m.v128.load32Zero(m.i32.and(sumA, m.i32.const(1020))), m.get(a)))];
      }
      if (o.gather === 'xonly') {
        const base = m.i32.add(m.get(xArg), m.i32.and(m.get(pv), m.i32.const(1020)));
        return [
          m.set(px, base),
          m.set(xv, m.v128.load32Zero(m.get(px))),
          m.set(xv, m.v128.load32Lane(m.get(px), m.get(xv), 1, 20)),
          m.set(xv, m.v128.load32Lane(m.get(px), m.get(xv), 2, 44)),
          m.set(xv, m.v128.load32Lane(m.get(px), m.get(xv), 3, 80)),
          m.set(a, m.madd(m.v128.load(m.get(pv), vOff), m.get(xv), m.get(a))),
        ];
      }
      if (o.gather === 'hybrid') {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const B = (m as any).mod;
        const ld64 = (addr: ExprRef) => B.i64.load32_u(0, 4, addr, 'memory');
        const hi = B.i64.or(ld64(xAddr(2, kOff)), B.i64.shl(ld64(xAddr(3, kOff)), B.i64.const(32n)));
        return [
          m.set(xv, m.v128.load32Zero(xAddr(0, kOff))),
          m.set(xv, m.v128.load32Lane(xAddr(1, kOff), m.get(xv), 1)),
          m.set(xv, B.i64x2.replace_lane(m.get(xv), 1, hi)),
          m.set(a, m.madd(m.v128.load(m.get(pv), vOff), m.get(xv), m.get(a))),
        ];
      }
      if (o.gather) {
        const ld = (l: number) => o.gather === 'splat' ? m.v128.load32Splat(xAddr(l, kOff)) : m.v128.load32Zero(xAddr(l, kOff));
        const sh = (a: ExprRef, b: ExprRef, lanes: number[]) => m.bits.shuffle32(a, b, lanes);
        const ab = o.gather === 'splat' ? sh(ld(0), ld(1), [0, 5, 2, 7]) : sh(ld(0), ld(1), [0, 4, 1, 5]);
        const cd = o.gather === 'splat' ? sh(ld(2), ld(3), [0, 5, 2, 7]) : sh(ld(2), ld(3), [0, 4, 1, 5]);
        return [
          m.set(xv, ab),
          m.set(xv, sh(m.get(xv), cd, [0, 1, 6, 7].map((l) => (o.gather === 'splat' ? l : l === 6 ? 4 : l === 7 ? 5 : l)))),
          m.set(a, m.madd(m.v128.load(m.get(pv), vOff), m.get(xv), m.get(a))),
        ];
      }
      return [
        o.word ? m.set(wd, m.i32.load(m.get(o.inter ? pv : pk), kOff)) : m.nop(),
        m.set(xv, m.v128.load32Zero(xAddr(0, kOff))),
        m.set(xv, m.v128.load32Lane(xAddr(1, kOff), m.get(xv), 1)),
        m.set(xv, m.v128.load32Lane(xAddr(2, kOff), m.get(xv), 2)),
        m.set(xv, m.v128.load32Lane(xAddr(3, kOff), m.get(xv), 3)),
        ...(o.swap
          ? [m.set(xv, m.madd(m.v128.load(m.get(pv), vOff), m.get(xv), m.get(acc2))), m.set(acc2, m.get(a)), m.set(a, m.get(xv))]
          : [m.set(a, m.madd(m.v128.load(m.get(pv), vOff), m.get(xv), m.get(a)))]),
      ];
    };
    const body = o.unroll === 2 ? [...group(acc, 0), ...group(acc2, 1)] : group(acc, 0);
    return [
      m.set(pv, at(off.valuesAt)), m.set(pk, at(off.kAt)), m.set(pm, at(off.metaAt)),
      repeat(fn, N, [
        m.set(acc, m.v128.zero()),
        o.unroll === 2 || o.swap ? m.set(acc2, m.v128.zero()) : m.nop(),
        o.steps || o.rel ? m.set(px, m.get(xArg)) : m.nop(),
        m.set(meta, m.i32.load(m.get(pm))),
        m.set(py, m.i32.add(m.get(yArg), m.i32.shl(m.i32.and(m.get(meta), m.i32.const(0xffff)), m.i32.const(2)))),
        m.set(count, m.i32.shrU(m.get(meta), m.i32.const(16))),
        repeatRuntime(fn, count, [
          ...body,
          bump(fn, pv, rec * o.unroll),
          o.inter ? m.nop() : bump(fn, pk, kStride * o.unroll),
        ]),
        o.unroll === 2 || o.swap ? m.set(acc, m.f32x4.add(m.get(acc), m.get(acc2))) : m.nop(),
        m.set(sum, m.sumLanes(acc)),
        m.f32.store(m.get(py), m.get(sum)),
        bump(fn, pm, 4),
      ]),
    ];
  }, );
  void o.inter;
}

function emitRuns(m: WM, N: number, o: Opts, off: { valuesAt: number; kAt: number; metaAt: number }, counts: number[]) {
  // counts: group count of each channel in stored (sorted) order
  const runs: [number, number][] = [];
  for (const c of counts) { const last = runs[runs.length - 1]; if (last && last[0] === c) last[1]++; else runs.push([c, 1]); }
  const kb = o.steps ? 1 : 2;
  m.addFunction('kernel', [i32, i32, i32], none, (fn) => {
    const [xArg, wArg, yArg] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pv, pk, pm, py, px] = Array.from({ length: 5 }, () => fn.local(i32));
    const [acc, xv] = [fn.local(v128), fn.local(v128)];
    const at = (o2: number): ExprRef => m.i32.add(m.get(wArg), m.i32.const(o2));
    const xAddr = (lane: number, kOff: number): ExprRef => {
      if (o.steps) {
        const step = m.i32.shl(m.i32.load8U(m.get(pk), kOff + lane), m.i32.const(2));
        return lane === 0 ? m.tee(px, m.i32.add(m.get(px), step)) : m.i32.add(m.get(px), step);
      }
      return m.i32.add(m.get(xArg), m.i32.shl(m.i32.load16U(m.get(pk), kOff + lane * 2), m.i32.const(2)));
    };
    const group = (g: number): ExprRef[] => [
      m.set(xv, m.v128.load32Zero(xAddr(0, g * 4 * kb))),
      m.set(xv, m.v128.load32Lane(xAddr(1, g * 4 * kb), m.get(xv), 1)),
      m.set(xv, m.v128.load32Lane(xAddr(2, g * 4 * kb), m.get(xv), 2)),
      m.set(xv, m.v128.load32Lane(xAddr(3, g * 4 * kb), m.get(xv), 3)),
      m.set(acc, m.madd(m.v128.load(m.get(pv), g * 16), m.get(xv), m.get(acc))),
    ];
    return [
      m.set(pv, at(off.valuesAt)), m.set(pk, at(off.kAt)), m.set(pm, at(off.metaAt)),
      ...runs.map(([c, r]) => repeat(fn, r, [
        m.set(acc, m.v128.zero()),
        o.steps ? m.set(px, m.get(xArg)) : m.nop(),
        m.set(py, m.i32.add(m.get(yArg), m.i32.shl(m.i32.and(m.i32.load(m.get(pm)), m.i32.const(0xffff)), m.i32.const(2)))),
        ...Array.from({ length: c }, (_, g) => group(g)).flat(),
        m.f32.store(m.get(py), m.sumLanes(acc)),
        bump(fn, pm, 4), bump(fn, pv, 16 * c), bump(fn, pk, 4 * kb * c),
      ])),
    ];
  });
}

const [K, N] = (process.argv[2] ?? '768,3072').split(',').map(Number) as [number, number];
const sparsity = Number(process.argv[3] ?? 0.9);
const COPIES = Number(process.argv[4] ?? 1);
const names = (process.argv[5] ?? 'base,u16,u16s,steps,stepss').split(',');
const ROUNDS = Number(process.argv[6] ?? 3);

const variants: Record<string, Opts | 'base'> = {
  base: 'base',
  u16: { steps: false, sorted: false, inter: false, unroll: 1 },
  u16s: { steps: false, sorted: true, inter: false, unroll: 1 },
  steps: { steps: true, sorted: false, inter: false, unroll: 1 },
  stepss: { steps: true, sorted: true, inter: false, unroll: 1 },
  stepsi: { steps: true, sorted: false, inter: true, unroll: 1 },
  stepssi: { steps: true, sorted: true, inter: true, unroll: 1 },
  stepss2: { steps: true, sorted: true, inter: false, unroll: 2 },
  stepssi2: { steps: true, sorted: true, inter: true, unroll: 2 },
  wordss: { steps: true, sorted: true, inter: false, unroll: 1, word: true },
  wordssi: { steps: true, sorted: true, inter: true, unroll: 1, word: true },
  wordssi2: { steps: true, sorted: true, inter: true, unroll: 2, word: true },
  splat: { steps: false, sorted: true, inter: false, unroll: 1, gather: 'splat' },
  movss: { steps: false, sorted: true, inter: false, unroll: 1, gather: 'movss' },
  splats: { steps: true, sorted: true, inter: false, unroll: 1, gather: 'splat' },
  splatsi: { steps: true, sorted: true, inter: true, unroll: 1, gather: 'splat' },
  splat2: { steps: false, sorted: true, inter: false, unroll: 2, gather: 'splat' },
  none: { steps: false, sorted: true, inter: false, unroll: 1, gather: 'none' },
  hyb: { steps: false, sorted: true, inter: false, unroll: 1, gather: 'hybrid' },
  hybs: { steps: true, sorted: true, inter: false, unroll: 1, gather: 'hybrid' },
  hyb2: { steps: false, sorted: true, inter: false, unroll: 2, gather: 'hybrid' },
  idxonly: { steps: false, sorted: true, inter: false, unroll: 1, gather: 'idxonly' },
  xonly: { steps: false, sorted: true, inter: false, unroll: 1, gather: 'xonly' },
  runs: { steps: false, sorted: true, inter: false, unroll: 1, runs: true },
  runss: { steps: true, sorted: true, inter: false, unroll: 1, runs: true },
  rel: { steps: false, rel: true, sorted: false, inter: false, unroll: 1 },
  rels: { steps: false, rel: true, sorted: true, inter: false, unroll: 1 },
  relsi: { steps: false, rel: true, sorted: true, inter: true, unroll: 1 },
  relsw: { steps: false, rel: true, sorted: true, inter: false, unroll: 1, swap: true },
  relsiw: { steps: false, rel: true, sorted: true, inter: true, unroll: 1, swap: true },
  relsi2: { steps: false, rel: true, sorted: true, inter: true, unroll: 2 },
  u16sw: { steps: false, sorted: true, inter: false, unroll: 1, swap: true },
  u16si: { steps: false, sorted: true, inter: true, unroll: 1 },
  u16s2: { steps: false, sorted: true, inter: false, unroll: 2 },
};

const X = randomFloats(K, 11);
const W = pruneUnstructured(randomFloats(K * N, 12), sparsity);
const ref = matmulRef(X, W, 1, K, N);
const rows = sparseRows(W, K, N);
const ks = [];
for (const name of names) {
  const v = variants[name]!;
  const m = new WasmModule();
  let blob: Uint8Array;
  if (v === 'base') { const p = packSpmv({ name: 'kernel', M: 1, K, N }, rows); blob = p.blob; emitSpmv(m, { name: 'kernel', M: 1, K, N }, p.offsets); }
  else if (v.runs) { const p = pack(rows, v); blob = p.blob; const meta = new Uint32Array(blob.buffer, blob.byteOffset + p.metaAt, N); emitRuns(m, N, v, p, Array.from(meta, (x) => x >>> 16)); }
  else { const p = pack(rows, v); blob = p.blob; emit(m, N, v, p); }
  if (!m.validate()) throw new Error(name);
  const inst = await KernelInstance.create(m.emitBinary());
  const x = inst.put(X);
  const ws = Array.from({ length: COPIES }, () => inst.put(blob));
  const y = inst.alloc(N * 4);
  const f = inst.fn('kernel');
  let call = 0;
  f(x, ws[0]!, y);
  const err = maxRelError(Float32Array.from(inst.f32(y, N)), ref);
  if (err > 1e-4 && !['none', 'idxonly', 'xonly'].includes(name)) throw new Error(`${name} wrong ${err}`);
  ks.push({ name, run: () => f(x, ws[call++ % COPIES]!, y), bytes: blob.length });
}
const ideal = (1 - sparsity) * K * N * 4;
console.log(`load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${K}x${N} ${sparsity}; bytes ${ks.map((k) => `${k.name} ${(k.bytes / ideal).toFixed(3)}`).join(', ')}`);
// Paired ratios: per round, every variant's CPU time against the first one's in the same round.
const ratios = ks.map(() => [] as number[]);
const times = ks.map(() => [] as number[]);
for (let r = 0; r < ROUNDS * 60; r++) {
  const t = ks.map((k) => { const s0 = process.cpuUsage(); for (let j = 0; j < 30; j++) k.run(); const u = process.cpuUsage(s0); return (u.user + u.system) / 30000; });
  t.forEach((x, i) => { ratios[i]!.push(t[0]! / x); times[i]!.push(x); });
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(ks.map((k, i) => `${k.name} ${med(times[i]!).toFixed(4)} (${med(ratios[i]!).toFixed(3)})`).join('  '));
if (process.env.DUMP) { const { writeFileSync } = await import('node:fs'); for (const name of names) { const v = variants[name]!; if (v === 'base') continue; const m = new WasmModule(); emit(m, N, v, pack(rows, v)); writeFileSync(`/tmp/${name}.wasm`, m.emitBinary()); } }
