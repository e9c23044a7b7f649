// Reading `--input` files onto a model's (or a built artifact's) inputs, shared by `run`,
// `compare` and the artifact runner.

import { error } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { InputBinding } from '../args.js';
import { formatShape } from '../format.js';
import { readTensorFile } from '../tensor-files.js';
import { feedInputs, soleInput, unknownInput } from './model.js';

export interface Feed {
  tensor: Tensor;
  file: string;
}

/** An input the caller must feed: its name, and dtype and shape where known (for messages). */
export interface FeedTarget {
  name: string;
  dtype?: string | undefined;
  shape?: readonly (number | string)[] | undefined;
}

/** Read every --input for the model's inputs. */
export function readFeeds(model: Model, bindings: readonly InputBinding[], file: string): Promise<Map<string, Feed>> {
  return readFeedsFor(feedInputs(model), bindings, file);
}

/** Read every --input, resolving names; then check every input is fed exactly once. */
export async function readFeedsFor(inputs: readonly FeedTarget[], bindings: readonly InputBinding[], file: string): Promise<Map<string, Feed>> {
  const feeds = new Map<string, Feed>();
  for (const b of bindings) {
    const { tensor, name: protoName } = await readTensorFile(b.file);
    // An unnamed TensorProto input is matched by the name stored in the file, when it fits.
    const name = b.input ?? (protoName && inputs.some((v) => v.name === protoName) ? protoName : soleInput(inputs, file, '--input'));
    if (!inputs.some((v) => v.name === name)) throw unknownInput(name, inputs, file, '--input');
    if (feeds.has(name)) throw error('BAD_OPTION', `--input gives input '${name}' twice`, { file: b.file, value: name });
    feeds.set(name, { tensor, file: b.file });
  }
  for (const v of inputs) {
    if (!feeds.has(v.name)) {
      throw error('BAD_INPUT', `missing input '${v.name}' (${v.dtype ?? '?'}${formatShape(v.shape)})`, { file, value: v.name }, `Pass it with --input ${v.name}=file.npy.`);
    }
  }
  return feeds;
}
