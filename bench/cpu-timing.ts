// CPU-time medians, beside the wall-clock ones of timing.ts. On a shared machine a contender
// that is descheduled mid-call is charged the wait in wall time but not in CPU time, so ratios
// of CPU times hold up better under load (they still include the slowdown that a busy sibling
// hyperthread causes). process.cpuUsage() counts every thread of the process, so a peer that
// runs on a worker thread (onnxruntime-node) is charged its real work.

import type { Contender } from './timing.js';

export interface CpuTiming {
  name: string;
  /** Median over rounds of (user + system CPU time) / calls, in ms. */
  cpuMedianMs: number;
}

/** `rounds` interleaved rounds; each round runs every contender `inner` times under one cpuUsage reading. */
export async function timeCpuInterleaved(contenders: readonly Contender[], opts: { rounds: number; inner: number }): Promise<CpuTiming[]> {
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < opts.rounds; r++) {
    for (const [i, c] of contenders.entries()) {
      const start = process.cpuUsage();
      for (let j = 0; j < opts.inner; j++) {
        const p = c.run();
        if (p instanceof Promise) await p;
      }
      const used = process.cpuUsage(start);
      samples[i]!.push((used.user + used.system) / 1000 / opts.inner);
    }
  }
  return contenders.map((c, i) => {
    const s = samples[i]!.sort((a, b) => a - b);
    return { name: c.name, cpuMedianMs: s[Math.floor(s.length / 2)]! };
  });
}
