// Lowering rules for convolutional networks (kernels in cnn-kernels.ts), on NCHW activations
// with batch 1: Conv (pointwise 1x1 as a Linear over pixels; a depthwise Conv as one kernel
// that pads each channel itself; any other 2-D Conv as a zero-pad copy plus a direct or
// sparse direct convolution), Clip, HardSigmoid,
// HardSwish (also HardSigmoid(x) * x), Mul by a per-channel scale (squeeze-excite) and
// GlobalAveragePool. BatchNormalization is gone by now: fold-batchnorm merged it into its Conv.

import type { Diagnostic } from '../ir/diagnostics.js';
import { readWindowAttrs, resolveWindow } from '../ir/executor/ops/conv-geometry.js';
import type { Node, Value } from '../ir/graph.js';
import { Op } from '../ir/ops.js';
import { sizeOf } from '../ir/tensor.js';
import type { CnnKernel, Conv2dKernel, Epilogue } from './cnn-kernels.js';
import { chooseConvLayout } from './conv-layout.js';
import { chooseLayout, weightStats } from './layout.js';
import type { BufferRole, FormatOption, Kernel, LayerChoice } from './schedule.js';
import { NO_EPILOGUE } from './wasm/kernels/epilogue.js';
import { packConv2d } from './wasm/kernels/conv.js';
import { packPointwise } from './wasm/kernels/conv1x1.js';
import { packSparseConv2d } from './wasm/kernels/sparse-conv.js';

/** What the rules need from the schedule builder. */
export interface CnnOpBuilder {
  readonly kernels: Kernel[];
  readonly layers: LayerChoice[];
  readonly warnings: Diagnostic[];
  readonly format: FormatOption;
  newBuffer(name: string, shape: readonly number[], role: BufferRole, transposed?: boolean, data?: Float32Array): number;
  get(v: Value, view: 'rm'): number;
  output(node: Node, view: 'rm'): number;
  bind(v: Value, view: 'rm', buffer: number): void;
}

export const CNN_OPS: ReadonlySet<Op> = new Set([Op.Conv, Op.Clip, Op.HardSigmoid, Op.HardSwish, Op.Mul, Op.GlobalAveragePool]);

const shapeOf = (v: Value) => v.staticShape!;
const f32 = (v: Value | undefined) => (v?.const?.dtype === 'float32' ? (v.const.data as Float32Array) : undefined);

/** The Mul that multiplies this HardSigmoid's result by its input (and is its only reader): HardSwish. */
function hardSwishMul(hs: Node): Node | undefined {
  const out = hs.outputs[0]!;
  if (out.uses.length !== 1 || out.isGraphOutput) return undefined;
  const mul = out.uses[0]!.node;
  if (mul.op !== Op.Mul) return undefined;
  const [a, b] = mul.inputs;
  return (a === out && b === hs.inputs[0]) || (b === out && a === hs.inputs[0]) ? mul : undefined;
}

/** The HardSigmoid whose result this Mul multiplies by its input, if any. */
function hardSigmoidOf(mul: Node): Node | undefined {
  return mul.inputs.map((v) => v?.producer).find((p) => p?.op === Op.HardSigmoid && hardSwishMul(p) === mul);
}

/** [x, s] of a Mul of x [1, C, H, W] by s [1, C, 1, 1] (either order), or undefined. */
function channelScaleOperands(mul: Node): [Value, Value] | undefined {
  const [a, b] = mul.inputs as [Value, Value];
  const fits = (x: Value, s: Value) => {
    const xs = shapeOf(x);
    const ss = shapeOf(s);
    return xs.length === 4 && xs[0] === 1 && ss.length === 4 && ss[0] === 1 && ss[1] === xs[1] && ss[2] === 1 && ss[3] === 1 && !s.const;
  };
  if (fits(a, b)) return [a, b];
  if (fits(b, a)) return [b, a];
  return undefined;
}

/** True when the CNN rules lower `node` (a Mul only in its HardSwish and channel-scale forms). */
export function handlesCnnOp(node: Node): boolean {
  if (!CNN_OPS.has(node.op)) return false;
  if (node.op !== Op.Mul) return true;
  return node.inputs.every((v) => v?.staticShape) && (hardSigmoidOf(node) !== undefined || channelScaleOperands(node) !== undefined);
}

/** Why `node` (one handlesCnnOp accepts) cannot be lowered, or undefined. */
export function cnnOpReason(node: Node): string | undefined {
  const data = [node.inputs[0]!, node.outputs[0]!, ...(node.op === Op.Mul ? [node.inputs[1]!] : [])];
  const bad = data.find((v) => v.dtype !== 'float32');
  if (bad) return `${bad.dtype ?? 'unknown'} tensor '${bad.name}', only float32 is lowered`;
  if (node.op === Op.Conv) {
    const [x, w, b] = node.inputs;
    if (x!.staticShape!.length !== 4 || x!.staticShape![0] !== 1) return 'only 2-D convolutions of one image (N = 1) are lowered';
    if (!f32(w) || (b && !f32(b))) return 'weight or bias not a float32 constant';
  }
  if (node.op === Op.Clip && node.inputs.slice(1).some((v) => v && !v.const)) return 'min or max not constant';
  if (node.op === Op.GlobalAveragePool && shapeOf(node.inputs[0]!)[0] !== 1) return 'only one image (N = 1) is lowered';
  return undefined;
}

/** Lower one node that handlesCnnOp accepts. */
export function lowerCnnOp(b: CnnOpBuilder, node: Node): void {
  const x = node.inputs[0]!;
  const push = (k: CnnKernel) => b.kernels.push(k);
  switch (node.op) {
    case Op.Conv: return lowerConv(b, node);
    case Op.Clip: {
      const bound = (v: Value | undefined, def: number) => (v?.const ? Number(v.const.toNumbers()[0]) : def);
      const [lo, hi] = [bound(node.inputs[1], -Infinity), bound(node.inputs[2], Infinity)];
      if (fuseEpilogue(b, node, x, 1, { fn: 'clamp', lo, hi })) return;
      return void push({ op: 'activation', fn: 'clip', a: lo, b: hi, size: sizeOf(shapeOf(x)), ins: [b.get(x, 'rm')], y: b.output(node, 'rm') });
    }
    case Op.HardSigmoid: {
      // Folded into the Mul that makes it a HardSwish, when there is one.
      if (hardSwishMul(node)) return;
      const [alpha, beta] = [node.attrFloat('alpha', 0.2)!, node.attrFloat('beta', 0.5)!];
      return void push({ op: 'activation', fn: 'hardsigmoid', a: alpha, b: beta, size: sizeOf(shapeOf(x)), ins: [b.get(x, 'rm')], y: b.output(node, 'rm') });
    }
    case Op.HardSwish:
      return void push({ op: 'activation', fn: 'hardswish', a: 1 / 6, b: 0.5, size: sizeOf(shapeOf(x)), ins: [b.get(x, 'rm')], y: b.output(node, 'rm') });
    case Op.GlobalAveragePool: {
      const [, C, H, W] = shapeOf(x) as [number, number, number, number];
      const { input, activation } = absorbActivation(b, x);
      return void push({ op: 'global-avg-pool', channels: C, pixels: H * W, ...(activation ? { activation } : {}), ins: [input], y: b.output(node, 'rm') });
    }
    case Op.Mul: {
      const hs = hardSigmoidOf(node);
      if (hs) {
        const input = hs.inputs[0]!;
        const [alpha, beta] = [hs.attrFloat('alpha', 0.2)!, hs.attrFloat('beta', 0.5)!];
        if (fuseEpilogue(b, node, input, 2, { fn: 'hardswish', alpha, beta })) return;
        return void push({ op: 'activation', fn: 'hardswish', a: alpha, b: beta, size: sizeOf(shapeOf(input)), ins: [b.get(input, 'rm')], y: b.output(node, 'rm') });
      }
      const [data, scale] = channelScaleOperands(node)!;
      const [, C, H, W] = shapeOf(data) as [number, number, number, number];
      return void push({ op: 'channel-scale', channels: C, pixels: H * W, ins: [b.get(data, 'rm'), b.get(scale, 'rm')], y: b.output(node, 'rm') });
    }
    default:
      throw new Error(`lowerCnnOp: ${node.describe()} is not a CNN op`);
  }
}

/**
 * Apply an activation (`node`: a Clip, or the Mul of a HardSwish) as the epilogue of the
 * convolution kernel just emitted for its input `x`, when only the activation reads the
 * convolution's result (`readers` nodes: the Clip, or the HardSigmoid and the Mul): one pass
 * over the output fewer.
 */
function fuseEpilogue(b: CnnOpBuilder, node: Node, x: Value, readers: number, epilogue: Epilogue): boolean {
  const last = b.kernels[b.kernels.length - 1];
  if (x.producer?.op !== Op.Conv || x.uses.length !== readers || x.isGraphOutput) return false;
  if (!last || (last.op !== 'conv2d' && last.op !== 'sparse-conv2d' && last.op !== 'pointwise') || last.epilogue || last.y !== b.get(x, 'rm')) return false;
  last.epilogue = epilogue;
  b.bind(node.outputs[0]!, 'rm', last.y);
  return true;
}

/**
 * The buffer a copying reader of `x` (the zero-padding copy, the average pool) should read,
 * and the activation to apply as it reads: when x is the result of the activation kernel just
 * emitted (a Clip or HardSwish after a sparse 1x1 conv, which has no such epilogue) and
 * nothing else reads it, that kernel is dropped and its work joins the copy, one pass over
 * the activations fewer (x's buffer is then never written, and the memory plan skips it).
 */
function absorbActivation(b: CnnOpBuilder, x: Value): { input: number; activation?: Epilogue } {
  const input = b.get(x, 'rm');
  const last = b.kernels[b.kernels.length - 1];
  if (!last || last.op !== 'activation' || last.y !== input || x.uses.length !== 1 || x.isGraphOutput) return { input };
  const activation: Epilogue | undefined = last.fn === 'clip' ? { fn: 'clamp', lo: last.a, hi: last.b }
    : last.fn === 'hardswish' ? { fn: 'hardswish', alpha: last.a, beta: last.b } : undefined;
  if (!activation) return { input };
  b.kernels.pop();
  return { input: last.ins[0]!, activation };
}

function lowerConv(b: CnnOpBuilder, node: Node): void {
  const [x, w, bias] = node.inputs as [Value, Value, Value | undefined];
  const [, Cin, H, W] = shapeOf(x) as [number, number, number, number];
  const [Cout, , kh, kw] = shapeOf(w) as [number, number, number, number];
  const group = node.attrInt('group', 1)!;
  const win = resolveWindow(node, readWindowAttrs(node, 2, [kh, kw]), [H, W]);
  const [OH, OW] = win.outSizes as [number, number];
  const unpadded = win.padsBegin.every((p) => p === 0) && win.padsEnd.every((p) => p === 0);
  const pointwise = kh === 1 && kw === 1 && group === 1 && unpadded && win.strides.every((s) => s === 1);
  const weight = f32(w)!;
  const biasData = f32(bias);
  if (pointwise) return lowerPointwise(b, node, { Cin, Cout, pixels: H * W, weight, bias: biasData });
  let input = b.get(x, 'rm');
  const extraInputs: number[] = [];
  const [top, left] = win.padsBegin as [number, number];
  const [bottom, right] = win.padsEnd as [number, number];
  let [Hp, Wp] = [H, W];
  // A depthwise kernel pads each channel itself into a small plane (depthwise.ts); other
  // convolutions read a padded copy of the whole input.
  const depthwise = group === Cin && Cout === Cin && group > 1;
  let selfPadding: Partial<Conv2dKernel> = {};
  if (!unpadded) {
    [Hp, Wp] = [H + top + bottom, W + left + right];
    const source = absorbActivation(b, x);
    const activation = source.activation ? { activation: source.activation } : {};
    if (depthwise) {
      const plane = b.newBuffer(`${x.name}_plane`, [Hp * Wp], 'temp');
      selfPadding = { pad: { top, left, bottom, right }, ...(source.activation ? { inputActivation: source.activation } : {}) };
      extraInputs.push(plane);
      input = source.input;
    } else {
      const padded = b.newBuffer(`${x.name}_padded`, [Cin, Hp, Wp], 'temp');
      b.kernels.push({ op: 'pad2d', C: Cin, H, W, top, left, bottom, right, ...activation, ins: [source.input], y: padded });
      input = padded;
    }
  }
  const [sh, sw] = win.strides as [number, number];
  const [dh, dw] = win.dilations as [number, number];
  const window = { Cin, H: Hp, W: Wp, Cout, OH, OW, kh, kw, sh, sw, dh, dw };
  const K = (Cin / group) * kh * kw;
  const stats = weightStats(transposed(weight, Cout, K), K, Cout);
  // groups = 1: a sparse weight may take the sparse direct kernel (conv-layout.ts decides).
  const choice = group === 1 ? chooseConvLayout({ node: node.name, weight: w.name, M: OH * OW, K, N: Cout, kh, kw, stride: Math.max(sh, sw) }, stats, b.format) : undefined;
  if (choice?.layout === 'csr') {
    b.layers.push(choice);
    const blob = packSparseConv2d(window, weight, biasData);
    const wb = b.newBuffer(`${w.name}_sparse_conv`, [blob.length], 'const', false, blob);
    return void b.kernels.push({ op: 'sparse-conv2d', node: node.name, ...window, ins: [input, wb], y: b.output(node, 'rm') });
  }
  const geometry = { node: node.name, ...window, group };
  const packed = packConv2d({ op: 'conv2d', ...geometry, ins: [], y: 0 }, weight, biasData);
  const wb = b.newBuffer(`${w.name}_conv`, [packed.length], 'const', false, packed);
  b.kernels.push({ op: 'conv2d', ...geometry, ...selfPadding, ins: [input, wb, ...extraInputs], y: b.output(node, 'rm') });
  // Listed with the other layers; grouped and depthwise direct kernels have one (dense) form.
  b.layers.push(choice ?? {
    node: node.name, weight: w.name, M: OH * OW, K, N: Cout, ...stats, layout: 'dense', relativeCost: 1,
    reason: `${kh}x${kw} conv, ${group === Cin ? 'depthwise' : `${group} groups`}: direct kernel (dense only)`,
  });
}

/**
 * A 1x1 convolution is y [Cout, P] = Wc [Cout, Cin] @ x [Cin, P]: a Linear with weight
 * W = Wc^T [Cin, Cout] whose activations are already transposed (pixels contiguous), which is
 * what the sparse kernels read and write. One pixel is a plain product (any layout); for more,
 * a dense weight gets the pointwise kernel, which works on the same layout.
 */
function lowerPointwise(b: CnnOpBuilder, node: Node, c: { Cin: number; Cout: number; pixels: number; weight: Float32Array; bias?: Float32Array }): void {
  const { Cin: K, Cout: N, pixels: M } = c;
  const W = transposed(c.weight, N, K);
  const weightName = node.inputs[1]!.name;
  const choice = chooseLayout({ node: node.name, weight: weightName, M, K, N }, W, b.format, (d) => b.warnings.push(d));
  b.layers.push(choice);
  const x = b.get(node.inputs[0]!, 'rm');
  const y = b.output(node, 'rm');
  if (M > 1 && choice.layout === 'dense') {
    const geometry = { Cin: K, Cout: N, pixels: M, bias: c.bias !== undefined };
    const packed = packPointwise({ op: 'pointwise', node: node.name, ...geometry, ins: [], y: 0 }, c.weight, c.bias);
    const wb = b.newBuffer(`${weightName}_1x1`, [packed.length], 'const', false, packed);
    b.kernels.push({ op: 'pointwise', node: node.name, ...geometry, ins: [x, wb], y });
    return;
  }
  b.kernels.push({ op: 'linear', node: node.name, weightName, x, y, M, K, N, layout: choice.layout, ...(choice.block ? { block: choice.block } : {}), weight: W, ...(c.bias ? { bias: c.bias } : {}), epilogue: NO_EPILOGUE });
}

/** A [rows, cols] row-major matrix as [cols, rows]: conv weights [Cout, K] as Linear weights [K, Cout]. */
function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}
