import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../builder.js';
import { SparsecError } from '../../diagnostics.js';
import type { RuntimeValue } from '../../opdef.js';
import { Tensor } from '../../tensor.js';
import { execute, executeValues } from '../index.js';
import { f32, i64, nums, typed } from './helpers.js';

const bool = (b: boolean) => typed('bool', [b ? 1 : 0], []);

describe('If', () => {
  it('runs the branch the condition picks, reading captured values', () => {
    const b = new GraphBuilder('main');
    const cond = b.input('cond', 'bool', []);
    const x = b.input('x', 'float32', [2]);
    const thenB = b.subgraph('then');
    thenB.output(thenB.op('Add', [x, x]));
    const elseB = b.subgraph('else');
    elseB.output(elseB.op('Identity', [x]));
    b.output(b.op('If', [cond], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph } }));
    const run = (c: boolean) => nums([...execute(b.graph, { cond: bool(c), x: f32([1, 2]) }).values()][0]!);
    expect(run(true)).toEqual([2, 4]);
    expect(run(false)).toEqual([1, 2]);
  });
});

/** A Loop whose body adds the iteration number to a carried sum and emits it as a scan output. */
function sumLoop(withCond: boolean) {
  const b = new GraphBuilder('main');
  const m = b.input('M', 'int64', []);
  const cond = withCond ? b.input('cond', 'bool', []) : undefined;
  const init = b.input('init', 'int64', []);
  const body = b.subgraph('body');
  const iter = body.input('i', 'int64', []);
  body.input('c', 'bool', []);
  const acc = body.input('acc', 'int64', []);
  const next = body.op('Add', [acc, iter]);
  // Stop once the sum reaches 3 (only matters when the loop has a cond input).
  const keep = body.op('Less', [next, body.constant('three', i64([3], []))]);
  body.output(keep, next, body.op('Identity', [next]));
  const loop = b.node('Loop', [m, cond, init], { attrs: { body: body.graph }, outputs: 2 });
  b.output(...loop.outputs);
  return b.graph;
}

describe('Loop', () => {
  it('runs M iterations with loop-carried values and stacked scan outputs', () => {
    const out = [...execute(sumLoop(false), { M: i64([4], []), init: i64([10], []) }).values()];
    expect(nums(out[0]!)).toEqual([16]);
    expect(out[1]!.shape).toEqual([4]);
    expect(nums(out[1]!)).toEqual([10, 11, 13, 16]);
  });
  it('stops when the body condition turns false', () => {
    const out = [...execute(sumLoop(true), { M: i64([10], []), cond: bool(true), init: i64([0], []) }).values()];
    // sums 0, 1, 3: the third iteration yields 3 and cond false.
    expect(nums(out[1]!)).toEqual([0, 1, 3]);
    const none = [...execute(sumLoop(true), { M: i64([10], []), cond: bool(false), init: i64([5], []) }).values()];
    expect(nums(none[0]!)).toEqual([5]);
    expect(none[1]!.shape).toEqual([0]);
  });
});

describe('Scan', () => {
  it('accumulates over rows forward and writes reversed outputs', () => {
    const b = new GraphBuilder('main');
    const init = b.input('init', 'float32', [2]);
    const xs = b.input('xs', 'float32', [3, 2]);
    const body = b.subgraph('body');
    const s = body.input('s', 'float32', [2]);
    const row = body.input('row', 'float32', [2]);
    const sum = body.op('Add', [s, row]);
    body.output(sum, body.op('Identity', [sum]));
    const node = b.node('Scan', [init, xs], {
      attrs: { body: body.graph, num_scan_inputs: 1, scan_output_directions: [1] },
      outputs: 2,
    });
    b.output(...node.outputs);
    const [last, all] = [...execute(b.graph, { init: f32([0, 0]), xs: f32([1, 2, 3, 4, 5, 6], [3, 2]) }).values()];
    expect(nums(last!)).toEqual([9, 12]);
    expect(nums(all!)).toEqual([9, 12, 4, 6, 1, 2]);
  });
});

describe('sequences and optionals', () => {
  const runValues = (build: (b: GraphBuilder) => void, inputs: Record<string, RuntimeValue> = {}) => {
    const b = new GraphBuilder('main');
    build(b);
    return [...executeValues(b.graph, inputs).values()];
  };

  it('constructs, inserts, erases, indexes and measures sequences', () => {
    const out = runValues((b) => {
      const a = b.input('a', 'float32', [1]);
      const c = b.input('c', 'float32', [1]);
      const seq = b.op('SequenceConstruct', [a, c]);
      const ins = b.op('SequenceInsert', [seq, b.constant('z', f32([9])), b.constant('p', i64([-1], []))]);
      const erased = b.op('SequenceErase', [ins, b.constant('e', i64([0], []))]);
      b.output(ins, erased, b.op('SequenceLength', [erased]), b.op('SequenceAt', [ins, b.constant('q', i64([-2], []))]));
    }, { a: f32([1]), c: f32([2]) });
    expect((out[0] as Tensor[]).map(nums)).toEqual([[1], [9], [2]]);
    expect((out[1] as Tensor[]).map(nums)).toEqual([[9], [2]]);
    expect(nums(out[2] as Tensor)).toEqual([2]);
    expect(nums(out[3] as Tensor)).toEqual([9]);
  });

  it('splits to and concatenates from sequences', () => {
    const out = runValues((b) => {
      const x = b.input('x', 'float32', [3, 2]);
      const parts = b.op('SplitToSequence', [x, b.constant('s', i64([2], []))]);
      const rows = b.op('SplitToSequence', [x], { attrs: { keepdims: 0 } });
      b.output(parts, rows, b.op('ConcatFromSequence', [rows], { attrs: { axis: 1, new_axis: 1 } }));
    }, { x: f32([1, 2, 3, 4, 5, 6], [3, 2]) });
    expect((out[0] as Tensor[]).map((t) => t.shape)).toEqual([[2, 2], [1, 2]]);
    expect((out[1] as Tensor[]).map((t) => t.shape)).toEqual([[2], [2], [2]]);
    const stacked = out[2] as Tensor;
    expect(stacked.shape).toEqual([2, 3]);
    expect(nums(stacked)).toEqual([1, 3, 5, 2, 4, 6]);
  });

  it('wraps and unwraps optionals', () => {
    const out = runValues((b) => {
      const x = b.input('x', 'float32', [1]);
      const some = b.op('Optional', [x]);
      b.output(b.op('OptionalHasElement', [some]), b.op('OptionalGetElement', [some]), b.op('OptionalHasElement', [undefined]));
    }, { x: f32([4]) });
    expect(nums(out[0] as Tensor)).toEqual([1]);
    expect(nums(out[1] as Tensor)).toEqual([4]);
    expect(nums(out[2] as Tensor)).toEqual([0]);
  });

  it('fails on an out-of-range position', () => {
    expect(() =>
      runValues((b) => {
        const seq = b.op('SequenceEmpty', [], { attrs: { dtype: 'float32' } });
        b.output(b.op('SequenceAt', [seq, b.constant('p', i64([0], []))]));
      }),
    ).toThrow(SparsecError);
  });
});
