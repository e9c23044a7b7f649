// Schedule kernels for convolutional networks, on activations in NCHW with batch 1 (each
// tensor is [C, H*W]: channels of contiguous pixels). Pointwise (1x1) convolutions need no
// kernel of their own: [C, pixels] is the transposed, pixels-contiguous layout the sparse
// Linear kernels read, so they lower to Linear kernels. Each kernel here reads the buffers
// `ins` and writes `y`; the emitted function takes their byte addresses in that order, then y's.

/** An activation a convolution kernel applies to its results: clip to [lo, hi], or x hardsigmoid(x). */
export type Epilogue =
  | { readonly fn: 'clamp'; readonly lo: number; readonly hi: number }
  | { readonly fn: 'hardswish'; readonly alpha: number; readonly beta: number };

interface Base {
  ins: number[];
  y: number;
}

/** A convolution's node and geometry: input [Cin, H, W] (padded), output [Cout, OH, OW], kernel, strides, dilations. */
interface ConvGeometry extends Base {
  /** The Conv node (the manifest's per-layer bytes). */
  readonly node: string;
  readonly Cin: number;
  readonly H: number;
  readonly W: number;
  readonly Cout: number;
  readonly OH: number;
  readonly OW: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
}

/** y [C, H+top+bottom, W+left+right] = x [C, H, W] with a zero border. */
export interface Pad2dKernel extends Base {
  readonly op: 'pad2d';
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
  /** Applied to each copied value (a Clip or HardSwish the copy absorbed; the border stays 0). */
  readonly activation?: Epilogue;
}

/**
 * Direct convolution of an input already padded to [Cin, H, W] (no bounds checks at run
 * time); ins [x, w], w = weights [Cout, Cin/group, kh, kw] followed by the bias [Cout].
 * A depthwise one may pad its input itself (`pad`): then x is unpadded, H and W are the
 * padded sizes, and ins [x, w, plane], plane a scratch buffer of H * W floats that holds one
 * padded channel at a time.
 */
export interface Conv2dKernel extends ConvGeometry {
  readonly op: 'conv2d';
  readonly group: number;
  /** Applied to the result before it is stored (a fused Clip or HardSwish). */
  epilogue?: Epilogue;
  /** The zero border the kernel adds to each input channel (depthwise only). */
  readonly pad?: { readonly top: number; readonly left: number; readonly bottom: number; readonly right: number };
  /** Applied to each input value as it is copied into the padded plane (with `pad`). */
  readonly inputActivation?: Epilogue;
}

/**
 * Direct convolution with an unstructured sparse weight (groups = 1), of an input already
 * padded to [Cin, H, W]; ins [x, w], w = packSparseConv2d's blob (each output channel's
 * nonzero taps with their input offsets). Stride, dilation and the output geometry as conv2d.
 */
export interface SparseConv2dKernel extends ConvGeometry {
  readonly op: 'sparse-conv2d';
  epilogue?: Epilogue;
}

/** Dense 1x1 convolution: y [Cout, P] = Wc [Cout, Cin] @ x [Cin, P] (+ bias); ins [x, w] (packPointwise). */
export interface Pointwise1x1Kernel extends Base {
  readonly op: 'pointwise';
  /** The Conv node (the manifest's per-layer bytes). */
  readonly node: string;
  readonly Cin: number;
  readonly Cout: number;
  readonly pixels: number;
  readonly bias: boolean;
  epilogue?: Epilogue;
}

/**
 * Elementwise activations with two parameters: clip to [a, b]; hardsigmoid max(0, min(1,
 * a x + b)); hardswish x hardsigmoid(x).
 */
export interface ActivationKernel extends Base {
  readonly op: 'activation';
  readonly fn: 'clip' | 'hardsigmoid' | 'hardswish';
  readonly a: number;
  readonly b: number;
  readonly size: number;
}

/** y [C, P] = x [C, P] * s [C] (squeeze-excite scaling); ins [x, s]. */
export interface ChannelScaleKernel extends Base {
  readonly op: 'channel-scale';
  readonly channels: number;
  readonly pixels: number;
}

/** y [C] = mean of x [C, P] over the pixels. */
export interface GlobalAveragePoolKernel extends Base {
  readonly op: 'global-avg-pool';
  readonly channels: number;
  readonly pixels: number;
  /** Applied to each value before it is summed (a Clip or HardSwish the pool absorbed). */
  readonly activation?: Epilogue;
}

export type CnnKernel = Pad2dKernel | Conv2dKernel | SparseConv2dKernel | Pointwise1x1Kernel | ActivationKernel | ChannelScaleKernel | GlobalAveragePoolKernel;

/** What makes two kernels the same function: every field but the buffers they run on (and the node's name). */
export function cnnKernelKey(k: CnnKernel): string {
  const fields = Object.entries(k).filter(([key]) => key !== 'ins' && key !== 'y' && key !== 'node');
  return fields.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(':');
}
