import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import type { DType } from '../../ir/dtype.js';
import type { Value } from '../../ir/graph.js';
import { axes, canonicalizeAndCompare, cast, scalarF32, toFloat16 } from './canonicalize-helpers.js';
import { seeded } from './helpers.js';

interface LnVariant {
  square?: 'pow' | 'mul';
  divide?: 'div' | 'reciprocal';
  affine?: boolean;
  casts?: boolean;
  dtype?: DType;
  varianceAxis?: number;
}

/** LayerNorm over the last axis as torch.onnx writes it at opset < 17. */
function decomposedLayerNorm(v: LnVariant = {}) {
  const b = new GraphBuilder('main');
  const dtype = v.dtype ?? 'float32';
  const x = b.input('x', dtype, [2, 5, 8]);
  const xf = v.casts ? cast(b, x, 'float32') : x;
  const mean = b.op('ReduceMean', [xf, axes(b, 'ax1', [-1])]);
  const d = b.op('Sub', [xf, mean]);
  const sq = v.square === 'mul' ? b.op('Mul', [d, d]) : b.op('Pow', [d, scalarF32(b, 'two', 2)]);
  const variance = b.op('ReduceMean', [sq, axes(b, 'ax2', [v.varianceAxis ?? 2])]);
  const std = b.op('Sqrt', [b.op('Add', [variance, scalarF32(b, 'eps', 1e-5)])]);
  let y: Value = v.divide === 'reciprocal' ? b.op('Mul', [b.op('Reciprocal', [std]), d]) : b.op('Div', [d, std]);
  if (v.casts) y = cast(b, y, dtype);
  if (v.affine !== false) {
    const conv = (t: ReturnType<typeof seeded>) => (dtype === 'float16' ? toFloat16(t) : t);
    y = b.op('Mul', [y, b.constant('gamma', conv(seeded([8], 11)))]);
    y = b.op('Add', [b.constant('beta', conv(seeded([8], 12))), y]);
  }
  b.output(y);
  return b.graph;
}

const x32 = () => ({ x: seeded([2, 5, 8], 3, 2) });

describe('canonicalize: LayerNorm', () => {
  it('recognizes the exporter form with scale and bias', () => {
    const h = canonicalizeAndCompare(decomposedLayerNorm(), x32());
    expect(h).toEqual({ LayerNormalization: 1 });
  });

  it('recognizes Mul(d, d), Reciprocal and the form without affine parameters', () => {
    const g = decomposedLayerNorm({ square: 'mul', divide: 'reciprocal', affine: false });
    expect(canonicalizeAndCompare(g, x32())).toEqual({ LayerNormalization: 1 });
    const ln = g.nodes[0]!;
    expect(ln.attrInt('axis')).toBe(-1);
    expect(ln.attrFloat('epsilon')).toBeCloseTo(1e-5, 9);
    expect(ln.inputs[1]!.const!.toNumbers()).toEqual(new Array(8).fill(1));
  });

  it('absorbs no-op float casts', () => {
    expect(canonicalizeAndCompare(decomposedLayerNorm({ casts: true }), x32())).toEqual({ LayerNormalization: 1 });
  });

  it('turns the half-precision form with real casts into stash_type=1 LayerNormalization', () => {
    const g = decomposedLayerNorm({ casts: true, dtype: 'float16' });
    const h = canonicalizeAndCompare(g, { x: toFloat16(seeded([2, 5, 8], 3, 2)) }, 2e-3);
    expect(h).toEqual({ LayerNormalization: 1 });
    expect(g.nodes[0]!.inputs[0]).toBe(g.inputs[0]);
  });

  it('leaves statistics over different axes alone', () => {
    const h = canonicalizeAndCompare(decomposedLayerNorm({ varianceAxis: 1 }), x32());
    expect(h.LayerNormalization).toBeUndefined();
    expect(h.ReduceMean).toBe(2);
  });
});

interface RmsVariant {
  square?: 'pow' | 'mul';
  divide?: 'div' | 'reciprocal' | 'div1';
  weight?: boolean;
  casts?: boolean;
  dtype?: DType;
}

/** RMSNorm as T5/Llama code exports it: weight * (x.float() * rsqrt(mean(x^2) + eps)).to(dtype). */
function decomposedRmsNorm(v: RmsVariant = {}) {
  const b = new GraphBuilder('main');
  const dtype = v.dtype ?? 'float32';
  const x = b.input('x', dtype, [3, 16]);
  const xf = v.casts ? cast(b, x, 'float32') : x;
  const sq = v.square === 'mul' ? b.op('Mul', [xf, xf]) : b.op('Pow', [xf, scalarF32(b, 'two', 2)]);
  const ms = b.op('ReduceMean', [sq, axes(b, 'ax', [-1])]);
  const rms = b.op('Sqrt', [b.op('Add', [scalarF32(b, 'eps', 1e-6), ms])]);
  let y: Value;
  if (v.divide === 'reciprocal') y = b.op('Mul', [xf, b.op('Reciprocal', [rms])]);
  else if (v.divide === 'div1') y = b.op('Mul', [xf, b.op('Div', [scalarF32(b, 'one', 1), rms])]);
  else y = b.op('Div', [xf, rms]);
  if (v.casts) y = cast(b, y, dtype);
  if (v.weight !== false) {
    const w = seeded([16], 21);
    y = b.op('Mul', [b.constant('weight', dtype === 'float16' ? toFloat16(w) : w), y]);
  }
  b.output(y);
  return b.graph;
}

describe('canonicalize: RMSNorm', () => {
  const inputs = () => ({ x: seeded([3, 16], 5, 3) });

  it('recognizes Pow/Div with a weight', () => {
    const g = decomposedRmsNorm();
    expect(canonicalizeAndCompare(g, inputs())).toEqual({ RMSNorm: 1 });
    expect(g.nodes[0]!.attrFloat('epsilon')).toBeCloseTo(1e-6, 10);
  });

  it('recognizes Mul(x, x) with Reciprocal, and without a weight', () => {
    expect(canonicalizeAndCompare(decomposedRmsNorm({ square: 'mul', divide: 'reciprocal', weight: false }), inputs())).toEqual({ RMSNorm: 1 });
  });

  it('recognizes the Llama form: float casts and rsqrt as Div(1, Sqrt)', () => {
    expect(canonicalizeAndCompare(decomposedRmsNorm({ casts: true, divide: 'div1' }), inputs())).toEqual({ RMSNorm: 1 });
  });

  it('keeps a real cast back to half precision around the RMSNorm', () => {
    const g = decomposedRmsNorm({ casts: true, divide: 'div1', dtype: 'float16' });
    const h = canonicalizeAndCompare(g, { x: toFloat16(seeded([3, 16], 5, 3)) }, 2e-3);
    expect(h).toEqual({ Cast: 2, RMSNorm: 1 });
  });
});
