// Interleaved timing of built models and kernels (benchmarks, and the speed reports of the
// structural commands): every round runs each contender once, in turn, so drift in clock speed
// or a noisy neighbour hits all of them alike; medians of the rounds are reported.

export interface Contender {
  name: string;
  /** One timed call (may be async, e.g. onnxruntime's session.run). */
  run: () => unknown;
}

export interface Timing {
  name: string;
  medianMs: number;
  minMs: number;
  runs: number;
}

/** Run each contender `warmup` times, then `rounds` interleaved rounds of `inner` calls each. */
export async function timeInterleaved(contenders: readonly Contender[], opts: { rounds: number; warmup: number; inner?: number }): Promise<Timing[]> {
  const inner = opts.inner ?? 1;
  for (const c of contenders) for (let i = 0; i < opts.warmup; i++) await callOnce(c);
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < opts.rounds; r++) {
    for (const [i, c] of contenders.entries()) {
      const t0 = performance.now();
      for (let j = 0; j < inner; j++) {
        // Await only real promises, so synchronous kernels are not charged a microtask per call.
        const p = c.run();
        if (p instanceof Promise) await p;
      }
      samples[i]!.push((performance.now() - t0) / inner);
    }
  }
  return contenders.map((c, i) => {
    const s = samples[i]!.sort((a, b) => a - b);
    return { name: c.name, medianMs: s[Math.floor(s.length / 2)]!, minMs: s[0]!, runs: s.length };
  });
}

async function callOnce(c: Contender): Promise<void> {
  await c.run();
}
