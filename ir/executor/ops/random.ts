// Random generators: RandomUniform(Like), RandomNormal(Like), Bernoulli, Multinomial.
//
// The draws come from a seeded xoshiro128** generator created per run: the `seed` attribute
// when present, otherwise a fixed default. So a node gives the same tensor every time it runs,
// which keeps reference runs reproducible; nothing promises the values of onnxruntime's (or any
// other) generator, only the distribution, dtype and shape. These ops are in NonDeterministic,
// so no pass folds them into constants.

import type { DType } from '../../dtype.js';
import type { Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, Tensor } from '../../tensor.js';
import { floatData, fromFloats, unsupportedDtype } from '../numeric.js';
import { attrNumber, badAttribute, dtypeAttr, shapeMismatch } from '../util.js';

const DEFAULT_SEED = 0x5eed_1234;

/** xoshiro128** (Blackman and Vigna), seeded through splitmix32 so any 32-bit seed is usable. */
class Random {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
  }

  private nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** The generator for a node: its float `seed` attribute hashed to 32 bits, or the default. */
function generatorFor(node: Node): Random {
  const seed = node.attr('seed');
  if (!seed || (seed.kind !== 'float' && seed.kind !== 'int')) return new Random(DEFAULT_SEED);
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, seed.value);
  return new Random(bits.getUint32(0) ^ Math.imul(bits.getUint32(4), 0x27d4eb2d));
}

const FLOAT_OUT = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16']);

/** The output dtype: the dtype attribute, else the `like` input's dtype, else float32. */
function floatOutput(node: Node, like: DType | undefined): DType | undefined {
  const dt = dtypeAttr(node, 'dtype') ?? like ?? (node.inputs.length === 0 ? 'float32' : undefined);
  if (dt !== undefined && !FLOAT_OUT.has(dt)) unsupportedDtype(node, dt, 'output');
  return dt;
}

function shapeAttr(node: Node): number[] {
  const shape = node.attrInts('shape');
  if (!shape) badAttribute(node, `${node.opType} needs a shape attribute`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) badAttribute(node, `bad shape [${shape.join(',')}]`);
  return shape;
}

/** A node's distribution: reads its attributes once, then draws one value per call. */
type Draw = (node: Node) => (rng: Random) => number;

const uniformDraw: Draw = (node) => {
  const low = attrNumber(node, 'low', 0);
  const width = attrNumber(node, 'high', 1) - low;
  return (rng) => low + width * rng.uniform();
};
const normalDraw: Draw = (node) => {
  const mean = attrNumber(node, 'mean', 0);
  const scale = attrNumber(node, 'scale', 1);
  return (rng) => mean + scale * rng.normal();
};

function sample(node: Node, dtype: DType, shape: readonly number[], draw: Draw): Tensor {
  const rng = generatorFor(node);
  const next = draw(node);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = next(rng);
  return fromFloats(dtype, shape, out);
}

function fromShape(op: Op, draw: Draw): OpDef {
  return {
    op,
    infer: (node) => [{ dtype: floatOutput(node, undefined), shape: shapeAttr(node) }],
    run: (node) => [sample(node, floatOutput(node, undefined)!, shapeAttr(node), draw)],
  };
}

function like(op: Op, draw: Draw): OpDef {
  return {
    op,
    infer: (node, [x]: readonly (TypeInfo | undefined)[]) => [{ dtype: floatOutput(node, x?.dtype), shape: x?.shape }],
    run: (node, [x]) => [sample(node, floatOutput(node, x!.dtype)!, x!.shape, draw)],
  };
}

// ---- Bernoulli ----

const bernoulli: OpDef = {
  op: Op.Bernoulli,
  infer(node, [x]) {
    if (x?.dtype && !FLOAT_OUT.has(x.dtype)) unsupportedDtype(node, x.dtype);
    const dt = dtypeAttr(node, 'dtype') ?? x?.dtype;
    if (dt === 'string' || dt?.startsWith('complex')) unsupportedDtype(node, dt, 'output');
    return [{ dtype: dt, shape: x?.shape }];
  },
  run(node, [x]) {
    const p = floatData(x!);
    const rng = generatorFor(node);
    const dt = dtypeAttr(node, 'dtype') ?? x!.dtype;
    const out = Tensor.zeros(dt, x!.shape);
    for (let i = 0; i < p.length; i++) out.set(i, rng.uniform() < p[i]! ? 1 : 0);
    return [out];
  },
};

// ---- Multinomial ----

const multinomial: OpDef = {
  op: Op.Multinomial,
  infer(node, [x], ctx) {
    const dt = dtypeAttr(node, 'dtype') ?? 'int32';
    if (dt !== 'int32' && dt !== 'int64') unsupportedDtype(node, dt, 'output');
    const s = x?.shape;
    if (s && s.length !== 2) shapeMismatch(node, `Multinomial input must be [batch, classes], got rank ${s.length}`);
    return [{ dtype: dt, shape: [s?.[0] ?? ctx.freshDim('batch'), node.attrInt('sample_size', 1)] }];
  },
  run(node, [x]) {
    const t = x!;
    if (t.rank !== 2) shapeMismatch(node, `Multinomial input must be [batch, classes], got [${t.shape.join(',')}]`);
    const [batch, classes] = t.shape as [number, number];
    const samples = node.attrInt('sample_size', 1);
    const logits = floatData(t);
    const rng = generatorFor(node);
    const out = Tensor.zeros(dtypeAttr(node, 'dtype') ?? 'int32', [batch, samples]);
    const cumulative = new Float64Array(classes);
    for (let b = 0; b < batch; b++) {
      // The input holds unnormalized log-probabilities: subtract the max before exp for range.
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, logits[b * classes + c]!);
      let total = 0;
      for (let c = 0; c < classes; c++) cumulative[c] = total += Math.exp(logits[b * classes + c]! - max);
      for (let k = 0; k < samples; k++) {
        const u = rng.uniform() * total;
        let c = 0;
        while (c < classes - 1 && cumulative[c]! <= u) c++;
        out.set(b * samples + k, c);
      }
    }
    return [out];
  },
};

export const randomDefs: OpDef[] = [
  fromShape(Op.RandomUniform, uniformDraw),
  fromShape(Op.RandomNormal, normalDraw),
  like(Op.RandomUniformLike, uniformDraw),
  like(Op.RandomNormalLike, normalDraw),
  bernoulli,
  multinomial,
];
