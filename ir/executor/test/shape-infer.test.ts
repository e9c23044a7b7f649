import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../builder.js';
import { SparsecError } from '../../diagnostics.js';
import type { Shape } from '../../graph.js';
import type { TypeInfo } from '../../opdef.js';
import { inferTypes } from '../../infer.js';
import { Tensor } from '../../tensor.js';
import { f32, i64, nums } from './helpers.js';
import { constInfo as c, inferOne as infer } from './infer-helper.js';

const t = (dtype: Tensor['dtype'], shape?: Shape): TypeInfo => ({ dtype, shape });

describe('symbolic shape inference', () => {
  it('solves Reshape -1 and 0 against symbolic dims', () => {
    expect(infer('Reshape', [t('float32', ['batch', 4, 8]), c(i64([0, -1]))])[0]!.shape).toEqual(['batch', 32]);
    expect(infer('Reshape', [t('float32', ['batch', 'seq', 64]), c(i64([-1, 64]))])[0]!.shape).toEqual(['d0', 64]);
    expect(infer('Reshape', [t('float32', ['batch', 'seq', 64]), c(i64([0, 0, 8, -1]))])[0]!.shape).toEqual(['batch', 'seq', 8, 8]);
    expect(infer('Reshape', [t('float32', [2, 'n']), c(i64([-1]))])[0]!.shape).toEqual(['d0']);
    expect(infer('Reshape', [t('float32', [2, 3]), t('int64', [3])])[0]!.shape).toEqual(['d0', 'd1', 'd2']);
  });
  it('reports an impossible static Reshape', () => {
    expect(() => infer('Reshape', [t('float32', [2, 3]), c(i64([4, -2]))])).toThrow(SparsecError);
    expect(() => infer('Reshape', [t('float32', [2, 3]), c(i64([4, 2]))])).toThrow(/cannot reshape/);
  });
  it('permutes symbols in Transpose and keeps them through Squeeze/Unsqueeze', () => {
    expect(infer('Transpose', [t('float32', ['b', 3, 's'])], { perm: [2, 0, 1] })[0]!.shape).toEqual(['s', 'b', 3]);
    expect(infer('Unsqueeze', [t('float32', ['b', 's']), c(i64([1, -1]))])[0]!.shape).toEqual(['b', 1, 's', 1]);
    expect(infer('Squeeze', [t('float32', ['b', 1, 's']), c(i64([1]))])[0]!.shape).toEqual(['b', 's']);
    expect(infer('Flatten', [t('float32', ['b', 3, 4])])[0]!.shape).toEqual(['b', 12]);
  });
  it('sums Concat dims when numeric and makes a fresh dim otherwise', () => {
    expect(infer('Concat', [t('float32', ['b', 2]), t('float32', [1, 3])], { axis: 1 })[0]!.shape).toEqual([1, 5]);
    expect(infer('Concat', [t('float32', ['b', 2]), t('float32', ['b', 2])], { axis: 0 })[0]!.shape).toEqual(['d0', 2]);
  });
  it('infers Slice, Gather, Pad, Expand, Split and TopK shapes', () => {
    const x = t('float32', ['b', 10]);
    expect(infer('Slice', [x, c(i64([1])), c(i64([-1])), c(i64([1]))])[0]!.shape).toEqual(['b', 8]);
    expect(infer('Slice', [x, c(i64([0])), c(i64([2n ** 63n - 1n])), c(i64([0]))])[0]!.shape).toEqual(['b', 10]);
    expect(infer('Slice', [x, c(i64([1])), c(i64([3])), c(i64([0]))])[0]!.shape).toEqual(['d0', 10]);
    expect(infer('Slice', [x, c(i64([-1])), c(i64([-(2n ** 63n)])), c(i64([0])), c(i64([-1]))])[0]!.shape).toEqual(['b', 10]);
    expect(infer('Gather', [x, t('int64', ['n', 2])], { axis: 1 })[0]!.shape).toEqual(['b', 'n', 2]);
    expect(infer('Pad', [x, c(i64([0, 1, 0, 2]))])[0]!.shape).toEqual(['b', 13]);
    expect(infer('Expand', [t('float32', [1, 3]), c(i64([4, 1]))])[0]!.shape).toEqual([4, 3]);
    expect(infer('Split', [x, c(i64([3, 7]))], { axis: 1 }, 2).map((o) => o.shape)).toEqual([['b', 3], ['b', 7]]);
    expect(infer('TopK', [x, c(i64([2]))], {}, 2).map((o) => [o.dtype, o.shape])).toEqual([['float32', ['b', 2]], ['int64', ['b', 2]]]);
    expect(infer('NonZero', [x])[0]!.shape).toEqual([2, 'd0']);
  });
  it('gives Shape a value only for static dims', () => {
    expect(infer('Shape', [t('float32', ['batch', 64])])[0]).toEqual({ dtype: 'int64', shape: [2], value: undefined });
    const s = infer('Shape', [t('float32', ['batch', 64])], { start: 1 })[0]!;
    expect(nums(s.value!)).toEqual([64]);
    expect(nums(infer('Size', [t('float32', [3, 4])])[0]!.value!)).toEqual([12]);
  });
  it('folds small constant chains: Concat, Gather, Slice, Unsqueeze, ConstantOfShape', () => {
    expect(nums(infer('Concat', [c(i64([1, 2])), c(i64([-1]))], { axis: 0 })[0]!.value!)).toEqual([1, 2, -1]);
    expect(nums(infer('Gather', [c(i64([5, 6, 7])), c(i64([2], []))])[0]!.value!)).toEqual([7]);
    expect(nums(infer('Slice', [c(i64([5, 6, 7])), c(i64([1])), c(i64([3]))])[0]!.value!)).toEqual([6, 7]);
    expect(infer('Unsqueeze', [c(i64([4], [])), c(i64([0]))])[0]!.value!.shape).toEqual([1]);
    expect(infer('ConstantOfShape', [c(i64([2, 3]))])[0]!.shape).toEqual([2, 3]);
  });
  it('does not fold large constants', () => {
    const big = Tensor.float32(new Float32Array(100));
    expect(infer('Reshape', [c(big), c(i64([10, 10]))])[0]!.value).toBeUndefined();
  });
  it('refuses Dropout in training mode before running', () => {
    expect(() => infer('Dropout', [t('float32', [2]), c(f32([0.5], [])), c(new Tensor('bool', [], Uint8Array.of(1)))], {}, 2)).toThrow(
      /training/,
    );
  });
});

describe('inferTypes over a PyTorch-style shape chain', () => {
  it('folds Shape -> Gather -> Unsqueeze -> Concat into a static Reshape', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3, 4]);
    const shape = b.op('Shape', [x]);
    const n = b.op('Gather', [shape, b.constant('zero', i64([0], []))]);
    const n1 = b.op('Unsqueeze', [n, b.constant('ax', i64([0]))]);
    const target = b.op('Concat', [n1, b.constant('rest', i64([-1]))], { attrs: { axis: 0 } });
    const y = b.op('Reshape', [x, target]);
    b.output(y);
    inferTypes(b.graph);
    expect(y.shape).toEqual([2, 12]);
  });
  it('keeps symbolic dims through the same chain with a symbolic batch', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['batch', 3, 4]);
    const y = b.op('Reshape', [x, b.constant('s', i64([0, -1]))]);
    const z = b.op('Transpose', [y], { attrs: { perm: [1, 0] } });
    b.output(z);
    inferTypes(b.graph);
    expect(y.shape).toEqual(['batch', 12]);
    expect(z.shape).toEqual([12, 'batch']);
  });
});

describe('control-flow inference (best effort)', () => {
  it('joins the branch types of If: equal dims kept, differing dims fresh', () => {
    const b = new GraphBuilder('main');
    const cond = b.input('cond', 'bool', []);
    const x = b.input('x', 'float32', ['n', 4]);
    const thenB = b.subgraph('then');
    thenB.output(thenB.op('Identity', [x]));
    const elseB = b.subgraph('else');
    elseB.output(elseB.op('Slice', [x, elseB.constant('s', i64([0])), elseB.constant('e', i64([2])), elseB.constant('a', i64([1]))]));
    const y = b.op('If', [cond], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph } });
    b.output(y);
    inferTypes(b.graph);
    expect(y.dtype).toBe('float32');
    expect(y.shape?.[0]).toBe('n');
    expect(typeof y.shape?.[1]).toBe('string');
  });
});
