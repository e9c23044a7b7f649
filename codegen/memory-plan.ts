// The static memory plan: every arena buffer (inputs, outputs, temporaries) gets a fixed byte
// offset in one arena, and buffers whose lifetimes overlap never share bytes. Lifetimes are
// kernel-step intervals: inputs are live from before the first kernel, outputs until after the
// last. Placement is greedy by size (largest first), each buffer going into the smallest gap
// left between already-placed buffers it overlaps in time (best fit), or above them all.

import { kernelReads, kernelWrites, type Schedule } from './schedule.js';

export const ARENA_ALIGN = 16;

export interface LiveInterval {
  readonly id: number;
  readonly bytes: number;
  /** First and last kernel step (inclusive) the buffer must hold its contents. */
  readonly start: number;
  readonly end: number;
}

export interface MemoryPlan {
  /** Byte offset in the arena of each planned buffer. */
  readonly offsets: ReadonlyMap<number, number>;
  /** Arena bytes needed (the highest end of any placed buffer, aligned). */
  readonly peak: number;
  /** Sum of all buffer sizes: what the arena would take without reuse. */
  readonly unshared: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Live intervals of the schedule's arena buffers (constants live in the weights region). */
export function liveIntervals(s: Schedule): LiveInterval[] {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  s.kernels.forEach((k, step) => {
    for (const b of [...kernelReads(k), ...kernelWrites(k)]) {
      if (!first.has(b)) first.set(b, step);
      last.set(b, step);
    }
  });
  const end = s.kernels.length;
  const out: LiveInterval[] = [];
  for (const b of s.buffers) {
    if (b.role === 'const') continue;
    const used = first.has(b.id);
    if (!used && b.role === 'temp') continue;
    out.push({
      id: b.id,
      bytes: b.size * (b.dtype === 'int64' ? 8 : 4),
      start: b.role === 'input' ? -1 : (first.get(b.id) ?? end),
      end: b.role === 'output' ? end : (last.get(b.id) ?? -1),
    });
  }
  return out;
}

const overlaps = (a: LiveInterval, b: LiveInterval) => a.start <= b.end && b.start <= a.end;

export function planMemory(intervals: readonly LiveInterval[], alignment = ARENA_ALIGN): MemoryPlan {
  const order = [...intervals].sort((a, b) => b.bytes - a.bytes || a.start - b.start || a.id - b.id);
  const placed: { iv: LiveInterval; at: number; size: number }[] = [];
  const offsets = new Map<number, number>();
  let peak = 0;
  for (const iv of order) {
    const size = align(Math.max(iv.bytes, 1), alignment);
    const busy = placed.filter((p) => overlaps(p.iv, iv)).sort((a, b) => a.at - b.at);
    let best: number | undefined;
    let bestGap = Infinity;
    let cursor = 0;
    for (const p of busy) {
      const gap = p.at - cursor;
      if (gap >= size && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      cursor = Math.max(cursor, p.at + p.size);
    }
    const at = best ?? cursor;
    placed.push({ iv, at, size });
    offsets.set(iv.id, at);
    peak = Math.max(peak, at + size);
  }
  const unshared = intervals.reduce((s, iv) => s + align(Math.max(iv.bytes, 1), alignment), 0);
  return { offsets, peak, unshared };
}
