// Channel groups on small graphs: which layers couple, what gets edited, where a group stops,
// and that folding a permutation leaves the function unchanged.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../ir/builder.js';
import type { Graph, Node } from '../../../ir/graph.js';
import { inferTypes } from '../../../ir/infer.js';
import { Tensor } from '../../../ir/tensor.js';
import { expectSameOutputs, seeded } from '../../test/helpers.js';
import { findChannelGroups, type ChannelGroup } from '../coupling.js';
import { foldPermutation } from '../fold.js';
import { linearLayer } from '../layers.js';

const readersOf = (g: Graph) => g.nodes.filter((n) => linearLayer(n) && !linearLayer(n)!.channelwise);
const names = (nodes: readonly Node[]) => nodes.map((n) => n.name).sort();

function groupsOf(g: Graph): ChannelGroup[] {
  inferTypes(g);
  return findChannelGroups(g, readersOf(g), { granularity: 4 });
}

/** A fixed, far-from-identity permutation of n channels. */
function shuffled(n: number, seed = 7): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function foldAll(g: Graph, groups: readonly ChannelGroup[]): void {
  for (const group of groups) if (group.stops.length === 0) foldPermutation(g, group, shuffled(group.channels));
}

describe('channel groups', () => {
  it('MLP: the second layer reads what the first writes, through the activation and its bias', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 8]);
    const h = b.op('Linear', [x, b.constant('w1', seeded([8, 16], 1)), b.constant('b1', seeded([16], 2))], { name: 'fc1' });
    const a = b.op('Gelu', [h]);
    b.output(b.op('Linear', [a, b.constant('w2', seeded([16, 8], 3)), b.constant('b2', seeded([8], 4))], { name: 'fc2' }));
    const groups = groupsOf(b.graph);
    const hidden = groups.find((g) => g.readers.some((r) => r.name === 'fc2'))!;
    expect(hidden.stops).toEqual([]);
    expect(hidden.channels).toBe(16);
    expect(names(hidden.writers)).toEqual(['fc1']);
    expect(hidden.edits.map((e) => `${e.node.inputs[e.index]!.name}@${e.axis}`).sort()).toEqual(['b1@0', 'w1@1', 'w2@0']);
    // fc1 reads the graph input: its channel order is the model's interface.
    const input = groups.find((g) => g.readers.some((r) => r.name === 'fc1'))!;
    expect(input.stops[0]!.reason).toMatch(/graph input/);

    const w2Before = Float32Array.from(b.graph.constants.get('w2')!.const!.data as Float32Array);
    const perm = shuffled(16);
    expectSameOutputs(b.graph, { x: seeded([3, 8], 5) }, () => foldPermutation(b.graph, hidden, perm));
    const w2After = b.graph.constants.get('w2')!.const!.data as Float32Array;
    expect([...w2After.subarray(0, 8)]).toEqual([...w2Before.subarray(perm[0]! * 8, perm[0]! * 8 + 8)]);
  });

  it('conv -> BatchNorm -> ReLU -> depthwise conv -> conv: statistics and depthwise weights follow', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 3, 6, 6]);
    const c1 = b.op('Conv', [x, b.constant('k1', seeded([8, 3, 3, 3], 1)), b.constant('kb1', seeded([8], 2))], { attrs: { pads: [1, 1, 1, 1] } });
    const positive = (seed: number) => new Tensor('float32', [8], (seeded([8], seed).data as Float32Array).map((v) => 1.5 + v));
    const bn = b.op('BatchNormalization', [c1, b.constant('s', positive(3)), b.constant('t', seeded([8], 4)), b.constant('mu', seeded([8], 5)), b.constant('var', positive(6))]);
    const r = b.op('Relu', [bn]);
    const dw = b.op('Conv', [r, b.constant('dw', seeded([8, 1, 3, 3], 7)), b.constant('dwb', seeded([8], 8))], { attrs: { group: 8, pads: [1, 1, 1, 1] } });
    const clip = b.op('Clip', [dw, b.constant('lo', Tensor.scalar('float32', 0)), b.constant('hi', Tensor.scalar('float32', 6))]);
    b.output(b.op('Conv', [clip, b.constant('k2', seeded([4, 8, 1, 1], 9))], { name: 'pointwise' }));
    const groups = groupsOf(b.graph);
    const g = groups.find((x) => x.readers.some((r) => r.name === 'pointwise'))!;
    expect(g.stops).toEqual([]);
    expect(g.writers.length).toBe(1);
    const edited = new Set(g.edits.map((e) => e.node.inputs[e.index]!.name));
    for (const name of ['k1', 'kb1', 's', 't', 'mu', 'var', 'dw', 'dwb', 'k2']) expect(edited.has(name), name).toBe(true);
    expectSameOutputs(b.graph, { x: seeded([1, 3, 6, 6], 10) }, () => foldAll(b.graph, groups));
  });

  it('residual adds couple all their producers and all readers of the stream to one permutation', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3, 8]);
    const r0 = b.op('Linear', [x, b.constant('w0', seeded([8, 8], 1))], { name: 'embed' });
    const f = b.op('Linear', [b.op('Relu', [r0]), b.constant('w1', seeded([8, 8], 2)), b.constant('b1', seeded([8], 3))], { name: 'block' });
    const r1 = b.op('Add', [r0, f]);
    const scaled = b.op('Mul', [r1, b.constant('gain', seeded([1, 1, 8], 4))]);
    const n = b.op('LayerNormalization', [scaled, b.constant('g', seeded([8], 5)), b.constant('beta', seeded([8], 6))], { attrs: { axis: -1 } });
    b.output(b.op('Linear', [n, b.constant('wh', seeded([8, 4], 7))], { name: 'head' }));
    const groups = groupsOf(b.graph);
    const stream = groups.find((g) => g.readers.some((r) => r.name === 'head'))!;
    expect(stream.stops).toEqual([]);
    expect(names(stream.readers)).toEqual(['block', 'head']);
    expect(names(stream.writers)).toEqual(['block', 'embed']);
    // One group for the whole stream, not one per reader.
    expect(groups.filter((g) => g.readers.some((r) => r.name === 'block')).length).toBe(1);
    expectSameOutputs(b.graph, { x: seeded([2, 3, 8], 8) }, () => foldAll(b.graph, groups));
  });

  it('a reshape that interleaves heads into the channels stops the group and names the node', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 8]);
    const v = b.op('Linear', [x, b.constant('wv', seeded([8, 8], 1))], { name: 'v' });
    const heads = b.op('Reshape', [v, b.constant('s1', Tensor.int64([2, 2, 4]))], { name: 'split_heads' });
    const t = b.op('Transpose', [heads], { attrs: { perm: [0, 2, 1] } });
    const merged = b.op('Reshape', [t, b.constant('s2', Tensor.int64([2, 8]))], { name: 'merge_heads' });
    b.output(b.op('Linear', [merged, b.constant('wo', seeded([8, 8], 2))], { name: 'o' }));
    const g = groupsOf(b.graph).find((x) => x.readers.some((r) => r.name === 'o'))!;
    // [2, 4 (head dim), 2 (heads)] merged: channel c is head c % 2, so blocks of head channels
    // would be 2 wide, too narrow for whole 2:4 groups.
    expect(g.stops[0]!.node?.name).toBe('merge_heads');
    expect(g.stops[0]!.reason).toMatch(/2 entries on the channel axis, not a multiple of 8/);
  });

  it('a value that is also a graph output stops its group', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 8]);
    const h = b.op('Linear', [x, b.constant('w1', seeded([8, 8], 1))]);
    b.output(h, b.op('Linear', [h, b.constant('w2', seeded([8, 8], 2))], { name: 'second' }));
    const g = groupsOf(b.graph).find((x) => x.readers.some((r) => r.name === 'second'))!;
    expect(g.stops.some((s) => /graph output/.test(s.reason))).toBe(true);
  });

  it('consumers of one value share a permutation; a shared weight is copied, not permuted for both', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 8]);
    const shared = b.constant('w', seeded([8, 8], 1));
    const h = b.op('Relu', [b.op('Linear', [x, shared], { name: 'first' })]);
    const y1 = b.op('Linear', [h, b.constant('wa', seeded([8, 4], 2))], { name: 'a' });
    const y2 = b.op('Linear', [h, b.constant('wb', seeded([8, 4], 3))], { name: 'b' });
    const other = b.op('Linear', [x, shared], { name: 'other' });
    b.output(y1, y2, other);
    const groups = groupsOf(b.graph);
    const g = groups.find((x) => x.readers.some((r) => r.name === 'a'))!;
    expect(names(g.readers)).toEqual(['a', 'b']);
    expectSameOutputs(b.graph, { x: seeded([2, 8], 4) }, () => foldAll(b.graph, groups));
    expect(b.graph.nodes.find((n) => n.name === 'other')!.inputs[1]!.name).toBe('w');
    expect(b.graph.nodes.find((n) => n.name === 'first')!.inputs[1]!.name).not.toBe('w');
  });
});

describe('permute-nm pass record', () => {
  it('parses from pipeline text and reports its stats', async () => {
    const { parsePipeline, printPipeline } = await import('../../pipeline.js');
    const steps = parsePipeline('permute-nm{n=2,m=4}');
    expect(printPipeline(steps)).toMatch(/^permute-nm/);
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 8]);
    const h = b.op('Relu', [b.op('Linear', [x, b.constant('w1', seeded([8, 32], 1))])]);
    const h2 = b.op('Relu', [b.op('Linear', [h, b.constant('w2', seeded([32, 8], 2))])]);
    // The last layer is the output head: it stays dense, so its group is not searched.
    b.output(b.op('Linear', [h2, b.constant('w3', seeded([8, 4], 3))]));
    const warnings: unknown[] = [];
    const result = steps[0]!.pass.run({ graph: b.graph } as never, { options: steps[0]!.options as never, warn: (d) => warnings.push(d) });
    expect(result.changed).toBe(true);
    expect(result.stats!.groupsPermuted).toBe(1);
    expect(result.stats!.groupsSkipped).toBe(1);
    expect(warnings.length).toBe(1);
  });
});
