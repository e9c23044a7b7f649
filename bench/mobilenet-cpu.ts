// The mobilenet fixture at 64x64 and 224x224, dense and magnitude-pruned to 80% and 90%
// (hidden layers, as bench/models.ts prunes), run by sparsec's artifact against
// onnxruntime-web dense (WASM, 1 thread): ratios of CPU-time medians beside the wall-clock
// ones, interleaved in one process. On a shared two-core machine a contender descheduled
// mid-call is charged the wait in wall time but not in CPU time (onnxruntime-web's wall
// time went from ~1.1 to 4-6 ms at 64x64 under load 12, sparsec's far less), so the CPU
// ratios are the ones to compare across runs. bench/models.ts stays the reference benchmark.
//
//   npx tsc -p bench && node dist/bench/mobilenet-cpu.js [sizes, default 64,224]

import './v8-flags.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomFloats } from '../codegen/wasm/kernels/reference.js';
import { encodeModel, loadModel } from '../frontend/index.js';
import { readNpy } from '../ir/npy.js';
import { parsePattern, pruneModel } from '../passes/prune/index.js';
import { timeCpuInterleaved } from './cpu-timing.js';
import { ortWebModelRunner, sparsecRunner } from './model-runners.js';
import { timeInterleaved, type Contender } from './timing.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const FILE = `${ROOT}fixtures/mobilenet/model.onnx`;
const PATTERNS = [undefined, 'unstructured:0.8', 'unstructured:0.9'];

function image(size: number): Float32Array {
  if (size === 64) return readNpy(readFileSync(`${ROOT}fixtures/mobilenet/input_input.npy`)).data as Float32Array;
  return randomFloats(3 * size * size, 7);
}

for (const size of (process.argv[2] ?? '64,224').split(',').map(Number)) {
  const shape = [1, 3, size, size];
  const data = image(size);
  const contenders: Contender[] = [];
  for (const pattern of PATTERNS) {
    const model = await loadModel(FILE);
    if (pattern) pruneModel(model, { pattern: parsePattern(pattern), method: 'magnitude' });
    const bytes = encodeModel(model);
    contenders.push({ name: `${pattern ?? 'dense'} sparsec`, run: (await sparsecRunner(bytes, 'input', shape, data)).run });
    if (!pattern) contenders.push({ name: 'dense ort-web', run: (await ortWebModelRunner(bytes, 'input', shape, data)).run });
  }
  const inner = size <= 64 ? 10 : 1;
  const cpu = await timeCpuInterleaved(contenders, { rounds: 31, inner });
  const wall = await timeInterleaved(contenders, { rounds: 31, warmup: 3, inner });
  const [webCpu, webWall] = [cpu[1]!.cpuMedianMs, wall[1]!.medianMs];
  const rows = contenders.map((c, i) => `  ${c.name.padEnd(25)} cpu ${cpu[i]!.cpuMedianMs.toFixed(3)} ms  x${(webCpu / cpu[i]!.cpuMedianMs).toFixed(2)}   wall ${wall[i]!.medianMs.toFixed(3)} ms  x${(webWall / wall[i]!.medianMs).toFixed(2)}`);
  process.stdout.write(`mobilenet 1x3x${size}x${size} (load ${loadavg()[0]!.toFixed(1)}), x = onnxruntime-web dense / this:\n${rows.join('\n')}\n`);
}
