// Channel groups through attention heads: the output projection's input channels are permuted
// within every head alike, back through the head merge, the attention product and the head
// split to the value projection (and, for a fused qkv projection, q and k as well). Folding a
// far-from-identity permutation into every group must leave the function unchanged, on a small
// static graph and on the fixture transformers (dynamic head reshapes, grouped-query repeat,
// MoE routing slices).

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../frontend/index.js';
import { GraphBuilder } from '../../../ir/builder.js';
import { execute } from '../../../ir/executor/index.js';
import type { Graph, Value } from '../../../ir/graph.js';
import { inferTypes } from '../../../ir/infer.js';
import { Tensor } from '../../../ir/tensor.js';
import { fixturePath, readSampleSet } from '../../../test/differential/harness.js';
import { PassManager } from '../../manager.js';
import { expectClose, expectSameOutputs, seeded } from '../../test/helpers.js';
import { findChannelGroups, type ChannelGroup } from '../coupling.js';
import { foldPermutation } from '../fold.js';
import { linearLayer } from '../layers.js';

function groupsOf(g: Graph): ChannelGroup[] {
  inferTypes(g);
  return findChannelGroups(g, g.nodes.filter((n) => linearLayer(n) && !linearLayer(n)!.channelwise), { granularity: 4 });
}

function shuffled(n: number, seed = 11): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function foldAll(g: Graph, groups: readonly ChannelGroup[]): number {
  let folded = 0;
  for (const group of groups) {
    if (group.stops.length > 0) continue;
    foldPermutation(g, group, shuffled(group.channels, 11 + folded));
    folded++;
  }
  return folded;
}

/** x -> fused qkv -> Split -> heads -> softmax(q k^T) v -> merge -> o, with static shapes. */
function fusedAttention(): GraphBuilder {
  const [batch, seq, heads, dim] = [2, 3, 2, 8];
  const width = heads * dim;
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [batch, seq, width]);
  const qkv = b.op('Linear', [x, b.constant('wqkv', seeded([width, 3 * width], 1)), b.constant('bqkv', seeded([3 * width], 2))], { name: 'qkv' });
  const [q, k, v] = b.node('Split', [qkv, b.constant('sizes', Tensor.int64([width, width, width]))], { outputs: 3, attrs: { axis: -1 } }).outputs;
  const headShape = b.constant('heads', Tensor.int64([batch, seq, heads, dim]));
  const split = (t: Value | undefined) => b.op('Transpose', [b.op('Reshape', [t!, headShape])], { attrs: { perm: [0, 2, 1, 3] } });
  const kT = b.op('Transpose', [split(k)], { attrs: { perm: [0, 1, 3, 2] } });
  const scores = b.op('Mul', [b.op('MatMul', [split(q), kT]), b.constant('scale', Tensor.scalar('float32', 0.35))]);
  const context = b.op('MatMul', [b.op('Softmax', [scores], { attrs: { axis: -1 } }), split(v)]);
  const merged = b.op('Reshape', [b.op('Transpose', [context], { attrs: { perm: [0, 2, 1, 3] } }), b.constant('merged', Tensor.int64([batch, seq, width]))], { name: 'merge_heads' });
  b.output(b.op('Linear', [merged, b.constant('wo', seeded([width, width], 3))], { name: 'o' }));
  return b;
}

describe('channel groups through attention heads', () => {
  it('a fused qkv projection: the output projection permutes head channels of q, k and v alike', () => {
    const b = fusedAttention();
    const groups = groupsOf(b.graph);
    const o = groups.find((g) => g.readers.some((r) => r.name === 'o'))!;
    expect(o.stops).toEqual([]);
    expect(o.channels).toBe(8);
    expect(o.readers.map((r) => r.name)).toEqual(['o']);
    expect(o.writers.map((w) => w.name)).toEqual(['qkv']);
    expect(o.edits.map((e) => `${e.node.inputs[e.index]!.name}@${e.axis}`).sort()).toEqual(['bqkv@0', 'wo@0', 'wqkv@1']);
    expectSameOutputs(b.graph, { x: seeded([2, 3, 16], 4) }, () => foldPermutation(b.graph, o, shuffled(8)));
  });

  it('without a block size the N:M groups fit in, the head reshape stops the group', () => {
    const b = fusedAttention();
    inferTypes(b.graph);
    const graph = b.graph;
    const groups = findChannelGroups(graph, graph.nodes.filter((n) => n.name === 'o'), { granularity: 16 });
    expect(groups[0]!.channels).toBe(16);
    expect(groups[0]!.stops[0]!.reason).toMatch(/8 entries on the channel axis, not a multiple of 16/);
  });

  for (const name of ['gpt2', 'llama', 'moe']) {
    it(`${name}: every group folded with a random permutation computes the same function`, async () => {
      const model = await loadModel(fixturePath(name, 'model.onnx'));
      new PassManager('default').run(model);
      const { inputs } = readSampleSet(fixturePath(name), name);
      const before = execute(model.graph, inputs);
      const groups = groupsOf(model.graph);
      // Nothing stops: the output projections pass the head reshapes, moe's stream the routing slices.
      expect(groups.flatMap((g) => g.stops.map((s) => s.reason))).toEqual([]);
      const headGroups = groups.filter((g) => g.channels === 16);
      expect(headGroups.length).toBe(name === 'moe' ? 2 : 4);
      expect(foldAll(model.graph, groups)).toBe(groups.length);
      const after = execute(model.graph, inputs);
      for (const [out, t] of before) expectClose(after.get(out)!, t, 1e-5);
    });
  }
});
