import { describe, expect, test } from 'vitest';
import { KernelInstance, KERNEL_SCRATCH } from '../harness.js';
import { WasmModule } from '../module.js';
import { emit2of4, pack2of4 } from './nm.js';
import { prune2of4, pruneUnstructured, randomFloats, reluIf } from './reference.js';
import { transposedError } from './transposed-check.js';
import { OFFSET_GROUP_BYTES, offsetGroups, sparseRows, stepRows } from './sparse-format.js';
import { emitSpmm, emitSpmmBaked, packSpmm, packSpmmBaked, type PackedSparse, type SparseSpec } from './spmm.js';
import { emitSpmv, packSpmv } from './spmv.js';

type Kind = 'data' | 'baked' | 'gemv' | '2of4';

/** Build, validate and run one kernel on random data; returns the error against the reference. */
async function check(kind: Kind, spec: SparseSpec, sparsity: number, seed: number, given?: Float32Array, compact?: boolean): Promise<number> {
  const { M, K, N } = spec;
  const X = randomFloats(M * K, seed);
  const dense = randomFloats(K * N, seed + 1);
  const W = given ?? (kind === '2of4' ? prune2of4(dense, K, N) : pruneUnstructured(dense, sparsity));
  const bias = spec.bias ? randomFloats(N, seed + 2) : undefined;
  const rows = sparseRows(W, K, N);
  const m = new WasmModule();
  let packed: PackedSparse;
  if (kind === 'data') emitSpmm(m, spec, (packed = packSpmm(spec, rows, bias, compact)).offsets);
  else if (kind === 'baked') emitSpmmBaked(m, spec, rows, (packed = packSpmmBaked(spec, rows, bias)).offsets);
  else if (kind === 'gemv') emitSpmv(m, spec, (packed = packSpmv(spec, rows, bias)).offsets);
  else emit2of4(m, { ...spec, scratch: KERNEL_SCRATCH }, (packed = pack2of4(spec, W, bias)).offsets);
  expect(m.validate()).toBe(true);
  const inst = await KernelInstance.create(m.emitBinary());
  m.dispose();
  return transposedError(inst, spec, X, W, packed.blob, bias);
}

const manyTokenShapes: [number, number, number][] = [[2, 5, 3], [3, 16, 9], [4, 8, 4], [7, 12, 5], [32, 20, 6], [45, 33, 17], [64, 24, 10], [70, 8, 3]];

describe('unstructured sparse kernels (transposed activations)', () => {
  for (const kind of ['data', 'baked'] as const) {
    for (const [M, K, N] of manyTokenShapes) {
      test(`${kind} ${M}x${K}x${N} at 0/70/100% sparsity, with and without bias+ReLU`, async () => {
        for (const sparsity of [0, 0.7, 1]) {
          for (const fused of [false, true]) {
            const err = await check(kind, { name: 'spmm', M, K, N, bias: fused, epilogue: reluIf(fused) }, sparsity, M + K * N);
            expect(err).toBeLessThan(1e-4);
          }
        }
      });
    }
  }

  test('one-token kernel (gathered CSR rows) on odd sizes and sparsities', async () => {
    for (const [K, N] of [[1, 1], [5, 3], [8, 2], [17, 9], [33, 8], [64, 33], [300, 7], [300, 12]] as const) {
      for (const sparsity of [0, 0.5, 0.9, 1]) {
        const err = await check('gemv', { name: 'spmv', M: 1, K, N, bias: K % 2 === 1, epilogue: reluIf(N % 3 === 0) }, sparsity, K * 7 + N);
        expect(err).toBeLessThan(1e-4);
      }
    }
  });

  // Channels with gaps of 254..1000 inputs (one-byte steps need padding records past 255), an
  // empty channel, one starting at input 0 and one whose only nonzero is the last input.
  function raggedWeight(K: number, N: number): Float32Array {
    const W = new Float32Array(K * N);
    const put = (k: number, n: number) => { W[k * N + n] = (k % 2 ? -1 : 1) * (1 + ((k * 31 + n * 7) % 13) / 4); };
    const ks: number[][] = [[0, 255, 510, 511, 766, 767, 1023], [255], [256], [K - 1], [], [1, 1001, 1002], [0, 1, 2, 3, 4, 760, 1015, 1016]];
    ks.forEach((list, n) => list.forEach((k) => put(k, n % N)));
    return W;
  }

  test('ragged channels with long gaps: one-token kernel', async () => {
    const [K, N] = [1030, 7];
    const W = raggedWeight(K, N);
    for (const fused of [false, true]) {
      expect(await check('gemv', { name: 'spmv', M: 1, K, N, bias: fused, epilogue: reluIf(fused) }, 0, 5, W)).toBeLessThan(1e-4);
    }
  });

  for (const compact of [true, false]) {
    test(`ragged channels with long gaps: many-token kernel (${compact ? 'one-byte steps' : 'input channels'})`, async () => {
      const [K, N] = [1030, 7];
      const W = raggedWeight(K, N);
      for (const fused of [false, true]) {
        for (const M of [3, 9, 64]) {
          expect(await check('data', { name: 'spmm', M, K, N, bias: fused, epilogue: reluIf(fused) }, 0, M, W, compact)).toBeLessThan(1e-4);
        }
      }
    });
  }

  /** Decode offsetGroups back to each channel's (input, value) pairs, padding dropped. */
  function decodeOffsetGroups(g: ReturnType<typeof offsetGroups>, N: number): [number, number][][] {
    const values = new Float32Array(g.records.buffer, g.records.byteOffset, g.records.length / 4);
    const out: [number, number][][] = [];
    let at = 0;
    for (let n = 0; n < N; n++) {
      const list: [number, number][] = [];
      let position = 0;
      for (let i = 0; i < g.groups[n]!; i++, at++) {
        const offsets = Array.from({ length: 4 }, (_, l) => g.records[at * OFFSET_GROUP_BYTES + 16 + l]!);
        offsets.forEach((o, l) => { const v = values[at * 5 + l]!; if (v !== 0) list.push([position + o, v]); });
        position += offsets[3]!;
      }
      out.push(list);
    }
    return out;
  }

  test('offsetGroups: offsets from the previous group\'s last lane, gap groups past 255, lanes a group cannot fill repeat its last offset', () => {
    const [K, N] = [1030, 7];
    const W = raggedWeight(K, N);
    const rows = sparseRows(W, K, N);
    const g = offsetGroups(rows);
    // Channel 0 (0,255,510,511,766,767,1023): [0,255], then each nonzero alone (the next lies 256
    // past the group's last lane), a gap group (767 -> 1022), [1023]; channel 2 (256): a gap group,
    // then [256]; channel 3 (1029): four gap groups (1020), then 9; channel 4 is empty;
    // channel 6 (0,1,2,3,4,760,1015,1016): [0..3], [4], two gap groups, [760], [1015], [1016].
    expect(Array.from(g.groups)).toEqual([7, 1, 2, 5, 0, 5, 7]);
    expect(Array.from(g.records.subarray(16, 20))).toEqual([0, 255, 255, 255]);
    expect(Array.from(g.records.subarray(36, 40))).toEqual([255, 255, 255, 255]);
    const expected = Array.from({ length: N }, (_, n) => {
      const list: [number, number][] = [];
      for (let k = 0; k < K; k++) if (W[k * N + n] !== 0) list.push([k, W[k * N + n]!]);
      return list;
    });
    expect(decodeOffsetGroups(g, N)).toEqual(expected);
  });

  test('offsetGroups: 5 bytes per nonzero plus the last partial group, any K (no index width limit)', () => {
    // A channel whose nonzeros span all of a long input (K past 65536): every 50th input.
    const [K, N] = [70_001, 2];
    const W = new Float32Array(K * N);
    for (let k = 0; k < K; k += 50) W[k * N] = 1 + (k % 7);
    W[(K - 1) * N + 1] = 3;
    const rows = sparseRows(W, K, N);
    const g = offsetGroups(rows);
    // 1401 nonzeros in channel 0, four per group; channel 1 crosses 274 gaps of 255 first.
    expect(g.groups[0]).toBe(Math.ceil(1401 / 4));
    expect(g.groups[1]).toBe(Math.floor((K - 1) / 255) + 1);
    expect(decodeOffsetGroups(g, N)[1]).toEqual([[K - 1, 3]]);
    const dense = pruneUnstructured(randomFloats(768 * 64, 4), 0.9);
    const r = sparseRows(dense, 768, 64);
    expect(offsetGroups(r).records.length).toBeLessThanOrEqual(r.values.length * 5 + 64 * 3 * 5);
  });

  test('one-token blob: 768x256 at 90% within 1.3x of density x dense bytes (channels paired by group count)', () => {
    const [K, N] = [768, 256];
    const rows = sparseRows(pruneUnstructured(randomFloats(K * N, 6), 0.9), K, N);
    const packed = packSpmv({ name: 's', M: 1, K, N }, rows);
    expect(packed.blob.length / (rows.values.length * 4)).toBeLessThan(1.3);
  });

  test('one-token kernel: K past 65536, a channel across the whole input, and empty channels', async () => {
    const [K, N] = [70_001, 3];
    const W = new Float32Array(K * N);
    for (let k = 0; k < K; k += 97) W[k * N] = ((k % 11) - 5) / 4 || 0.5;
    W[(K - 1) * N + 2] = 2;
    for (const fused of [false, true]) {
      expect(await check('gemv', { name: 'spmv', M: 1, K, N, bias: fused, epilogue: reluIf(fused) }, 0, 9, W)).toBeLessThan(1e-4);
    }
  });

  test('stepRows: padding records only on gaps past 255, counts padded to the group', () => {
    const rows = sparseRows(raggedWeight(1030, 7), 1030, 7);
    const r = stepRows(rows, 1);
    // channel 0: 0,255,510,511,766,767 one each, then 1023 (gap 256) two; channel 1: 255 -> 1 record;
    // 256 -> 2; 1029 -> 5 (4 x 255 = 1020, then 9); none; 1,1001,1002 -> 1 + 4 + 1; 5 + 3 + 1 + 1.
    expect(Array.from(r.counts)).toEqual([8, 1, 2, 5, 0, 6, 10]);
    // Groups of 4 step from the previous group's first input and hold offsets of at most 255
    // from their own first: channel 0 is [0,255] pad [510,511] pad [766,767] pad [1023].
    expect(Array.from(stepRows(rows, 4).counts)).toEqual([28, 4, 8, 20, 0, 20, 28]);
    const g = stepRows(rows, 4);
    expect(Array.from(g.steps.subarray(0, 28))).toEqual([0, 255, 0, 0, 255, 0, 0, 0, 255, 1, 0, 0, 255, 0, 0, 0, 1, 1, 0, 0, 255, 0, 0, 0, 2, 0, 0, 0]);
    let k = 0;
    const seen: number[] = [];
    for (let j = 0; j < r.counts[3]!; j++) { k += r.steps[8 + 1 + 2 + j]!; if (r.values[8 + 1 + 2 + j] !== 0) seen.push(k); }
    expect(seen).toEqual([1029]);
  });

  test('the data variant stores one-byte input steps: 5 bytes per nonzero plus counts', () => {
    const W = pruneUnstructured(randomFloats(64 * 32, 3), 0.9);
    const rows = sparseRows(W, 64, 32);
    const packed = packSpmm({ name: 's', M: 8, K: 64, N: 32 }, rows);
    expect(packed.offsets.steps).toBe(true);
    expect(packed.blob.length).toBeLessThanOrEqual(rows.values.length * 5 + 32 * 4 + 64);
  });

  test('the data variant stores 16-bit input channels: 6 bytes per nonzero plus counts', () => {
    const W = pruneUnstructured(randomFloats(64 * 32, 3), 0.9);
    const rows = sparseRows(W, 64, 32);
    const packed = packSpmm({ name: 's', M: 8, K: 64, N: 32 }, rows, undefined, false);
    expect(packed.offsets.kBytes).toBe(2);
    expect(packed.blob.length).toBeLessThanOrEqual(rows.values.length * 6 + 32 * 4 + 64);
  });
});

describe('2:4 kernels', () => {
  for (const [M, K, N] of [[1, 4, 1], [1, 12, 5], [1, 64, 33], ...manyTokenShapes.map(([m, , n]) => [m, 12, n] as [number, number, number]), [64, 40, 9]]) {
    test(`${M}x${K}x${N} matches the reference`, async () => {
      for (const fused of [false, true]) {
        expect(await check('2of4', { name: 'nm', M, K, N, bias: fused, epilogue: reluIf(fused) }, 0.5, M * 3 + K + N)).toBeLessThan(1e-4);
      }
    });
  }

  test('packing rejects a group with three nonzeros and K not divisible by 4', () => {
    const W = new Float32Array(4).fill(1);
    W[3] = 0;
    expect(() => pack2of4({ name: 'nm', M: 1, K: 4, N: 1 }, W)).toThrow(/not 2:4/);
    expect(() => pack2of4({ name: 'nm', M: 1, K: 6, N: 1 }, new Float32Array(6))).toThrow(/divisible by 4/);
  });

  test('storage is 4.5 bytes per kept weight (the selection table is scratch, not weights)', () => {
    const K = 64, N = 16;
    const W = prune2of4(randomFloats(K * N, 9), K, N);
    const packed = pack2of4({ name: 'nm', M: 1, K, N }, W);
    expect(packed.blob.length).toBe((K / 2) * N * 4 + (K / 8) * N * 2);
  });
});
