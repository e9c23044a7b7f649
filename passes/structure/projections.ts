// Reading projections: constants as numbers, linear layers and their widths, projection
// parts (a whole projection or the Split/Slice part of a fused one), Reshape targets and the
// token Reshapes exporters put around linear layers.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { linearLayer } from '../permute/layers.js';
import type { ProjectionPart } from './types.js';
import { shapeEntries } from '../analysis/shape-entries.js';

/** The entries of a constant as numbers, or undefined for a non-constant. */
export function constNumbers(v: Value | undefined): number[] | undefined {
  return v?.const ? v.const.toNumbers() : undefined;
}

/** The single entry of a one-element constant. */
export function constScalar(v: Value | undefined): number | undefined {
  const n = constNumbers(v);
  return n && n.length === 1 ? n[0] : undefined;
}

/** Output channels of a linear layer (the weight's out axis), or undefined for other nodes. */
export function linearWidth(node: Node | undefined): number | undefined {
  if (!node) return undefined;
  const layer = linearLayer(node);
  if (!layer || layer.channelwise || node.op === Op.Conv) return undefined;
  return node.inputs[layer.weightIndex]!.const!.shape[layer.weightOutAxis];
}

/** Input channels of a linear layer (the weight's in axis). */
export function linearInWidth(node: Node): number | undefined {
  const layer = linearLayer(node);
  if (!layer || node.op === Op.Conv) return undefined;
  return node.inputs[layer.weightIndex]!.const!.shape[layer.weightInAxis];
}

function isLinear(node: Node | undefined): boolean {
  return linearWidth(node) !== undefined;
}

/**
 * The linear layer producing v, looking through an Add of a constant (a bias the exporter
 * left outside the layer) and Reshapes that keep the channel axis (HF GPT-2's Conv1D runs
 * addmm on tokens flattened to [N, width] and views the result back).
 */
export function linearProducer(v: Value | undefined): Node | undefined {
  const p = beforeTokenReshapes(v)?.producer;
  if (!p) return undefined;
  if (isLinear(p)) return p;
  if (p.op === Op.Add) {
    const [a, b] = p.inputs;
    if (b?.isConstant && isLinear(a?.producer)) return a!.producer;
    if (a?.isConstant && isLinear(b?.producer)) return b!.producer;
  }
  return undefined;
}

function lastAxis(axis: number, rank: number | undefined): boolean {
  return axis === -1 || (rank !== undefined && axis === rank - 1);
}

/**
 * The projection part v carries: a whole linear output, or the part of one that a Split or a
 * Slice along the last axis takes.
 */
export function projectionPart(v: Value | undefined): ProjectionPart | undefined {
  if (!v) return undefined;
  const whole = linearProducer(v);
  if (whole) return { node: whole, offset: 0, width: linearWidth(whole)!, value: v };
  const p = v.producer;
  if (!p) return undefined;
  if (p.op === Op.Split) {
    const base = projectionPart(p.inputs[0]);
    if (!base || !lastAxis(p.attrInt('axis', 0), p.inputs[0]!.rank)) return undefined;
    const sizes = constNumbers(p.inputs[1]) ?? evenSplit(base.width, p.outputs.length);
    if (!sizes || sizes.length !== p.outputs.length) return undefined;
    const index = p.outputs.indexOf(v);
    const offset = sizes.slice(0, index).reduce((a, b) => a + b, 0);
    return { node: base.node, offset: base.offset + offset, width: sizes[index]!, value: v };
  }
  if (p.op === Op.Slice) {
    const base = projectionPart(p.inputs[0]);
    if (!base) return undefined;
    const range = lastAxisSlice(p, base.width);
    if (!range) return undefined;
    return { node: base.node, offset: base.offset + range.start, width: range.end - range.start, value: v };
  }
  return undefined;
}

function evenSplit(total: number, parts: number): number[] | undefined {
  return total % parts === 0 ? new Array<number>(parts).fill(total / parts) : undefined;
}

/** [start, end) of a step-1 Slice along the last axis of a `width`-wide tensor. */
export function lastAxisSlice(slice: Node, width: number): { start: number; end: number } | undefined {
  const starts = constNumbers(slice.inputs[1]);
  const ends = constNumbers(slice.inputs[2]);
  const axes = slice.inputs[3] ? constNumbers(slice.inputs[3]) : [-1];
  const steps = slice.inputs[4] ? constNumbers(slice.inputs[4]) : [1];
  if (!starts || !ends || !axes || !steps || starts.length !== 1 || axes.length !== 1) return undefined;
  if (steps[0] !== 1 || !lastAxis(axes[0]!, slice.inputs[0]!.rank)) return undefined;
  const clamp = (x: number) => Math.max(0, Math.min(width, x < 0 ? x + width : x));
  const start = clamp(starts[0]!);
  const end = clamp(ends[0]!);
  return end > start ? { start, end } : undefined;
}

/** [heads, headDim] from a Reshape of `width` channels to [..., heads, headDim]. */
export function headSplit(reshape: Node, width: number): { heads: number; headDim: number } | undefined {
  const target = shapeEntries(reshape.inputs[1]) ?? reshape.outputs[0]!.shape?.map((d) => (typeof d === 'number' ? d : undefined));
  if (!target || target.length < 3) return undefined;
  let heads = target.at(-2);
  let headDim = target.at(-1);
  if ((heads === -1 || heads === undefined) && headDim !== undefined && headDim > 0) heads = width / headDim;
  if ((headDim === -1 || headDim === undefined) && heads !== undefined && heads > 0) headDim = width / heads;
  if (heads === undefined || headDim === undefined || !Number.isInteger(heads) || !Number.isInteger(headDim)) return undefined;
  if (heads < 1 || headDim < 1 || heads * headDim !== width) return undefined;
  return { heads, headDim };
}

/** Ops that change a tensor's layout but not its values (row-wise reads see the same tokens). */
const RESHAPES = new Set<Op>([Op.Reshape, Op.Flatten, Op.Identity, Op.Squeeze, Op.Unsqueeze]);

/** v is `input`, or `input` reshaped (a MoE router reading tokens flattened to [N, width]). */
export function sameTokens(v: Value | undefined, input: Value): boolean {
  for (let i = 0; v && i < 4; i++) {
    if (v === input) return true;
    const p = v.producer;
    v = p && RESHAPES.has(p.op) ? p.inputs[0] : undefined;
  }
  return false;
}

/**
 * v before any Reshape/Flatten that only regroups the token axes: the last dim of the
 * result is the last dim of its input.
 */
export function beforeTokenReshapes(v: Value | undefined): Value | undefined {
  for (let i = 0; v && i < 4; i++) {
    const p = v.producer;
    if (!p || !keepsChannels(p)) return v;
    v = p.inputs[0];
  }
  return v;
}

function keepsChannels(p: Node): boolean {
  const x = p.inputs[0];
  if (!x) return false;
  if (p.op === Op.Flatten) return x.rank !== undefined && p.attrInt('axis', 1) === x.rank - 1;
  if (p.op !== Op.Reshape) return false;
  const target = p.inputs[1]?.producer;
  if (target?.op === Op.Concat && isLastDimOf(target.inputs.at(-1), x)) return true;
  const width = x.shape?.at(-1);
  if (typeof width !== 'number') return false;
  const last = shapeEntries(p.inputs[1])?.at(-1) ?? p.outputs[0]!.shape?.at(-1);
  return last === width || (last === -1 && p.outputs[0]!.shape?.at(-1) === width);
}

/** piece is x's last dim read at run time: Shape(x) sliced or gathered at the last index. */
function isLastDimOf(piece: Value | undefined, x: Value): boolean {
  for (let i = 0; piece && i < 4; i++) {
    const p = piece.producer;
    if (!p) return false;
    if (p.op === Op.Unsqueeze || p.op === Op.Squeeze || p.op === Op.Cast) {
      piece = p.inputs[0];
      continue;
    }
    const shape = p.inputs[0]?.producer;
    if (shape?.op !== Op.Shape || shape.inputs[0] !== x || x.rank === undefined) return false;
    const last = (k: number | undefined) => k === -1 || k === x.rank! - 1;
    if (p.op === Op.Gather) return last(constScalar(p.inputs[1]));
    if (p.op === Op.Slice) return last(constScalar(p.inputs[1])) && (constScalar(p.inputs[2]) ?? 0) >= x.rank!;
    return false;
  }
  return false;
}

/**
 * Why a projection reading `read` instead of the block input is refused: most often the
 * stream reaches it through a norm written out in a form canonicalize does not recognize.
 */
export function notTheInput(what: string, read: Value | undefined, input: Value): string {
  const by = read?.producer;
  const source = by ? by.describe() : (read?.name ?? 'nothing');
  const hint = by && by.op !== Op.LayerNormalization && by.op !== Op.RMSNorm ? ' (a norm in a form canonicalize does not recognize?)' : '';
  return `${what} reads ${source}, not the block input ${input.name}${hint}`;
}
