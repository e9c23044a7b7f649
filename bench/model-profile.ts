// Where whole-model time goes: lower a model, then build one module per kernel of its schedule
// (same memory plan, so every kernel runs on its real addresses) and time each alone. Prints
// the kernels grouped by op with their share of the summed time. Opt-in developer tool; the
// runtime is untouched.
//
//   npx tsc -p bench && node dist/bench/model-profile.js [fixtures/gpt2/model.onnx] [dense|unstructured:0.9] [input_ids=1,64]

import './v8-flags.js';
import { lower } from '../codegen/lower.js';
import { emitModule } from '../codegen/wasm/emit.js';
import type { Kernel } from '../codegen/schedule.js';
import { loadModel } from '../frontend/index.js';
import { parsePattern, pruneModel } from '../passes/prune/index.js';

const [file = 'fixtures/gpt2/model.onnx', pattern = 'dense', bind = 'input_ids=1,64'] = process.argv.slice(2);

function label(k: Kernel): string {
  if (k.op === 'linear') return `linear ${k.layout} ${k.M}x${k.K}x${k.N}`;
  if (k.op === 'unary' || k.op === 'binary' || k.op === 'map') return `${k.op} ${k.fn}`;
  return k.op;
}

async function timeKernel(run: () => unknown): Promise<number> {
  for (let i = 0; i < 50; i++) run();
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) run();
    rounds.push((performance.now() - t0) / 200);
  }
  return rounds.sort((a, b) => a - b)[3]! * 1000;
}

const model = await loadModel(file);
if (pattern !== 'dense') pruneModel(model, { pattern: parsePattern(pattern), method: 'magnitude' });
const [name, dims] = bind.split('=');
const { schedule, plan } = lower(model, { shapes: { [name!]: dims!.split(',').map(Number) }, format: 'auto' });

const wasmApi = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;
const built = emitModule(schedule, plan, { externalWeightsBytes: Infinity, exportSteps: true });
const { exports } = (await wasmApi.instantiate(built.wasm, {})).instance;
const memory = exports.memory as { buffer: ArrayBuffer };
/** The model's inputs as the runtime would bind them (token 7 everywhere, or 0.1 for float inputs). */
function bindInputs(): void {
  for (const io of built.meta.inputs) {
    const count = io.shape.reduce((a, b) => a * b, 1);
    if (io.dtype === 'int64') new BigInt64Array(memory.buffer, io.offset, count).fill(7n);
    else new Float32Array(memory.buffer, io.offset, count).fill(0.1);
  }
}
const run = exports.run as () => unknown;
const total = await timeKernel(() => { bindInputs(); run(); });
// Each kernel alone, repeated on the arena as the kernels before it left it (a kernel never
// writes what it reads, so repeating it sees the same data).
const arena = new Uint8Array(memory.buffer, built.memoryBytes - plan.peak, plan.peak);
const rows: { label: string; us: number }[] = [];
bindInputs();
const steps = schedule.kernels.map((_, i) => exports[`step${i}`] as () => unknown);
const snapshot = arena.slice();
for (let i = 0; i < steps.length; i++) {
  arena.set(snapshot);
  for (let j = 0; j < i; j++) steps[j]!();
  rows.push({ label: label(schedule.kernels[i]!), us: await timeKernel(steps[i]!) });
}
const groups = new Map<string, { us: number; count: number }>();
for (const r of rows) {
  const g = groups.get(r.label) ?? { us: 0, count: 0 };
  groups.set(r.label, { us: g.us + r.us, count: g.count + 1 });
}
const sum = rows.reduce((a, r) => a + r.us, 0);
process.stdout.write(`${file} ${pattern} ${bind}: ${schedule.kernels.length} kernels, whole run ${total.toFixed(1)} us, sum of kernels ${sum.toFixed(1)} us\n`);
for (const [l, g] of [...groups].sort((a, b) => b[1].us - a[1].us)) {
  process.stdout.write(`${g.us.toFixed(1).padStart(9)} us ${(100 * g.us / sum).toFixed(1).padStart(5)}%  x${String(g.count).padEnd(3)} ${l}\n`);
}
