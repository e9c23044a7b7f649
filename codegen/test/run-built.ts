// Build a model into artifacts in memory, load them through the runtime, run, and compare each
// output with the reference executor on the same feeds.

import { execute } from '../../ir/executor/index.js';
import type { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { load, type Feed } from '../../runtime/index.js';
import { buildArtifacts, type BuildResult, type BuildOptions } from '../artifacts.js';
import { maxRelError } from '../wasm/kernels/reference.js';

export interface Compared {
  /** Largest relative error (|a - b| / max(1, |b|)) over all outputs. */
  readonly error: number;
  readonly build: BuildResult;
}

/**
 * `make` is called twice (lowering rewrites the model it is given). Feeds are bound with the
 * input shapes the built model declares.
 */
export async function compareWithReference(make: () => Model | Promise<Model>, feeds: Record<string, Float32Array | BigInt64Array>, opts: Partial<BuildOptions> = {}): Promise<Compared> {
  const build = await buildArtifacts(await make(), { compilerVersion: 'test', name: 'model', ...opts });
  const file = (suffix: string) => build.files.find((f) => f.name.endsWith(suffix))?.bytes;
  const weights = file('.weights.bin');
  const model = await load(file('.wasm')!, weights ? { weights } : {});
  const got = model.run(feeds as Record<string, Feed>);
  const inputs: Record<string, Tensor> = {};
  for (const io of model.inputs) {
    const data = feeds[io.name]!;
    inputs[io.name] = new Tensor(data instanceof BigInt64Array ? 'int64' : 'float32', [...io.shape], data);
  }
  const want = execute((await make()).graph, inputs);
  let error = 0;
  for (const [name, t] of want) error = Math.max(error, maxRelError(got[name]!.data, t.data as Float32Array));
  return { error, build };
}
