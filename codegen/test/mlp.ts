// Test models built with the IR builder: an FFN block (x -> Linear -> act -> Linear (+ x)),
// with weights dense or magnitude-pruned, and the reference executor's outputs for them.

import { execute } from '../../ir/executor/index.js';
import { GraphBuilder } from '../../ir/builder.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { blockShape, type BlockLabel } from '../wasm/kernels/bsr-format.js';
import { prune2of4, pruneBlocks, pruneNM, pruneUnstructured, randomFloats } from '../wasm/kernels/reference.js';

/** `block4x4:0.8`: 80% of the blocks of 4 output channels x 4 inputs zero (the pruner's block:4x4:0.8). */
export type Pruning = 'dense' | 0.7 | 0.9 | '2:4' | '4:8' | `block${BlockLabel}:0.8`;

export interface MlpSpec {
  tokens: number;
  d: number;
  hidden: number;
  pruning?: Pruning;
  activation?: 'Relu' | 'Gelu' | 'GeluTanh';
  residual?: boolean;
  seed?: number;
}

function weight(K: number, N: number, pruning: Pruning, seed: number): Float32Array {
  const scale = 1 / Math.sqrt(K);
  const W = randomFloats(K * N, seed).map((v) => v * scale);
  if (pruning === 'dense') return W;
  if (typeof pruning === 'number') return pruneUnstructured(W, pruning);
  if (pruning === '4:8') return pruneNM(W, K, N, 4, 8);
  if (pruning === '2:4') return prune2of4(W, K, N);
  const { rows, cols } = blockShape(pruning.slice('block'.length, -':0.8'.length) as BlockLabel);
  return pruneBlocks(W, K, N, rows, cols, 0.8);
}

export function mlpModel(spec: MlpSpec): Model {
  const { tokens, d, hidden } = spec;
  const pruning = spec.pruning ?? 'dense';
  const seed = spec.seed ?? 1;
  const b = new GraphBuilder('ffn');
  const x = b.input('x', 'float32', [tokens, d]);
  const w1 = b.constant('fc1.weight', Tensor.float32(weight(d, hidden, pruning, seed), [d, hidden]));
  const b1 = b.constant('fc1.bias', Tensor.float32(randomFloats(hidden, seed + 1).map((v) => v * 0.1), [hidden]));
  const w2 = b.constant('fc2.weight', Tensor.float32(weight(hidden, d, pruning, seed + 2), [hidden, d]));
  const b2 = b.constant('fc2.bias', Tensor.float32(randomFloats(d, seed + 3).map((v) => v * 0.1), [d]));
  const h = b.op('Add', [b.op('MatMul', [x, w1]), b1]);
  const act = spec.activation ?? 'Relu';
  const a = act === 'Relu' ? b.op('Relu', [h]) : b.op('Gelu', [h], { attrs: act === 'GeluTanh' ? { approximate: 'tanh' } : {} });
  let y = b.op('Add', [b.op('MatMul', [a, w2]), b2]);
  if (spec.residual ?? true) y = b.op('Add', [y, x]);
  const out = b.op('Identity', [y], { outputs: ['y'] });
  b.output(out);
  const m = new Model(b.graph);
  m.opsets.set('', 21);
  return m;
}

export function mlpInput(spec: MlpSpec, seed = 99): Float32Array {
  return randomFloats(spec.tokens * spec.d, seed);
}

export function referenceOutputs(model: Model, feeds: Record<string, Float32Array>): Map<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  for (const v of model.graph.inputs) inputs[v.name] = new Tensor('float32', v.staticShape!, feeds[v.name]!);
  return execute(model.graph, inputs);
}
