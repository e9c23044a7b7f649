// Head and neuron pruning on the fixture models. The exactness checks zero what a removed
// head or channel contributes (its rows of the output or down projection) first: removing it
// must then leave every output unchanged, which fails if the coupling cut a kept head's q/k/v
// rows, a bias, a reshape constant or the kv mapping wrong.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeModel, loadModel } from '../../../frontend/index.js';
import { readNpy } from '../../../ir/npy.js';
import { execute } from '../../../ir/executor/index.js';
import type { Model, Node } from '../../../ir/graph.js';
import { Tensor } from '../../../ir/tensor.js';
import { verify } from '../../../ir/verify.js';
import { compareAll, fixturePath, readSampleSet, runOrt } from '../../../test/differential/harness.js';
import { PassManager } from '../../manager.js';
import { linearLayer } from '../../permute/layers.js';
import { expectClose } from '../../test/helpers.js';
import { pruneHeads, pruneNeurons } from '../index.js';
import { headSites, mlpSites } from './sites.js';

async function canonical(name: string): Promise<Model> {
  const model = await loadModel(fixturePath(name, 'model.onnx'));
  new PassManager('default').run(model);
  return model;
}

/** Zero input channels [from, to) of a linear layer's weight (what those channels contribute). */
function zeroInputChannels(node: Node, from: number, to: number): void {
  const layer = linearLayer(node)!;
  const v = node.inputs[layer.weightIndex]!;
  const t = v.const!;
  const data = Float32Array.from(t.toFloat32());
  const [r, c] = t.shape as [number, number];
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if ((layer.weightInAxis === 0 ? i : j) >= from && (layer.weightInAxis === 0 ? i : j) < to) data[i * c + j] = 0;
  v.const = new Tensor('float32', t.shape, data);
}

const weightShape = (node: Node) => node.inputs[linearLayer(node)!.weightIndex]!.const!.shape;

async function expectOrtMatches(model: Model, inputs: ReadonlyMap<string, Tensor>, reference: Map<string, Tensor>, label: string): Promise<void> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    expect(compareAll(await runOrt(session, inputs), reference, label).failures).toEqual([]);
  } finally {
    await session.release();
  }
}

describe('prune-heads on fixture models', () => {
  // Layer 0 loses one head; layer 1 loses heads 0 and 1 (with 2 kv heads: a whole kv group).
  const heads = new Map([[0, [1]], [1, [0, 1]]]);
  for (const name of ['gpt2', 'llama', 'moe']) {
    it(`${name}: removing zeroed heads leaves outputs unchanged; shapes, verify and onnxruntime`, async () => {
      const model = await canonical(name);
      const sites = headSites(model.graph, name);
      expect(sites.length).toBeGreaterThanOrEqual(2);
      for (const [layer, list] of heads) {
        const s = sites[layer]!.site;
        for (const h of list) zeroInputChannels(s.out, h * s.headDim, (h + 1) * s.headDim);
      }
      const { inputs } = readSampleSet(fixturePath(name), name);
      const before = execute(model.graph, inputs);
      const qBefore = sites.map((s) => weightShape(s.site.q.node));

      const report = pruneHeads(model.graph, sites, { heads });
      expect(report.scoring).toBe('explicit');
      expect(report.layers.map((l) => l.skipped)).toEqual(sites.map(() => undefined));
      expect(report.layers[0]!.removed).toEqual([1]);
      const gqa = sites[1]!.site.kvHeads < sites[1]!.site.heads;
      expect(report.layers[1]!.removedKv).toEqual(gqa ? [0] : [0, 1]);
      verify(model.graph);

      // Query rows: 16 fewer in layer 0 and 32 in layer 1; fused qkv also loses k and v rows.
      const s0 = sites[0]!.site;
      const fused = s0.q.node === s0.v!.node;
      const lost0 = fused ? 3 * 16 : 16;
      expect(weightShape(s0.q.node)[1]).toBe(qBefore[0]![1]! - lost0);
      expect(weightShape(s0.out)[0]).toBe(48);
      expect(weightShape(sites[1]!.site.out)[0]).toBe(32);
      if (!fused) expect(weightShape(sites[1]!.site.v!.node)[1]).toBe(gqa ? 16 : 32);

      const after = execute(model.graph, inputs);
      for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);
      await expectOrtMatches(model, inputs, after, `${name} heads pruned`);
    });
  }

  it('llama: an uneven GQA removal replaces the kv repeat by a Gather over kept query heads', async () => {
    const model = await canonical('llama');
    const sites = headSites(model.graph, 'llama');
    const s = sites[2]!.site;
    // Heads 0 and 3: one from each kv group, so both kv heads stay.
    for (const h of [0, 3]) zeroInputChannels(s.out, h * 16, (h + 1) * 16);
    const { inputs } = readSampleSet(fixturePath('llama'), 'llama');
    const before = execute(model.graph, inputs);
    const report = pruneHeads(model.graph, sites, { heads: new Map([[2, [0, 3]]]) });
    expect(report.layers[2]!.removedKv).toEqual([]);
    const gathers = model.graph.nodes.filter((n) => n.op === 'Gather' && n.name.includes('layers.2/'));
    const heads = gathers.map((g) => g.inputs[1]!.const?.toNumbers()).filter((x) => x?.length === 2);
    expect(heads).toEqual([[0, 1], [0, 1]]);
    const after = execute(model.graph, inputs);
    for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);
  });

  it('--ratio removes the least important heads across layers, keeping one per layer', async () => {
    const model = await canonical('gpt2');
    const sites = headSites(model.graph, 'gpt2');
    const report = pruneHeads(model.graph, sites, { ratio: 0.25 });
    expect(report.scoring).toBe('weights');
    expect(report.layers.reduce((n, l) => n + l.removed.length, 0)).toBe(4);
    for (const l of report.layers) {
      expect(l.removed.length).toBeLessThan(l.heads);
      const kept = l.scores!.filter((_, h) => !l.removed.includes(h));
      const mean = l.scores!.reduce((a, b) => a + b, 0) / l.scores!.length;
      // Within a layer, every removed head scores no higher than every kept one.
      for (const h of l.removed) expect(l.scores![h]! / mean).toBeLessThanOrEqual(Math.min(...kept) / mean);
    }
    verify(model.graph);
  });

  it('rejects a head list that names a missing layer or head or empties a layer', async () => {
    const model = await canonical('gpt2');
    const sites = headSites(model.graph, 'gpt2');
    expect(() => pruneHeads(model.graph, sites, { heads: new Map([[9, [0]]]) })).toThrow(/layer 9/);
    expect(() => pruneHeads(model.graph, sites, { heads: new Map([[0, [4]]]) })).toThrow(/head 4 of layer 0/);
    expect(() => pruneHeads(model.graph, sites, { heads: new Map([[0, [0, 1, 2, 3]]]) })).toThrow(/every head/);
  });
});

/** Calibration batches: `count` windows of 32 tokens from the fixture's calib_tokens, 4 per batch. */
function calibBatches(name: string, count: number): Map<string, Tensor>[] {
  const all = readNpy(new Uint8Array(readFileSync(fixturePath(name, 'calib_tokens.npy'))));
  const width = all.shape[1]!;
  const rows = Array.from({ length: count }, (_, r) => (all.data as BigInt64Array).slice(r * width, r * width + 32));
  const out: Map<string, Tensor>[] = [];
  for (let b = 0; b < count; b += 4) {
    const part = rows.slice(b, b + 4);
    const data = new BigInt64Array(part.length * 32);
    part.forEach((r, i) => data.set(r, i * 32));
    out.push(new Map([['input_ids', new Tensor('int64', [part.length, 32], data)]]));
  }
  return out;
}

/** Relative squared error of `model`'s outputs against `reference` over the batches. */
function outputError(model: Model, batches: Map<string, Tensor>[], reference: Map<string, Tensor>[]): number {
  let num = 0;
  let den = 0;
  batches.forEach((b, i) => {
    for (const [name, t] of execute(model.graph, b)) {
      const x = t.toFloat32();
      const y = reference[i]!.get(name)!.toFloat32();
      for (let j = 0; j < x.length; j++) {
        num += (x[j]! - y[j]!) ** 2;
        den += y[j]! ** 2;
      }
    }
  });
  return num / den;
}

describe('refitting the reading layer on calibration data', () => {
  for (const [name, what] of [['llama', 'heads'], ['gpt2', 'neurons']] as const) {
    it(`${name} ${what}: the refit output is closer to the unpruned model than plain removal`, async () => {
      const batches = calibBatches(name, 8);
      const errors: number[] = [];
      for (const refit of [false, true]) {
        const model = await canonical(name);
        const reference = batches.map((b) => execute(model.graph, b));
        if (what === 'heads') pruneHeads(model.graph, headSites(model.graph, name), { ratio: 0.25, calib: batches, refit });
        else pruneNeurons(model.graph, mlpSites(model.graph), { ratio: 0.25, calib: batches, refit });
        verify(model.graph);
        errors.push(outputError(model, batches, reference));
      }
      expect(errors[1]!).toBeLessThan(0.8 * errors[0]!);
    });
  }
});

describe('prune-neurons on fixture models', () => {
  for (const name of ['gpt2', 'llama', 'moe']) {
    it(`${name}: removing zeroed hidden channels leaves outputs unchanged`, async () => {
      const model = await canonical(name);
      const sites = mlpSites(model.graph);
      expect(sites.length).toBeGreaterThan(0);
      // Weight scores of channels whose down rows are zero are zero: they are the ones removed.
      const hidden = sites.map((s) => weightShape(s.site.down)[0]!);
      for (const [i, s] of sites.entries()) zeroInputChannels(s.site.down, 0, Math.round(0.25 * hidden[i]!));
      const { inputs } = readSampleSet(fixturePath(name), name);
      const before = execute(model.graph, inputs);
      const report = pruneNeurons(model.graph, sites, { ratio: 0.25 });
      expect(report.layers.map((l) => l.skipped)).toEqual(sites.map(() => undefined));
      for (const [i, s] of sites.entries()) {
        const kept = hidden[i]! - Math.round(0.25 * hidden[i]!);
        expect(weightShape(s.site.down)[0]).toBe(kept);
        expect(weightShape(s.site.up)[1]).toBe(kept);
        if (s.site.gate) expect(weightShape(s.site.gate)[1]).toBe(kept);
      }
      verify(model.graph);
      const after = execute(model.graph, inputs);
      for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);
      if (name === 'gpt2') await expectOrtMatches(model, inputs, after, `${name} neurons pruned`);
    });
  }
});
