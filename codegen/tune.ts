// `sparsec build --tune`: the cost model's estimates (layout.ts) are fitted on one machine and
// one shape; where it rates several layouts of a weight close (within 2x of its best
// estimate), each is built as a one-kernel module, with the weight, shape, bias and epilogue
// the model will run, and timed here, interleaved (timing.ts); the fastest wins by a margin
// (TuneOptions.margin), else the cost model's pick stays. The model is then lowered again with
// those layouts. Without --tune none of this runs, so artifacts stay
// byte-identical for identical inputs.

import type { Model } from '../ir/graph.js';
import { bestBlock, layoutsNearBest, weightStats } from './layout.js';
import { lower, type Lowered, type LowerOptions } from './lower.js';
import { liveIntervals, planMemory } from './memory-plan.js';
import type { Buffer, LinearKernel, Schedule, WeightLayout } from './schedule.js';
import { timeInterleaved } from './timing.js';
import { emitModule } from './wasm/emit.js';
import type { BlockLabel } from './wasm/kernels/bsr-format.js';

export interface LayoutTime {
  readonly layout: WeightLayout;
  /** Median time of one call of the layer's kernel, in milliseconds. */
  readonly ms: number;
}

export interface TunedLayer {
  /** The cost model's pick. */
  readonly estimated: WeightLayout;
  /** The layout built: the fastest measured, or `estimated` when that one was within the margin of it. */
  readonly layout: WeightLayout;
  /** Every candidate's time, fastest first. */
  readonly times: readonly LayoutTime[];
}

export interface TuneOptions {
  /** Estimates within this factor of the best are timed (default 2). */
  factor?: number;
  /**
   * Another layout replaces the cost model's pick only when it ran at least this fraction
   * faster (default 0.1). At load 12 on two cores, a dense 768x3072 weight at 64 tokens timed
   * its bsr form 3% and 9% ahead of dense in two of six runs (noise: the work is the same plus
   * indices), and the model built with it ran 5% slower.
   */
  margin?: number;
  /** Interleaved timing rounds per layer (default 15). */
  rounds?: number;
  /** Called before each layer is timed (progress). */
  onLayer?: (node: string, index: number, total: number) => void;
}

export interface TunedLowering {
  readonly lowered: Lowered;
  /** The layers that had more than one candidate, by node name. */
  readonly tuned: ReadonlyMap<string, TunedLayer>;
}

/** Each timed sample runs the kernel for at least this long, so the clock's grain does not matter. */
const SAMPLE_MS = 1;
/** Calls before timing: enough for V8 to finish tiering the kernel up to its optimizing compiler. */
const WARMUP_MS = 20;

/** Lower `model` with each weight's layout timed among the cost model's close candidates. */
export async function lowerTuned(model: Model, opts: LowerOptions, tune: TuneOptions = {}): Promise<TunedLowering> {
  // The first lowering gives the kernels as the model runs them (shapes, fused epilogues).
  const first = lower(model, opts);
  const linears = first.schedule.kernels.filter((k): k is LinearKernel => k.op === 'linear');
  const estimated = new Map(first.schedule.layers.map((l) => [l.node, l.layout]));
  const tuned = new Map<string, TunedLayer>();
  for (const [i, k] of linears.entries()) {
    const stats = weightStats(k.weight, k.K, k.N);
    const candidates = layoutsNearBest(k.M, stats, tune.factor ?? 2);
    if (candidates.length < 2) continue;
    tune.onLayer?.(k.node, i, linears.length);
    // A bsr candidate takes the block shape lowering would give it (the cheapest estimate).
    const times = await timeLayouts(k, candidates, tune.rounds ?? 15, bestBlock(k.M, stats).block);
    const pick = estimated.get(k.node)!;
    const pickMs = times.find((t) => t.layout === pick)?.ms ?? Infinity;
    const layout = times[0]!.ms < pickMs * (1 - (tune.margin ?? 0.1)) ? times[0]!.layout : pick;
    tuned.set(k.node, { estimated: pick, layout, times });
  }
  if (tuned.size === 0) return { lowered: first, tuned };
  // The first pass left `model` specialized and canonicalized in place; those passes are
  // idempotent, so the second one rebuilds the same schedule except for the layouts decided
  // here (tuned fixture builds match the reference executor: test/tune.test.ts).
  const layouts = new Map([...tuned].map(([node, t]) => [node, t.layout]));
  return { lowered: lower(model, { ...opts, layouts }), tuned };
}

/** Time `k` in each layout (`block`: the block shape of bsr), interleaved; fastest first. */
export async function timeLayouts(k: LinearKernel, layouts: readonly WeightLayout[], rounds: number, block: BlockLabel): Promise<LayoutTime[]> {
  const runs = await Promise.all(layouts.map((layout) => instantiateLinear(inLayout(k, layout, block))));
  const once = runs.map((run) => {
    const t0 = performance.now();
    run();
    return Math.max(performance.now() - t0, 1e-4);
  });
  const slowest = Math.max(...once);
  const timings = await timeInterleaved(layouts.map((layout, i) => ({ name: layout, run: runs[i]! })), {
    rounds,
    warmup: Math.max(3, Math.ceil(WARMUP_MS / slowest)),
    inner: Math.max(1, Math.ceil(SAMPLE_MS / Math.min(...once))),
  });
  return timings.map((t) => ({ layout: t.name as WeightLayout, ms: t.medianMs })).sort((a, b) => a.ms - b.ms);
}

function inLayout(k: LinearKernel, layout: WeightLayout, block: BlockLabel): LinearKernel {
  const { block: _previous, ...rest } = k;
  return layout === 'bsr' ? { ...rest, layout, block } : { ...rest, layout };
}

// The WebAssembly API, typed here: the project compiles without lib.dom.
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** `k` alone in a module (the same emitter the model goes through), ready to call. */
async function instantiateLinear(k: LinearKernel): Promise<() => void> {
  const s = oneKernelSchedule(k);
  // Weights stay out of the module (binaryen is slow on large segments) and are copied in.
  const emitted = emitModule(s, planMemory(liveIntervals(s)), { externalWeightsBytes: 0 });
  const { instance } = await wasm.instantiate(emitted.wasm, {});
  const memory = instance.exports.memory as { buffer: ArrayBuffer };
  if (emitted.weights) new Uint8Array(memory.buffer, emitted.meta.weights.offset, emitted.weights.length).set(emitted.weights);
  return instance.exports.run as () => void;
}

/** A schedule of one Linear: x (and the residual) in, y out; activations are zeros. */
function oneKernelSchedule(k: LinearKernel): Schedule {
  // Sparse layouts keep many-token activations transposed (build-schedule.ts); the kernel
  // only sees addresses, so the flag just keeps the buffers truthful.
  const transposed = k.layout !== 'dense' && k.M > 1;
  const buffer = (id: number, name: string, cols: number, role: Buffer['role']): Buffer => ({ id, name, shape: [k.M, cols], size: k.M * cols, role, transposed });
  const buffers = [buffer(0, 'x', k.K, 'input'), buffer(1, 'y', k.N, 'output')];
  if (k.epilogue.residual) buffers.push(buffer(2, 'residual', k.N, 'input'));
  const kernel: LinearKernel = { ...k, x: 0, y: 1, ...(k.epilogue.residual ? { residual: 2 } : {}) };
  const io = (b: Buffer) => ({ name: b.name, buffer: b.id, shape: b.shape });
  return { buffers, kernels: [kernel], inputs: buffers.filter((b) => b.role === 'input').map(io), outputs: [io(buffers[1]!)], layers: [], warnings: [] };
}
