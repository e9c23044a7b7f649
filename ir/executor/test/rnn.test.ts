import { describe, expect, it } from 'vitest';
import { floatAttr } from '../../builder.js';
import { Tensor } from '../../tensor.js';
import { codeOf, f32, nums, runOp, typed } from './helpers.js';
import { inferOne } from './infer-helper.js';

const i32 = (values: number[]) => new Tensor('int32', [values.length], Int32Array.from(values));

function expectClose(actual: Tensor, expected: number[], digits = 6): void {
  expect(actual.size).toBe(expected.length);
  nums(actual).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, digits));
}

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

/** Reorder [a, b, rest] to [b, a, rest]. */
function swap01(t: Tensor): Tensor {
  const [a, b, ...rest] = t.shape;
  const inner = rest.reduce((x, y) => x * y, 1);
  const src = nums(t);
  const out: number[] = new Array<number>(src.length);
  for (let i = 0; i < a!; i++) for (let j = 0; j < b!; j++) for (let k = 0; k < inner; k++) out[(j * a! + i) * inner + k] = src[(i * b! + j) * inner + k]!;
  return f32(out, [b!, a!, ...rest]);
}

describe('RNN', () => {
  it('follows H_t = tanh(x W^T + H R^T + Wb + Rb) step by step', () => {
    // hidden 1, input 1: h1 = tanh(0.5 * 1 + 0.1 + 0.2), h2 = tanh(0.5 * -1 + 2 * h1 + 0.3).
    const x = f32([1, -1], [2, 1, 1]);
    const [y, yh] = runOp('RNN', [x, f32([0.5], [1, 1, 1]), f32([2], [1, 1, 1]), f32([0.1, 0.2], [1, 2])], { hidden_size: 1 }, 2);
    const h1 = Math.tanh(0.8);
    const h2 = Math.tanh(-0.5 + 2 * h1 + 0.3);
    expect(y!.shape).toEqual([2, 1, 1, 1]);
    expectClose(y!, [h1, h2]);
    expect(yh!.shape).toEqual([1, 1, 1]);
    expectClose(yh!, [h2]);
  });

  it('consumes activation_alpha/beta in order by the functions that take them', () => {
    // HardSigmoid(x) = clamp(0.25 x + 0.4, 0, 1), with x = W x_t + R h (values checked in onnxruntime).
    const [y, yh] = runOp(
      'RNN',
      [f32([1, -2], [2, 1, 1]), f32([0.5, -1], [1, 2, 1]), f32([0.3, 0.1, -0.2, 0.4], [1, 2, 2])],
      { hidden_size: 2, activations: ['HardSigmoid'], activation_alpha: [0.25], activation_beta: [0.4] },
      2,
    );
    expectClose(y!, [0.525, 0.15, 0.193125, 0.88875]);
    expectClose(yh!, [0.193125, 0.88875]);
  });

  it('sequence_lens: zeros past a row\'s length; a reverse pass ends at step 0', () => {
    const x = f32([1, 2, 3, 4, 5, 6], [3, 2, 1]);
    const w = f32([1], [1, 1, 1]);
    const r = f32([0], [1, 1, 1]);
    const acts = { hidden_size: 1, activations: ['Relu'] };
    // Relu with R = 0 copies x, so Y shows exactly which steps ran.
    const [y, yh] = runOp('RNN', [x, w, r, undefined, i32([3, 1])], acts, 2);
    expect(nums(y!)).toEqual([1, 2, 3, 0, 5, 0]);
    expect(nums(yh!)).toEqual([5, 2]);
    const [yr, yhr] = runOp('RNN', [x, w, r, undefined, i32([3, 1])], { ...acts, direction: 'reverse' }, 2);
    expect(nums(yr!)).toEqual([1, 2, 3, 0, 5, 0]);
    expect(nums(yhr!)).toEqual([1, 2]);
  });
});

describe('GRU', () => {
  it('linear_before_reset, reverse, clip, sequence_lens and initial_h (values from onnxruntime)', () => {
    const [y, yh] = runOp(
      'GRU',
      [
        f32([0.5, -1, 1, 0.25, -0.5, 2], [3, 2, 1]),
        f32([0.3, -0.2, 0.5, 0.4, 0.8, -0.6], [1, 6, 1]),
        f32([0.1, 0.2, -0.3, 0.4, 0.5, -0.1, 0.2, 0.3, -0.4, 0.6, 0.7, -0.2], [1, 6, 2]),
        f32([0.1, 0, -0.1, 0.2, 0, 0.05, 0.3, -0.2, 0.1, 0, 0.15, -0.05], [1, 12]),
        i32([3, 2]),
        f32([0.2, -0.1, 0.4, 0.3], [1, 2, 2]),
      ],
      { hidden_size: 2, direction: 'reverse', linear_before_reset: 1, clip: 0.5 },
      2,
    );
    expect(y!.shape).toEqual([3, 1, 2, 2]);
    expectClose(y!, [0.2270421, -0.1959023, -0.01874964, 0.3024462, 0.1419943, -0.1973915, 0.3580835, 0.1339416, -0.05217005, 0.1663689, 0, 0]);
    expectClose(yh!, [0.2270421, -0.1959023, -0.01874964, 0.3024462]);
  });

  it('without linear_before_reset the reset gate scales H before R', () => {
    // hidden 1, zero input weights: z = r = sigmoid(R h), h~ = tanh(Rh * r * h); H' = (1 - z) h~ + z h.
    const h0 = 0.8;
    const rz = 0.5;
    const rr = -1;
    const rh = 2;
    const [, yh] = runOp('GRU', [f32([0], [1, 1, 1]), f32([0, 0, 0], [1, 3, 1]), f32([rz, rr, rh], [1, 3, 1]), undefined, undefined, f32([h0], [1, 1, 1])], { hidden_size: 1 }, 2);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const z = sig(rz * h0);
    const r = sig(rr * h0);
    expectClose(yh!, [(1 - z) * Math.tanh(rh * r * h0) + z * h0]);
  });
});

describe('LSTM', () => {
  const lstmInputs = () => [
    f32([1, -0.5], [2, 1, 1]),
    f32([0.5, -0.3, 0.8, 0.2, -0.4, 0.6, 0.1, 0.9], [2, 4, 1]),
    f32([0.2, -0.1, 0.3, 0.4, 0.1, 0.2, -0.3, 0.5], [2, 4, 1]),
    f32([0.1, 0.2, -0.1, 0.3, 0, 0.1, 0.2, -0.2, -0.2, 0.1, 0, 0.3, 0.1, 0, -0.1, 0.2], [2, 8]),
    undefined,
    f32([0.3, -0.2], [2, 1, 1]),
    f32([0.5, 0.4], [2, 1, 1]),
    f32([0.2, -0.3, 0.4, 0.5, 0.1, -0.2], [2, 3]),
  ];

  it('bidirectional with peepholes, input_forget and clip (values from onnxruntime)', () => {
    const [y, yh, yc] = runOp('LSTM', lstmInputs(), { hidden_size: 1, direction: 'bidirectional', input_forget: 1, clip: floatAttr(1.5) }, 3);
    expect(y!.shape).toEqual([2, 2, 1, 1]);
    expectClose(y!, [0.1865026, 0.2816032, 0.1464508, 0.06335528]);
    expectClose(yh!, [0.1464508, 0.2816032]);
    expectClose(yc!, [0.2544936, 0.4401119]);
  });

  it('layout 1 is layout 0 with batch and sequence (or direction) axes swapped', () => {
    const [seq, batch, inSize, hidden] = [3, 2, 2, 3];
    const x = f32(values(seq * batch * inSize, 1), [seq, batch, inSize]);
    const w = f32(values(2 * 4 * hidden * inSize, 2), [2, 4 * hidden, inSize]);
    const r = f32(values(2 * 4 * hidden * hidden, 3), [2, 4 * hidden, hidden]);
    const b = f32(values(2 * 8 * hidden, 4), [2, 8 * hidden]);
    const h0 = f32(values(2 * batch * hidden, 5), [2, batch, hidden]);
    const c0 = f32(values(2 * batch * hidden, 6), [2, batch, hidden]);
    const p = f32(values(2 * 3 * hidden, 7), [2, 3 * hidden]);
    const lens = i32([2, 3]);
    const attrs = { hidden_size: hidden, direction: 'bidirectional' };
    const [y0, yh0, yc0] = runOp('LSTM', [x, w, r, b, lens, h0, c0, p], attrs, 3);
    const [y1, yh1, yc1] = runOp('LSTM', [swap01(x), w, r, b, lens, swap01(h0), swap01(c0), p], { ...attrs, layout: 1 }, 3);
    expect(y1!.shape).toEqual([batch, seq, 2, hidden]);
    // Y [seq, dirs, batch, H] -> [batch, seq, dirs, H]: swap batch with the (seq, dirs) block.
    const yFlat = swap01(y0!.reshape([seq * 2, batch, hidden]));
    expect(nums(y1!)).toEqual(nums(yFlat));
    expect(yh1!.shape).toEqual([batch, 2, hidden]);
    expect(nums(yh1!)).toEqual(nums(swap01(yh0!)));
    expect(nums(yc1!)).toEqual(nums(swap01(yc0!)));
  });

  it('keeps float64 and float16', () => {
    const inputs = lstmInputs().map((t) => (t ? typed('float64', nums(t), [...t.shape]) : undefined));
    const [, yh] = runOp('LSTM', inputs, { hidden_size: 1, direction: 'bidirectional', input_forget: 1, clip: floatAttr(1.5) }, 3);
    expect(yh!.dtype).toBe('float64');
    expectClose(yh!, [0.1464508, 0.2816032]);
    const half = lstmInputs().map((t) => (t ? typed('float16', nums(t), [...t.shape]) : undefined));
    const [, yhh] = runOp('LSTM', half, { hidden_size: 1, direction: 'bidirectional' }, 3);
    expect(yhh!.dtype).toBe('float16');
  });
});

describe('recurrent op validation and inference', () => {
  const x = f32([1, 2], [2, 1, 1]);
  const w = f32([1], [1, 1, 1]);
  const r = f32([1], [1, 1, 1]);

  it('rejects unknown activations, bad attributes and inconsistent inputs', () => {
    const t = { dtype: 'float32' as const, shape: [2, 1, 1] };
    expect(codeOf(() => inferOne('RNN', [t, t, t], { hidden_size: 1, activations: ['Gelu'] }, 2))).toBe('UNSUPPORTED_OP');
    expect(codeOf(() => inferOne('GRU', [t, t, t], { hidden_size: 1, direction: 'sideways' }, 2))).toBe('BAD_ATTRIBUTE');
    expect(codeOf(() => inferOne('GRU', [t, t, t], { hidden_size: 1, direction: 'bidirectional', activations: ['Sigmoid', 'Tanh'] }, 2))).toBe('BAD_ATTRIBUTE');
    expect(codeOf(() => inferOne('LSTM', [t, t, t], { hidden_size: 1, layout: 2 }, 3))).toBe('BAD_ATTRIBUTE');
    expect(codeOf(() => runOp('RNN', [x, f32([1, 1], [1, 1, 2]), r], { hidden_size: 1 }, 2))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => runOp('RNN', [x, w, r, undefined, i32([3])], { hidden_size: 1 }, 2))).toBe('BAD_INPUT');
    expect(codeOf(() => runOp('RNN', [x, w, typed('float64', [1], [1, 1, 1])], { hidden_size: 1 }, 2))).toBe('TYPE_MISMATCH');
  });

  it('infers Y, Y_h and Y_c in both layouts, with symbolic dims', () => {
    const xs = { dtype: 'float32' as const, shape: ['seq', 'batch', 8] };
    const [y, yh, yc] = inferOne('LSTM', [xs, undefined, undefined], { hidden_size: 4, direction: 'bidirectional' }, 3);
    expect(y).toEqual({ dtype: 'float32', shape: ['seq', 2, 'batch', 4] });
    expect(yh).toEqual({ dtype: 'float32', shape: [2, 'batch', 4] });
    expect(yc).toEqual(yh);
    const bf = inferOne('GRU', [{ dtype: 'float16', shape: ['batch', 'seq', 8] }, undefined, { dtype: 'float16', shape: [1, 15, 5] }], { layout: 1 }, 2);
    expect(bf).toEqual([
      { dtype: 'float16', shape: ['batch', 'seq', 1, 5] },
      { dtype: 'float16', shape: ['batch', 1, 5] },
    ]);
  });
});
