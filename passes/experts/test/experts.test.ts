// Expert pruning on fixtures/moe (2 layers, 8 SwiGLU experts, top-2 with renormalization):
// shapes after pruning, exactness where nothing routed is removed, k clamping, the variant
// without renormalization, and the exported model in onnxruntime.

import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../../frontend/index.js';
import { execute } from '../../../ir/executor/index.js';
import type { Graph, Model, Value } from '../../../ir/graph.js';
import { readNpy } from '../../../ir/npy.js';
import { Op } from '../../../ir/ops.js';
import { Tensor } from '../../../ir/tensor.js';
import { verify } from '../../../ir/verify.js';
import { runOrt } from '../../../test/differential/harness.js';
import { eliminateDeadCode } from '../../dce.js';
import { specializeShapes } from '../../specialize.js';
import { canonicalStructure } from '../../structure/canonical.js';
import type { MoeBlock } from '../../structure/types.js';
import { PassManager } from '../../manager.js';
import { parsePipeline } from '../../pipeline.js';
import { expectClose } from '../../test/helpers.js';
import { pruneExpertBlocks, type ExpertPruneConfig } from '../index.js';
import { denseMoeBlocks } from './blocks.js';

const FIXTURE = new URL('../../../fixtures/moe/', import.meta.url).pathname;

let bytes: Uint8Array;
let calib: ReadonlyMap<string, Tensor>[];
let sample: Map<string, Tensor>;
let windowsOf: (from: number, to: number) => Map<string, Tensor>;

/** Rows [from, to) of the calibration windows, without their target column. */
function windows(all: Tensor, from: number, to: number): Map<string, Tensor> {
  const width = all.shape[1]!;
  const data = new BigInt64Array((to - from) * (width - 1));
  for (let r = from; r < to; r++) data.set((all.data as BigInt64Array).subarray(r * width, r * width + width - 1), (r - from) * (width - 1));
  return new Map([['input_ids', new Tensor('int64', [to - from, width - 1], data)]]);
}

beforeAll(() => {
  bytes = new Uint8Array(readFileSync(`${FIXTURE}model.onnx`));
  const tokens = readNpy(new Uint8Array(readFileSync(`${FIXTURE}calib_tokens.npy`)));
  calib = [windows(tokens, 0, 4), windows(tokens, 4, 8)];
  windowsOf = (from, to) => windows(tokens, from, to);
  sample = windows(readNpy(new Uint8Array(readFileSync(`${FIXTURE}eval_tokens.npy`))), 0, 2);
});

async function canonical(): Promise<Model> {
  const model = decodeModel(bytes);
  new PassManager(parsePipeline('default')).run(model);
  return model;
}

function prune(model: Model, config: ExpertPruneConfig) {
  const blocks = denseMoeBlocks(model.graph).map((block, layer) => ({ layer, block }));
  return pruneExpertBlocks(model.graph, blocks, config);
}

function logits(graph: Graph): Tensor {
  return execute(graph, sample).get('logits')!;
}

/** The tensor `v` holds when the sample runs. */
function observe(graph: Graph, v: Value): Tensor {
  let seen: Tensor | undefined;
  execute(graph, sample, { onValue: (u, t) => u === v && (seen = t) });
  return seen!;
}

/** Give router column `e` of every layer a bias of -1e4: softmax sends it no tokens. */
function makeUnreachable(graph: Graph, e: number): void {
  for (const block of denseMoeBlocks(graph)) {
    const n = block.router.inputs[1]!.const!.shape[1]!;
    const bias = new Float32Array(n);
    bias[e] = -1e4;
    block.router.setInput(2, graph.addConstant(`${block.router.name}_bias`, Tensor.float32(bias)));
  }
}

describe('prune experts (fixtures/moe)', () => {
  it('keeping all 8 experts changes nothing', async () => {
    const model = await canonical();
    const before = logits(model.graph);
    const report = prune(model, { keep: 8, calib });
    expect(report.layers.map((l) => l.dropped)).toEqual([[], []]);
    expectClose(logits(model.graph), before, 0);
  });

  it('8 -> 6: router columns, expert weights and slices go; the model verifies and runs in onnxruntime', async () => {
    const model = await canonical();
    const linearsBefore = model.graph.nodes.filter((n) => n.op === Op.Linear).length;
    const report = prune(model, { keep: 6, calib });
    for (const l of report.layers) {
      expect(l.kept).toHaveLength(6);
      expect(l.dropped).toHaveLength(2);
      expect(l.routerEdit).toBe('columns');
      expect(l.k).toEqual({ before: 2, after: 2 });
      // Mass ranking: every kept expert carries at least as much routing weight as any dropped one.
      expect(Math.min(...l.kept.map((e) => l.mass![e]!))).toBeGreaterThanOrEqual(Math.max(...l.dropped.map((e) => l.mass![e]!)));
      expect(l.frequency!.reduce((a, b) => a + b, 0)).toBeCloseTo(2, 5);
      expect(l.mass!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    // 2 layers x 2 experts x (gate, up, down) linear layers are gone.
    expect(model.graph.nodes.filter((n) => n.op === Op.Linear).length).toBe(linearsBefore - 12);
    const blocks = denseMoeBlocks(model.graph);
    expect(blocks.map((b) => b.router.inputs[1]!.const!.shape)).toEqual([[64, 6], [64, 6]]);
    expect(blocks.map((b) => b.experts.map((x) => x.index))).toEqual([[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]);
    expect(blocks[0]!.topK.inputs[0]!.shape).toEqual(['batch', 'sequence', 6]);
    verify(model.graph);

    const ours = logits(model.graph);
    const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
    const theirs = (await runOrt(session, sample)).get('logits')!;
    expectClose(theirs, ours, 1e-4);
  });

  it('removing an expert no token is routed to leaves the outputs unchanged', async () => {
    const model = await canonical();
    makeUnreachable(model.graph, 5);
    const before = logits(model.graph);
    const report = prune(model, { keep: 7, calib });
    expect(report.layers.map((l) => l.dropped)).toEqual([[5], [5]]);
    expect(report.layers.map((l) => l.frequency![5])).toEqual([0, 0]);
    expectClose(logits(model.graph), before, 1e-5);
  });

  it('--keep 1 with top-2 routing clamps k to 1 and says so', async () => {
    const model = await canonical();
    const report = prune(model, { keep: 1, calib });
    for (const l of report.layers) {
      expect(l.k).toEqual({ before: 2, after: 1 });
      expect(l.notes.join(' ')).toMatch(/k clamped from 2 to 1/);
    }
    const blocks = denseMoeBlocks(model.graph);
    expect(blocks.map((b) => b.topK.inputs[1]!.const!.toNumbers())).toEqual([[1], [1]]);
    expect(blocks.map((b) => b.experts.length)).toEqual([1, 1]);
    // One expert with weight 1 on every token.
    expect(logits(model.graph).toFloat32().every(Number.isFinite)).toBe(true);
  });

  it('without calibration data, ranks by router column norms', async () => {
    const model = await canonical();
    const report = prune(model, { keep: 6 });
    for (const l of report.layers) {
      expect(l.rankedBy).toBe('router-norm');
      expect(Math.min(...l.kept.map((e) => l.scores[e]!))).toBeGreaterThanOrEqual(Math.max(...l.dropped.map((e) => l.scores[e]!)));
    }
  });

  it('without top-k renormalization the router keeps its columns and the kept weights stay exact', async () => {
    const model = await canonical();
    // Use the raw top-k softmax probabilities as routing weights.
    for (const block of denseMoeBlocks(model.graph)) {
      const div = block.topK.outputs[0]!.uses.find((u) => u.node.op === Op.Div)!.node;
      div.outputs[0]!.replaceAllUsesWith(block.topK.outputs[0]!);
    }
    eliminateDeadCode(model.graph);
    const probsBefore = observe(model.graph, denseMoeBlocks(model.graph)[0]!.topK.inputs[0]!);
    const report = prune(model, { keep: 6, calib });
    for (const l of report.layers) expect(l.routerEdit).toBe('gather');
    const blocks = denseMoeBlocks(model.graph);
    expect(blocks.map((b) => b.router.inputs[1]!.const!.shape)).toEqual([[64, 8], [64, 8]]);
    // Layer 0 sees the same input as before: each kept expert's weight, where it is chosen,
    // is still its probability over all 8 experts (a 6-way softmax would make it larger).
    const weights = observe(model.graph, blocks[0]!.experts[0]!.weight!.producer!.inputs[0]!).toFloat32();
    const probs = probsBefore.toFloat32();
    const kept = report.layers[0]!.kept;
    let chosen = 0;
    for (let t = 0; t < weights.length / 6; t++) {
      for (let j = 0; j < 6; j++) {
        if (weights[t * 6 + j] === 0) continue;
        chosen++;
        expect(weights[t * 6 + j]).toBeCloseTo(probs[t * 8 + kept[j]!]!, 6);
      }
    }
    expect(chosen).toBeGreaterThan(weights.length / 6);
  });

  it('without renormalization, removing an expert no token is routed to leaves the outputs unchanged', async () => {
    const model = await canonical();
    for (const block of denseMoeBlocks(model.graph)) {
      const div = block.topK.outputs[0]!.uses.find((u) => u.node.op === Op.Div)!.node;
      div.outputs[0]!.replaceAllUsesWith(block.topK.outputs[0]!);
    }
    eliminateDeadCode(model.graph);
    makeUnreachable(model.graph, 2);
    const before = logits(model.graph);
    const report = prune(model, { keep: 7, calib });
    expect(report.layers.map((l) => l.dropped)).toEqual([[2], [2]]);
    expectClose(logits(model.graph), before, 1e-5);
  });

  it('with static shapes the scattered zeros are a constant, and shrink with the experts', async () => {
    const model = specializeShapes(await canonical(), { input_ids: [2, 64] });
    new PassManager(parsePipeline('default')).run(model);
    makeUnreachable(model.graph, 6);
    const zerosShape = () => model.graph.nodes.filter((n) => n.op === Op.ScatterElements).map((n) => n.inputs[0]!.const?.shape);
    expect(zerosShape()).toEqual([[2, 64, 8], [2, 64, 8]]);
    const before = logits(model.graph);
    const report = prune(model, { keep: 7, calib: [sample] });
    expect(report.layers.map((l) => l.dropped)).toEqual([[6], [6]]);
    expect(zerosShape()).toEqual([[2, 64, 7], [2, 64, 7]]);
    expectClose(logits(model.graph), before, 1e-5);
  });

  it('rank by block output error: an expert no token reaches is the one to drop', async () => {
    const model = await canonical();
    makeUnreachable(model.graph, 3);
    const report = prune(model, { keep: 7, calib, rankBy: 'error' });
    for (const l of report.layers) {
      expect(l.rankedBy).toBe('error');
      expect(l.dropped).toEqual([3]);
      expect(l.error).toBeLessThan(1e-10);
      // Dropping a reachable expert alone costs more than dropping the unreachable one.
      expect(Math.min(...l.scores.filter((_, e) => e !== 3))).toBeGreaterThan(l.scores[3]!);
    }
  });

  it('--merge reports its decision per layer and only keeps a merge that lowers the error', async () => {
    const model = await canonical();
    const report = prune(model, { keep: 6, calib: [windowsOf(0, 2), windowsOf(2, 4)], merge: true });
    for (const l of report.layers) {
      const m = l.merge!;
      expect(m.errorDropped).toBeGreaterThan(0);
      expect(Object.keys(m.into).length).toBeGreaterThan(0);
      expect(m.candidates.map((c) => c.method)).toEqual(['neurons', 'neurons', 'refit']);
      const best = m.candidates.reduce((a, b) => (b.error < a.error ? b : a));
      expect(m.applied).toBe(best.error < m.errorDropped ? best.method : false);
    }
    verify(model.graph);
  });
});

describe('prune experts (gathered form: tokens gathered per expert)', () => {
  const GATHERED = new URL('../../structure/test/models/moe_gathered_op17.onnx', import.meta.url).pathname;
  const ids = new Map([['input_ids', new Tensor('int64', [2, 16], BigInt64Array.from({ length: 32 }, (_, i) => BigInt((i * 7) % 50)))]]);

  it('removing an expert no token is routed to leaves the outputs unchanged, also in onnxruntime', async () => {
    const { model, structure } = canonicalStructure(decodeModel(new Uint8Array(readFileSync(GATHERED))));
    const blocks = structure.layers.flatMap((l) => l.sublayers.filter((x): x is MoeBlock => x.kind === 'moe').map((block) => ({ layer: l.index, block })));
    expect(blocks.map((b) => [b.block.form, b.block.experts.length])).toEqual([['gathered', 4], ['gathered', 4]]);
    for (const { block } of blocks) {
      const bias = new Float32Array(4);
      bias[1] = -1e4;
      block.router.setInput(2, model.graph.addConstant(`${block.router.name}_bias`, Tensor.float32(bias)));
    }
    const before = execute(model.graph, ids).get('out')!;
    const report = pruneExpertBlocks(model.graph, blocks, { keep: 3, calib: [ids] });
    expect(report.layers.map((l) => [l.dropped, l.skipped])).toEqual([[[1], undefined], [[1], undefined]]);
    expect(blocks.map((b) => b.block.router.inputs[1]!.const!.shape)).toEqual([[32, 3], [32, 3]]);
    expectClose(execute(model.graph, ids).get('out')!, before, 1e-5);
    const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
    expectClose((await runOrt(session, ids)).get('out')!, before, 1e-4);
  });
});
