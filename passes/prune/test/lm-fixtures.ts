// Fixture language models and token windows for the pruning and evaluation tests.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel } from '../../../frontend/index.js';
import type { Model } from '../../../ir/graph.js';
import { readNpy } from '../../../ir/npy.js';
import { Tensor } from '../../../ir/tensor.js';

export const FIXTURES = new URL('../../../fixtures/', import.meta.url).pathname;

const bytesCache = new Map<string, Uint8Array>();

/** A fresh copy of a fixture model (decoded from cached bytes). */
export function fixtureModel(name: string): Model {
  let bytes = bytesCache.get(name);
  if (!bytes) {
    bytes = new Uint8Array(readFileSync(join(FIXTURES, name, 'model.onnx')));
    bytesCache.set(name, bytes);
  }
  return decodeModel(bytes);
}

export function tokenWindows(name: string, file: 'calib_tokens' | 'eval_tokens'): Tensor {
  return readNpy(new Uint8Array(readFileSync(join(FIXTURES, name, `${file}.npy`))));
}

/** `count` windows from row `first`, cut to `length` input tokens: a batch for input_ids. */
export function tokenBatch(windows: Tensor, first: number, count: number, length: number): Map<string, Tensor> {
  const width = windows.shape[1]!;
  const src = windows.data as BigInt64Array;
  const data = new BigInt64Array(count * length);
  for (let r = 0; r < count; r++) data.set(src.subarray((first + r) * width, (first + r) * width + length), r * length);
  return new Map([['input_ids', new Tensor('int64', [count, length], data)]]);
}

/** Run exported model bytes in onnxruntime-node on int64 input_ids; the logits. */
export async function runInOrt(model: Model, ids: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({ input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, [...ids.shape]) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}
