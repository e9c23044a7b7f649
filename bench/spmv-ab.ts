// Focused A/B of the one-token unstructured kernel (spmv.ts: channel pairs of offset groups, 5
// bytes per nonzero) against the form it replaced (values and u16 input channels in two
// streams, one channel per loop, 6 bytes per nonzero; rebuilt here as the reference). Both see
// the same weights and x; each round times every kernel (CPU time of `inner` calls) and the
// ratio to the reference in that same round, so load changes between rounds cancel (this
// machine is shared). Prints the bytes against density x dense bytes and the median ratios.
// The variants tried on the way (steps, sorted channels, unrolling, word-read offsets, blends,
// i64 lanes, unrolled channels) are in this file's first version (git log bench/spmv-ab.ts).
// Run: tsc -p bench && node dist/bench/spmv-ab.js [KxN list, default 768x3072,3072x768] [sparsities, default 0.9,0.95] [rounds, default 120]

import './v8-flags.js';
import { loadavg } from 'node:os';
import { KernelInstance } from '../codegen/wasm/harness.js';
import { bump, repeat, repeatRuntime } from '../codegen/wasm/loops.js';
import { i32, none, v128, WasmModule } from '../codegen/wasm/module.js';
import { matmulRef, maxRelError, pruneUnstructured, randomFloats } from '../codegen/wasm/kernels/reference.js';
import { BlobBuilder, sparseRows, type SparseRows } from '../codegen/wasm/kernels/sparse-format.js';
import { emitSpmv, packSpmv } from '../codegen/wasm/kernels/spmv.js';

/** The replaced form: per channel, values and u16 channels padded to groups of 4, i32 group counts. */
function referenceKernel(m: WasmModule, rows: SparseRows): Uint8Array {
  const { N } = rows;
  const groups = Int32Array.from({ length: N }, (_, n) => Math.ceil((rows.start[n + 1]! - rows.start[n]!) / 4));
  const slots = groups.reduce((s, g) => s + g, 0) * 4;
  const values = new Float32Array(slots);
  const ks = new Uint16Array(slots);
  let at = 0;
  for (let n = 0; n < N; n++) {
    for (let j = rows.start[n]!; j < rows.start[n + 1]!; j++, at++) [values[at], ks[at]] = [rows.values[j]!, rows.k[j]!];
    at = Math.ceil(at / 4) * 4;
  }
  const b = new BlobBuilder();
  const [valuesAt, kAt, countsAt] = [b.add(values), b.add(ks), b.add(groups)];
  m.addFunction('kernel', [i32, i32, i32], none, (fn) => {
    const [x, w, y] = [fn.param(0), fn.param(1), fn.param(2)];
    const [pv, pk, pc, py, count] = Array.from({ length: 5 }, () => fn.local(i32));
    const [acc, xv] = [fn.local(v128), fn.local(v128)];
    const lane = (l: number) => m.i32.add(m.get(x), m.i32.shl(m.i32.load16U(m.get(pk), l * 2), m.i32.const(2)));
    return [
      m.set(pv, m.i32.add(m.get(w), m.i32.const(valuesAt))), m.set(pk, m.i32.add(m.get(w), m.i32.const(kAt))),
      m.set(pc, m.i32.add(m.get(w), m.i32.const(countsAt))), m.set(py, m.get(y)),
      repeat(fn, N, [
        m.set(acc, m.v128.zero()),
        m.set(count, m.i32.load(m.get(pc))),
        repeatRuntime(fn, count, [
          m.set(xv, m.v128.load32Zero(lane(0))),
          ...[1, 2, 3].map((l) => m.set(xv, m.v128.load32Lane(lane(l), m.get(xv), l))),
          m.set(acc, m.madd(m.v128.load(m.get(pv)), m.get(xv), m.get(acc))),
          bump(fn, pv, 16), bump(fn, pk, 8),
        ]),
        m.f32.store(m.get(py), m.sumLanes(acc)),
        bump(fn, pc, 4), bump(fn, py, 4),
      ]),
    ];
  });
  return b.build();
}

async function contender(name: string, K: number, N: number, rows: SparseRows, X: Float32Array, ref: Float32Array) {
  const m = new WasmModule();
  let blob: Uint8Array;
  if (name === 'reference') blob = referenceKernel(m, rows);
  else {
    const spec = { name: 'kernel', M: 1, K, N };
    const packed = packSpmv(spec, rows);
    emitSpmv(m, spec, packed.offsets);
    blob = packed.blob;
  }
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  const [x, w, y] = [inst.put(X), inst.put(blob), inst.alloc(N * 4)];
  const f = inst.fn('kernel');
  f(x, w, y);
  const error = maxRelError(Float32Array.from(inst.f32(y, N)), ref);
  if (!(error < 1e-4)) throw new Error(`${name} is wrong (${error})`);
  return { name, bytes: blob.length, run: () => f(x, w, y) };
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const shapes = (process.argv[2] ?? '768x3072,3072x768').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const sparsities = (process.argv[3] ?? '0.9,0.95').split(',').map(Number);
const ROUNDS = Number(process.argv[4] ?? 120);
const INNER = 30;

for (const [K, N] of shapes) {
  for (const sparsity of sparsities) {
    const X = randomFloats(K, 11);
    const W = pruneUnstructured(randomFloats(K * N, 12), sparsity);
    const ref = matmulRef(X, W, 1, K, N);
    const rows = sparseRows(W, K, N);
    const ks = [await contender('reference', K, N, rows, X, ref), await contender('spmv', K, N, rows, X, ref)];
    const times = ks.map(() => [] as number[]);
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = ks.map((k) => {
        const start = process.cpuUsage();
        for (let i = 0; i < INNER; i++) k.run();
        const used = process.cpuUsage(start);
        return (used.user + used.system) / 1000 / INNER;
      });
      t.forEach((ms, i) => times[i]!.push(ms));
      ratios.push(t[0]! / t[1]!);
    }
    const ideal = (1 - sparsity) * K * N * 4;
    const bytes = ks.map((k) => `${k.name} ${(k.bytes / ideal).toFixed(3)}x`).join(', ');
    const ms = ks.map((k, i) => `${k.name} ${median(times[i]!).toFixed(4)}`).join(', ');
    console.log(`1x${K}x${N} ${sparsity * 100}% (load ${loadavg()[0]!.toFixed(1)}): bytes / (density x dense) ${bytes}; cpu ms ${ms}; spmv speed x reference (paired median) ${median(ratios).toFixed(3)}`);
  }
}
