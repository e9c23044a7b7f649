// The default pipeline over the fixture models: canonicalize must recognize the decomposed
// norms, Gelus and linear layers the exporters wrote, and the model must compute the same.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { execute } from '../../ir/executor/index.js';
import { readNpy } from '../../ir/npy.js';
import type { Tensor } from '../../ir/tensor.js';
import { PassManager } from '../../passes/manager.js';
import { specializeShapes } from '../../passes/specialize.js';
import { expectClose, histogram } from '../../passes/test/helpers.js';

const root = join(import.meta.dirname, '../../fixtures');

/** Ops the default pipeline must produce per fixture (from each meta.json's configuration). */
const expected: Record<string, Record<string, number>> = {
  // 4 layers: 2 LayerNorms each + the final one; Erf Gelu per MLP; qkv, out, fc1, fc2 per
  // layer + the tied head (MatMul with Transpose(wte), folded to a constant) as Linear.
  gpt2: { LayerNormalization: 9, Gelu: 4, Linear: 17, Erf: 0, Pow: 0 },
  // 4 layers: 2 RMSNorms each + the final one; q, k, v, o, gate, up, down + head.
  llama: { RMSNorm: 9, Linear: 29, Pow: 0 },
  // 2 layers: 2 RMSNorms each + the final one; q, k, v, o, the router and 8 SwiGLU experts
  // (3 projections each) per layer + head.
  moe: { RMSNorm: 5, Linear: 59, Pow: 0 },
  // 2 layers: q, k, v, o, fc1, fc2 each + the pooler Gemm; tanh Gelu per MLP (the pooler's Tanh stays).
  bert: { LayerNormalization: 5, Gelu: 2, Linear: 13, Tanh: 1, Gemm: 0 },
  // The classifier Gemm after Flatten.
  mobilenet: { Linear: 1, Gemm: 0 },
};

function inputsOf(dir: string): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  for (const f of readdirSync(dir)) {
    const m = /^input_(.+)\.npy$/.exec(f);
    // A copy: readFileSync may return a view into a shared pool (byteOffset != 0).
    if (m) inputs[m[1]!] = readNpy(new Uint8Array(readFileSync(join(dir, f))), f);
  }
  return inputs;
}

describe('default pipeline on fixture models', () => {
  for (const [name, counts] of Object.entries(expected)) {
    const dir = join(root, name);
    it(`${name}: recognizes the canonical ops and keeps the outputs`, async () => {
      const model = await loadModel(join(dir, 'model.onnx'));
      const inputs = inputsOf(dir);
      const before = execute(model.graph, inputs);
      const report = new PassManager('default', { debug: true }).run(model);
      expect(report.passes.find((p) => p.pass === 'canonicalize')!.stats.converged).toBe(1);
      const h = histogram(model.graph);
      for (const [op, n] of Object.entries(counts)) expect(h[op] ?? 0, `${op} count`).toBe(n);
      const after = execute(model.graph, inputs);
      for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);
    });
  }
});

describe('specializeShapes on fixture models', () => {
  for (const name of ['gpt2', 'llama', 'bert', 'mobilenet']) {
    const dir = join(root, name);
    it(`${name}: every value becomes static and the outputs stay`, async () => {
      const model = await loadModel(join(dir, 'model.onnx'));
      const inputs = inputsOf(dir);
      const before = execute(model.graph, inputs);
      const bindings = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, [...t.shape]]));
      specializeShapes(model, bindings);
      for (const n of model.graph.nodes) for (const o of n.outputs) if (o.uses.length > 0) expect(o.staticShape, o.name).toBeDefined();
      const after = execute(model.graph, inputs);
      for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);
    });
  }
});
