// Structure recognition on small graphs built by hand (ir/builder.ts): forms no exporter
// wrote for us (constant reshape targets, no embedding, no norms), and graphs that look like
// transformers but are not, which must come back with reasons rather than exceptions.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../ir/builder.js';
import { Model, type Value } from '../../../ir/graph.js';
import { Tensor } from '../../../ir/tensor.js';
import { canonicalModel } from '../canonical.js';
import { recognizeStructure } from '../recognize.js';
import type { AttentionBlock, ModelStructure } from '../types.js';

const WIDTH = 8;

function weights(rows: number, cols: number, seed: number): Tensor {
  return Tensor.float32(Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.37 + seed) * 0.3), [rows, cols]);
}

class Net {
  readonly b = new GraphBuilder('hand');
  private n = 0;
  readonly x = this.b.input('x', 'float32', ['batch', 'sequence', WIDTH]);

  linear(x: Value, cols: number, bias = false): Value {
    const rows = x.shape!.at(-1) as number;
    const w = this.b.constant(`w${this.n++}`, weights(rows, cols, this.n));
    const inputs = bias ? [x, w, this.b.constant(`b${this.n++}`, Tensor.float32(new Float32Array(cols).fill(0.1), [cols]))] : [x, w];
    return this.b.op('Linear', inputs, { types: [{ dtype: 'float32', shape: [...x.shape!.slice(0, -1), cols] }] });
  }

  op(op: Parameters<GraphBuilder['op']>[0], inputs: Value[], shape = inputs[0]!.shape, attrs?: Record<string, number | number[]>): Value {
    return this.b.op(op, inputs, { types: [{ dtype: 'float32', shape }], ...(attrs ? { attrs } : {}) });
  }

  ints(values: number[]): Value {
    return this.b.constant(`c${this.n++}`, Tensor.int64(values));
  }

  rmsnorm(x: Value): Value {
    const scale = this.b.constant(`g${this.n++}`, Tensor.float32(new Float32Array(WIDTH).fill(1), [WIDTH]));
    return this.op('RMSNorm', [x, scale]);
  }

  /** Multi-head attention with constant reshape targets [0, 0, heads, headDim]. */
  attention(x: Value, heads: number, opts: { out?: boolean; qkNorm?: boolean; cache?: boolean } = {}): Value {
    const hd = WIDTH / heads;
    const split = (v: Value) => {
      const r = this.op('Reshape', [v, this.ints([0, 0, heads, hd])], ['batch', 'sequence', heads, hd]);
      return this.op('Transpose', [r], ['batch', heads, 'sequence', hd], { perm: [0, 2, 1, 3] });
    };
    // Per-head q/k norms (Qwen3): RMSNorm over the head dim after the split.
    const headNorm = (v: Value) => (opts.qkNorm ? this.op('RMSNorm', [v, this.b.constant(`qk${this.n++}`, Tensor.float32(new Float32Array(hd).fill(1), [hd]))]) : v);
    const q = headNorm(split(this.linear(x, WIDTH, true)));
    const newK = headNorm(split(this.linear(x, WIDTH, true)));
    const past = opts.cache ? this.b.input('past_k', 'float32', ['batch', heads, 'past', hd]) : undefined;
    const k = past ? this.op('Concat', [past, newK], ['batch', heads, 'total', hd], { axis: 2 }) : newK;
    const v = split(this.linear(x, WIDTH, true));
    const kt = this.op('Transpose', [k], ['batch', heads, hd, 'sequence'], { perm: [0, 1, 3, 2] });
    const scores = this.op('MatMul', [q, kt], ['batch', heads, 'sequence', 'sequence']);
    const scaled = this.op('Mul', [scores, this.b.constant(`s${this.n++}`, Tensor.float32([1 / Math.sqrt(hd)], []))]);
    const probs = this.op('Softmax', [scaled], undefined, { axis: -1 });
    const ctx = this.op('MatMul', [probs, v], ['batch', heads, 'sequence', hd]);
    const t = this.op('Transpose', [ctx], ['batch', 'sequence', heads, hd], { perm: [0, 2, 1, 3] });
    const merged = this.op('Reshape', [t, this.ints([0, 0, WIDTH])], ['batch', 'sequence', WIDTH]);
    return opts.out === false ? merged : this.linear(merged, WIDTH, true);
  }

  relu(x: Value, hidden = 16): Value {
    return this.linear(this.op('Relu', [this.linear(x, hidden)]), WIDTH);
  }

  add(a: Value, b: Value): Value {
    return this.op('Add', [a, b]);
  }

  recognize(out: Value): ModelStructure {
    this.b.output(out);
    return recognizeStructure(this.b.graph);
  }
}

describe('recognizeStructure on hand-written graphs', () => {
  it('a norm-free ReLU MLP stack on a float input: one MLP layer per residual Add', () => {
    const net = new Net();
    const h1 = net.add(net.x, net.relu(net.x));
    const h2 = net.add(h1, net.relu(h1, 24));
    const s = net.recognize(h2);
    expect(s.unrecognized).toEqual([]);
    expect(s.embedding).toBeUndefined();
    expect(s.stream).toMatchObject({ width: WIDTH, normPlacement: 'pre' });
    expect(s.stream!.states).toEqual([net.x, h1, h2]);
    expect(s.layers.map((l) => l.sublayers.map((b) => [b.kind, b.kind === 'mlp' ? b.hidden : 0]))).toEqual([[['mlp', 16]], [['mlp', 24]]]);
    expect(s.layers[0]!.sublayers[0]!.norm).toBeUndefined();
  });

  it('pre-norm blocks then a final norm: the norm after the last Add is the final norm, not a post-norm', () => {
    const net = new Net();
    const h1 = net.add(net.x, net.relu(net.rmsnorm(net.x)));
    const h2 = net.add(h1, net.relu(net.rmsnorm(h1)));
    const final = net.rmsnorm(h2);
    const s = net.recognize(net.linear(final, 16));
    expect(s.unrecognized).toEqual([]);
    expect(s.stream!.normPlacement).toBe('pre');
    expect(s.stream!.states).toEqual([net.x, h1, h2]);
    expect(s.finalNorm!.output).toBe(final);
    expect(s.head).toMatchObject({ tied: false });
  });

  it('pre-RMSNorm attention with constant head reshapes, biases, no mask', () => {
    const net = new Net();
    const h1 = net.add(net.x, net.attention(net.rmsnorm(net.x), 2));
    const h2 = net.add(h1, net.relu(net.rmsnorm(h1)));
    const s = net.recognize(h2);
    expect(s.unrecognized).toEqual([]);
    expect(s.layers).toHaveLength(1);
    const a = s.layers[0]!.sublayers[0] as AttentionBlock;
    expect(a).toMatchObject({ kind: 'attention', heads: 2, kvHeads: 2, headDim: 4, fused: false, rotary: false, causalMask: false });
    expect(a.norm!.kind).toBe('rmsnorm');
    expect(a.headReshapes.merge.outputs[0]!.shape).toEqual(['batch', 'sequence', WIDTH]);
    expect(s.layers[0]!.sublayers[1]!.norm!.kind).toBe('rmsnorm');
  });

  it('per-head q/k norms after the head split do not hide the heads', () => {
    const net = new Net();
    const s = net.recognize(net.add(net.x, net.attention(net.rmsnorm(net.x), 4, { qkNorm: true })));
    expect(s.unrecognized).toEqual([]);
    expect(s.layers[0]!.sublayers[0]).toMatchObject({ kind: 'attention', heads: 4, headDim: 2 });
  });

  it('an attention without an output projection is named, with the reason, and the walk stops there', () => {
    const net = new Net();
    const h1 = net.add(net.x, net.relu(net.x));
    const h2 = net.add(h1, net.attention(h1, 2, { out: false }));
    const s = net.recognize(h2);
    expect(s.layers).toHaveLength(1);
    expect(s.stream!.states).toEqual([net.x, h1]);
    const reasons = s.unrecognized.map((u) => u.reason);
    expect(reasons[0]).toMatch(/^sublayer 1 \(residual Add '.*'\) not recognized: attention: the branch output is not a linear layer/);
    expect(s.unrecognized[0]!.node).toBeDefined();
    expect(reasons.some((r) => /attention-like Softmax .* outside every recognized attention block/.test(r))).toBe(true);
  });

  it('keys joined with a cache input are refused with that reason', () => {
    const net = new Net();
    const s = net.recognize(net.add(net.x, net.attention(net.rmsnorm(net.x), 2, { cache: true })));
    expect(s.layers).toEqual([]);
    expect(s.unrecognized[0]!.reason).toMatch(/attention: k is not a projection split into heads by a Reshape: its trace Concat '.*' joins the model input past_k \(a key\/value cache, not supported\)/);
  });

  it('a residual branch that is no known sublayer (x + tanh(x)) is unrecognized, not an error', () => {
    const net = new Net();
    const s = net.recognize(net.add(net.x, net.op('Tanh', [net.x])));
    expect(s.layers).toEqual([]);
    expect(s.unrecognized).toHaveLength(1);
    expect(s.unrecognized[0]!.reason).toMatch(/mlp: the branch output is not a linear layer at Tanh/);
  });

  it('degenerate graphs: no nodes, x + x, a graph with no float input', () => {
    const empty = new GraphBuilder('empty');
    const x = empty.input('x', 'float32', [2, 3, 4]);
    empty.output(x);
    expect(recognizeStructure(empty.graph).unrecognized[0]!.reason).toMatch(/no residual Add reads the stream value x/);

    const net = new Net();
    const s = net.recognize(net.add(net.x, net.x));
    expect(s.layers).toEqual([]);

    const ints = new GraphBuilder('ints');
    const i = ints.input('i', 'int64', ['n']);
    ints.output(ints.op('Neg', [i]));
    expect(recognizeStructure(ints.graph)).toMatchObject({ layers: [], unrecognized: [{ reason: expect.stringMatching(/no residual stream/) }] });
  });

  it('a tied head written as MatMul with the transposed table (no constant folding) and an embedding Gather', () => {
    const b = new GraphBuilder('tied');
    const ids = b.input('ids', 'int64', ['batch', 'sequence']);
    const table = b.constant('table', weights(16, WIDTH, 3));
    const f = (op: Parameters<GraphBuilder['op']>[0], inputs: Value[], shape: (string | number)[], attrs?: Record<string, number[]>) =>
      b.op(op, inputs, { types: [{ dtype: 'float32', shape }], ...(attrs ? { attrs } : {}) });
    const x = f('Gather', [table, ids], ['batch', 'sequence', WIDTH]);
    const up = f('Linear', [x, b.constant('up', weights(WIDTH, 16, 4))], ['batch', 'sequence', 16]);
    const down = f('Linear', [f('Relu', [up], ['batch', 'sequence', 16]), b.constant('down', weights(16, WIDTH, 5))], ['batch', 'sequence', WIDTH]);
    const h = f('Add', [x, down], ['batch', 'sequence', WIDTH]);
    const logits = f('MatMul', [h, f('Transpose', [table], [WIDTH, 16], { perm: [1, 0] })], ['batch', 'sequence', 16]);
    b.output(logits);
    const s = recognizeStructure(b.graph);
    expect(s.unrecognized).toEqual([]);
    expect(s.embedding!.gather).toBe(x.producer);
    expect(s.layers).toHaveLength(1);
    expect(s.finalNorm).toBeUndefined();
    expect(s.head).toEqual({ node: logits.producer, tied: true });
  });

  it('canonicalModel runs the default pipeline in place (a MatMul + bias Add becomes Linear)', () => {
    const b = new GraphBuilder('m');
    const x = b.input('x', 'float32', ['batch', 'sequence', WIDTH]);
    const w = b.constant('w', weights(WIDTH, WIDTH, 1));
    const y = b.op('Add', [b.op('MatMul', [x, w]), b.constant('bias', Tensor.float32(new Float32Array(WIDTH), [WIDTH]))]);
    b.output(b.op('Add', [x, b.op('Relu', [y])]));
    const model = new Model(b.graph);
    expect(canonicalModel(model).model).toBe(model);
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['Linear', 'Relu', 'Add']);
  });
});

describe('reasons for refused blocks', () => {
  it('an MLP reading the stream through a norm written out in a form canonicalize leaves alone', () => {
    const net = new Net();
    // x / (|x| + 1): norm-like arithmetic, not a LayerNorm or RMSNorm.
    const scaled = net.op('Div', [net.x, net.op('Add', [net.op('Abs', [net.x]), net.b.constant('one', Tensor.float32([1], []))])]);
    const s = net.recognize(net.add(net.x, net.relu(scaled)));
    expect(s.layers).toEqual([]);
    expect(s.unrecognized[0]!.reason).toMatch(/mlp: an MLP projection reads Div '.*', not the block input x \(a norm in a form canonicalize does not recognize\?\)/);
    expect(s.unrecognized[0]!.node!.op).toBe('Linear');
  });
});

describe('where the stream walk ends', () => {
  it('a sandwich norm on the sublayer output (Gemma 2) is named as such', () => {
    const net = new Net();
    const s = net.recognize(net.add(net.x, net.rmsnorm(net.relu(net.rmsnorm(net.x)))));
    expect(s.layers).toEqual([]);
    expect(s.unrecognized[0]!.reason).toMatch(/mlp: the branch output is not a linear layer but a norm of the sublayer output \(sandwich norms are not supported\) at RMSNorm/);
  });

  it('parallel attention and MLP (x + attn(n(x)) + mlp(n(x))) leave the second Add named', () => {
    const net = new Net();
    const n = net.rmsnorm(net.x);
    const h1 = net.add(net.x, net.attention(n, 2));
    const h2 = net.add(h1, net.relu(n));
    const s = net.recognize(h2);
    expect(s.layers.map((l) => l.sublayers.map((b) => b.kind))).toEqual([['attention']]);
    expect(s.unrecognized).toHaveLength(1);
    expect(s.unrecognized[0]!.node).toBe(h2.producer);
    expect(s.unrecognized[0]!.reason).toMatch(/goes on through Add .*\(parallel attention and MLP\?\)/);
    expect(s.head).toBeUndefined();
  });
});
