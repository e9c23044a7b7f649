// The dense peers: a MatMul model written by sparsec's own exporter, run by onnxruntime-web
// (WASM backend, one thread) and onnxruntime-node (CPU, one intra-op thread).

import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { encodeModel } from '../frontend/index.js';
import { Graph, Model } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';

/** ONNX bytes of y = x @ W (+ b) with W [K,N] as an initializer. */
export function matmulModel(M: number, K: number, N: number, W: Float32Array, bias?: Float32Array): Uint8Array {
  const g = new Graph('matmul');
  const x = g.addInput('x', 'float32', [M, K]);
  const w = g.addConstant('W', Tensor.float32(W, [K, N]));
  const inputs = bias ? [x, w, g.addConstant('b', Tensor.float32(bias, [N]))] : [x, w];
  const y = g.addNode({ op: 'Linear', inputs, outputs: ['y'] }).outputs[0]!;
  y.dtype = 'float32';
  y.shape = [M, N];
  g.outputs.push(y);
  return encodeModel(new Model(g));
}

export interface OrtRunner {
  run: () => Promise<unknown>;
  output: () => Promise<Float32Array>;
  release: () => Promise<void>;
}

export async function ortWebRunner(model: Uint8Array, X: Float32Array, M: number, K: number): Promise<OrtRunner> {
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.logLevel = 'error';
  const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const feeds = { x: new ortWeb.Tensor('float32', X, [M, K]) };
  return {
    run: () => session.run(feeds),
    output: async () => (await session.run(feeds)).y!.data as Float32Array,
    release: () => session.release(),
  };
}

export async function ortNodeRunner(model: Uint8Array, X: Float32Array, M: number, K: number): Promise<OrtRunner> {
  const session = await ortNode.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
  });
  const feeds = { x: new ortNode.Tensor('float32', X, [M, K]) };
  return {
    run: () => session.run(feeds),
    output: async () => (await session.run(feeds)).y!.data as Float32Array,
    release: () => session.release(),
  };
}
