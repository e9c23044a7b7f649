// The speed half of a structural command's report: build the model before and after the
// transform with sparsec's WASM backend, at one static input shape, and time both in one
// interleaved loop (medians), so the ratio is measured, not inferred from parameter counts.

import { buildArtifacts } from '../codegen/artifacts.js';
import { timeInterleaved } from '../codegen/timing.js';
import { decodeModel } from '../frontend/index.js';
import type { Model } from '../ir/graph.js';
import { load, type Feed } from '../runtime/index.js';
import { feedInputs } from './commands/model.js';

export interface SpeedComparison {
  /** The input shapes both builds were specialized to. */
  readonly shapes: Record<string, number[]>;
  readonly beforeMs: number;
  readonly afterMs: number;
  /** beforeMs / afterMs: above 1 when the transformed model is faster. */
  readonly speedup: number;
}

/** Symbolic dims bound for timing: the first (batch) to 1, the others (sequence, ...) to 64. */
const TIMING_BATCH = 1;
const TIMING_EXTENT = 64;

/** Static shapes for `model`'s inputs: declared dims kept, symbolic ones bound as above. */
export function timingShapes(model: Model): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const v of feedInputs(model)) {
    out[v.name] = (v.shape ?? []).map((d, i) => (typeof d === 'number' ? d : i === 0 ? TIMING_BATCH : TIMING_EXTENT));
  }
  return out;
}

/**
 * Time `before` and `after` (ONNX bytes) built for `shapes`. Inputs are zeros for integer
 * inputs (token 0 is a valid id) and a fixed ramp for float ones: timing does not depend on
 * the values.
 */
export async function compareWasmSpeed(before: Uint8Array, after: Uint8Array, shapes: Record<string, number[]>, budgetMs = 3000): Promise<SpeedComparison> {
  const runBefore = await builtRunner(before, shapes);
  const runAfter = await builtRunner(after, shapes);
  const contenders = [{ name: 'before', run: runBefore }, { name: 'after', run: runAfter }];
  const probe = await timeInterleaved(contenders, { rounds: 3, warmup: 2 });
  const perRound = probe[0]!.medianMs + probe[1]!.medianMs;
  const inner = Math.max(1, Math.ceil(1 / Math.min(probe[0]!.medianMs, probe[1]!.medianMs)));
  const rounds = Math.min(101, Math.max(7, Math.floor(budgetMs / (perRound * inner)))) | 1;
  const [b, a] = await timeInterleaved(contenders, { rounds, warmup: 1, inner });
  return { shapes, beforeMs: b!.medianMs, afterMs: a!.medianMs, speedup: b!.medianMs / a!.medianMs };
}

async function builtRunner(bytes: Uint8Array, shapes: Record<string, number[]>): Promise<() => unknown> {
  const built = await buildArtifacts(decodeModel(bytes), { compilerVersion: 'speed-check', name: 'model', shapes, format: 'auto' });
  const file = (suffix: string) => built.files.find((f) => f.name.endsWith(suffix))?.bytes;
  const weights = file('.weights.bin');
  const model = await load(file('.wasm')!, weights ? { weights } : {});
  const feeds: Record<string, Feed> = {};
  for (const input of model.inputs) {
    const size = input.shape.reduce((n, d) => n * d, 1);
    feeds[input.name] = input.dtype === 'int64' ? new BigInt64Array(size) : Float32Array.from({ length: size }, (_, i) => ((i % 17) - 8) / 8);
  }
  return () => model.run(feeds);
}
