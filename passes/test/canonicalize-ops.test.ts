import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import type { Value } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { canonicalizeAndCompare, scalarF32 } from './canonicalize-helpers.js';
import { seeded } from './helpers.js';

type GeluForm = 'torch-erf' | 'hf-erf' | 'mul-erf' | 'hf-tanh' | 'torch-tanh' | 'wrong-half';

function decomposedGelu(form: GeluForm) {
  const b = new GraphBuilder('main');
  const x = b.op('Add', [b.input('x', 'float32', [4, 6]), b.input('x2', 'float32', [4, 6])]);
  const c = (name: string, v: number) => scalarF32(b, name, v);
  let y: Value;
  switch (form) {
    case 'torch-erf': {
      const erf = b.op('Erf', [b.op('Div', [x, c('sqrt2', Math.SQRT2)])]);
      y = b.op('Mul', [b.op('Mul', [x, b.op('Add', [erf, c('one', 1)])]), c('half', 0.5)]);
      break;
    }
    case 'hf-erf':
    case 'wrong-half': {
      const erf = b.op('Erf', [b.op('Div', [x, c('sqrt2', Math.SQRT2)])]);
      y = b.op('Mul', [b.op('Mul', [x, c('half', form === 'hf-erf' ? 0.5 : 0.4)]), b.op('Add', [c('one', 1), erf])]);
      break;
    }
    case 'mul-erf': {
      const erf = b.op('Erf', [b.op('Mul', [c('rsqrt2', Math.SQRT1_2), x])]);
      y = b.op('Mul', [c('half', 0.5), b.op('Mul', [x, b.op('Add', [erf, c('one', 1)])])]);
      break;
    }
    case 'hf-tanh': {
      // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
      const cube = b.op('Pow', [x, c('three', 3)]);
      const inner = b.op('Mul', [c('k', Math.sqrt(2 / Math.PI)), b.op('Add', [x, b.op('Mul', [c('kappa', 0.044715), cube])])]);
      y = b.op('Mul', [b.op('Mul', [c('half', 0.5), x]), b.op('Add', [c('one', 1), b.op('Tanh', [inner])])]);
      break;
    }
    case 'torch-tanh': {
      const cube = b.op('Mul', [x, b.op('Mul', [x, x])]);
      const inner = b.op('Mul', [c('k', Math.sqrt(2 / Math.PI)), b.op('Add', [x, b.op('Mul', [c('kappa', 0.044715), cube])])]);
      y = b.op('Mul', [c('half', 0.5), b.op('Mul', [x, b.op('Add', [c('one', 1), b.op('Tanh', [inner])])])]);
      break;
    }
  }
  b.output(y);
  return b.graph;
}

describe('canonicalize: Gelu', () => {
  const inputs = () => ({ x: seeded([4, 6], 1, 3), x2: seeded([4, 6], 2, 1) });
  for (const form of ['torch-erf', 'hf-erf', 'mul-erf'] as const) {
    it(`recognizes the ${form} form`, () => {
      const g = decomposedGelu(form);
      expect(canonicalizeAndCompare(g, inputs())).toEqual({ Add: 1, Gelu: 1 });
      expect(g.nodes[1]!.attrString('approximate', 'none')).toBe('none');
    });
  }
  for (const form of ['hf-tanh', 'torch-tanh'] as const) {
    it(`recognizes the ${form} form`, () => {
      const g = decomposedGelu(form);
      expect(canonicalizeAndCompare(g, inputs())).toEqual({ Add: 1, Gelu: 1 });
      expect(g.nodes[1]!.attrString('approximate')).toBe('tanh');
    });
  }
  it('leaves other constants alone', () => {
    expect(canonicalizeAndCompare(decomposedGelu('wrong-half'), inputs()).Gelu).toBeUndefined();
  });
});

describe('canonicalize: Linear', () => {
  it('turns MatMul + Add(bias) into Linear, bias on either side', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3, 8]);
    const h = b.op('Add', [b.constant('b1', seeded([1, 4], 2)), b.op('MatMul', [x, b.constant('w1', seeded([8, 4], 1))])]);
    b.output(b.op('Add', [b.op('MatMul', [h, b.constant('w2', seeded([4, 5], 3))]), b.constant('b2', seeded([5], 4))]));
    const g = b.graph;
    expect(canonicalizeAndCompare(g, { x: seeded([2, 3, 8], 9) })).toEqual({ Linear: 2 });
    expect(g.nodes.map((n) => n.inputs.length)).toEqual([3, 3]);
    expect(g.nodes[0]!.inputs[2]!.const!.shape).toEqual([4]);
  });

  it('turns MatMul with a constant weight into Linear without bias; keeps activation products', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [3, 8]);
    const y = b.input('y', 'float32', [8, 3]);
    const lin = b.op('MatMul', [x, b.constant('w', seeded([8, 6], 1))]);
    const notConst = b.op('Add', [b.op('MatMul', [x, y]), b.constant('bias', seeded([3], 2))]);
    b.output(b.op('Relu', [lin]), notConst);
    const h = canonicalizeAndCompare(b.graph, { x: seeded([3, 8], 5), y: seeded([8, 3], 6) });
    expect(h).toEqual({ Linear: 1, Relu: 1, MatMul: 1, Add: 1 });
  });

  it('does not fold a bias that broadcasts over rows', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [3, 8]);
    b.output(b.op('Add', [b.op('MatMul', [x, b.constant('w', seeded([8, 4], 1))]), b.constant('b', seeded([3, 1], 2))]));
    expect(canonicalizeAndCompare(b.graph, { x: seeded([3, 8], 5) })).toEqual({ Linear: 1, Add: 1 });
  });

  it('turns Gemm with transB, alpha and beta into Linear with a transposed weight', () => {
    const b = new GraphBuilder('main');
    const a = b.input('a', 'float32', [4, 6]);
    const g1 = b.op('Gemm', [a, b.constant('B', seeded([5, 6], 1)), b.constant('C', seeded([5], 2))], {
      attrs: { transB: 1, alpha: 0.5, beta: 2.5 },
    });
    const g2 = b.op('Gemm', [g1, b.constant('B2', seeded([5, 3], 3))]);
    b.output(g2);
    const g = b.graph;
    expect(canonicalizeAndCompare(g, { a: seeded([4, 6], 7) })).toEqual({ Linear: 2 });
    expect(g.nodes[0]!.inputs[1]!.const!.shape).toEqual([6, 5]);
  });

  it('keeps Gemm with a transposed activation', () => {
    const b = new GraphBuilder('main');
    const a = b.input('a', 'float32', [6, 4]);
    b.output(b.op('Gemm', [a, b.constant('B', seeded([6, 5], 1))], { attrs: { transA: 1 } }));
    expect(canonicalizeAndCompare(b.graph, { a: seeded([6, 4], 7) })).toEqual({ Gemm: 1 });
  });
});

describe('canonicalize: no-op nodes', () => {
  it('removes Identity, inference Dropout and same-type Cast', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3]);
    const i1 = b.op('Identity', [b.op('Identity', [x])]);
    const drop = b.node('Dropout', [i1, b.constant('ratio', Tensor.float32([0.1], []))], { outputs: 2 }).outputs[0]!;
    const c = b.op('Cast', [drop], { attrs: { to: 'float32' } });
    b.output(b.op('Relu', [c]));
    expect(canonicalizeAndCompare(b.graph, { x: seeded([2, 3], 1) })).toEqual({ Relu: 1 });
  });

  it('keeps an Identity that carries a graph input to an output', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3]);
    b.output(b.op('Identity', [x]));
    expect(canonicalizeAndCompare(b.graph, { x: seeded([2, 3], 1) })).toEqual({ Identity: 1 });
  });

  it('keeps Dropout in training mode', () => {
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', [2, 3]);
    const t = b.constant('train', Tensor.scalar('bool', true));
    const d = b.node('Dropout', [x, b.constant('ratio', Tensor.float32([0], [])), t], { outputs: 1 }).outputs[0]!;
    b.output(b.op('Relu', [d]));
    expect(canonicalizeAndCompare(b.graph, { x: seeded([2, 3], 1) })).toEqual({ Dropout: 1, Relu: 1 });
  });
});

describe('canonicalize: Softmax upgrade form', () => {
  function coerced(op: 'Softmax' | 'LogSoftmax', flattenAxis: number, viaShape: boolean) {
    const b = new GraphBuilder('main');
    const x = b.op('Relu', [b.input('x', 'float32', [2, 3, 5])]);
    const s = b.op(op, [b.op('Flatten', [x], { attrs: { axis: flattenAxis } })], { attrs: { axis: 1 } });
    const shape = viaShape ? b.op('Shape', [x]) : b.constant('shape', Tensor.int64([2, 3, 5]));
    b.output(b.op('Reshape', [s, shape]));
    return b.graph;
  }
  it('folds Flatten/Softmax/Reshape(Shape(x)) over the last axis into one Softmax', () => {
    const g = coerced('Softmax', 2, true);
    expect(canonicalizeAndCompare(g, { x: seeded([2, 3, 5], 4, 3) })).toEqual({ Relu: 1, Softmax: 1 });
    expect(g.nodes[1]!.attrInt('axis')).toBe(-1);
    expect(canonicalizeAndCompare(coerced('LogSoftmax', -1, false), { x: seeded([2, 3, 5], 4, 3) })).toEqual({ Relu: 1, LogSoftmax: 1 });
  });
  it('keeps the coercion when it spans several axes', () => {
    expect(canonicalizeAndCompare(coerced('Softmax', 1, true), { x: seeded([2, 3, 5], 4, 3) })).toEqual({
      Relu: 1,
      Flatten: 1,
      Softmax: 1,
      Shape: 1,
      Reshape: 1,
    });
  });
});
