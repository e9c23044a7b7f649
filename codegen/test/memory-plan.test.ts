import { describe, expect, test } from 'vitest';
import { lower } from '../lower.js';
import { ARENA_ALIGN, liveIntervals, planMemory, type LiveInterval, type MemoryPlan } from '../memory-plan.js';
import { randomFloats } from '../wasm/kernels/reference.js';
import { mlpModel } from './mlp.js';

/** The plan's invariants: aligned offsets, and buffers live at the same step never share a byte. */
function checkPlan(intervals: readonly LiveInterval[], plan: MemoryPlan): void {
  for (const iv of intervals) {
    const at = plan.offsets.get(iv.id)!;
    expect(at % ARENA_ALIGN).toBe(0);
    expect(at + iv.bytes).toBeLessThanOrEqual(plan.peak);
  }
  for (const a of intervals) {
    for (const b of intervals) {
      if (a.id >= b.id || a.end < b.start || b.end < a.start) continue;
      const [pa, pb] = [plan.offsets.get(a.id)!, plan.offsets.get(b.id)!];
      const disjoint = pa + a.bytes <= pb || pb + b.bytes <= pa;
      expect(disjoint, `buffers ${a.id} and ${b.id} are live together and overlap`).toBe(true);
    }
  }
  expect(plan.peak).toBeLessThanOrEqual(plan.unshared);
}

describe('static memory plan', () => {
  test('random lifetimes: no overlap, aligned, peak at least the busiest step', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = randomFloats(300, seed).map((v) => (v + 1) / 2);
      const intervals: LiveInterval[] = Array.from({ length: 100 }, (_, id) => {
        const start = Math.floor(r[3 * id]! * 40);
        return { id, bytes: 1 + Math.floor(r[3 * id + 1]! * 5000), start, end: start + Math.floor(r[3 * id + 2]! * 10) };
      });
      const plan = planMemory(intervals);
      checkPlan(intervals, plan);
      let busiest = 0;
      for (let step = 0; step < 50; step++) {
        busiest = Math.max(busiest, intervals.filter((iv) => iv.start <= step && step <= iv.end).reduce((s, iv) => s + iv.bytes, 0));
      }
      expect(plan.peak).toBeGreaterThanOrEqual(busiest);
    }
  });

  test('buffers with disjoint lifetimes share memory', () => {
    const plan = planMemory([
      { id: 0, bytes: 1000, start: 0, end: 1 },
      { id: 1, bytes: 1000, start: 2, end: 3 },
      { id: 2, bytes: 500, start: 1, end: 2 },
    ]);
    expect(plan.offsets.get(0)).toBe(plan.offsets.get(1));
    expect(plan.peak).toBe(1008 + 512);
    expect(plan.unshared).toBe(1008 * 2 + 512);
  });

  test('an FFN schedule: inputs live from the start, outputs to the end, temporaries reused', () => {
    for (const pruning of ['dense', 0.9] as const) {
      const { schedule, plan } = lower(mlpModel({ tokens: 16, d: 64, hidden: 256, pruning }));
      const intervals = liveIntervals(schedule);
      checkPlan(intervals, plan);
      const input = intervals.find((iv) => iv.id === schedule.inputs[0]!.buffer)!;
      const output = intervals.find((iv) => iv.id === schedule.outputs[0]!.buffer)!;
      expect(input.start).toBe(-1);
      expect(output.end).toBe(schedule.kernels.length);
      // The dense schedule is two kernels whose buffers all overlap; the sparse one's
      // transposes leave buffers to share.
      if (pruning === 0.9) expect(plan.peak).toBeLessThan(plan.unshared);
      else expect(plan.peak).toBe(plan.unshared);
    }
  });
});
