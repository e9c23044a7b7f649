// Sizes of activation axes that shape inference leaves symbolic.
//
// Exported transformers compute their head reshapes from the input's shape at run time
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), so inference gives the reshaped values
// fresh symbolic dims even where the graph fixes them: [batch, seq, 4, 16] comes out as
// [reshape_1, reshape_2, reshape_3, reshape_4]. Channel groups only pass a reshape when they
// know the sizes of the channel axis on both sides, so this reads them back: a symbol gets a
// number from the op that created it (a Reshape's constant shape entries, a Slice's constant
// bounds, an Expand that keeps its input's size, a linear layer's weight), and every value
// carrying the symbol then has that size. Symbols are graph-wide names: one symbol is one size.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { linearLayer } from './layers.js';

export class Dims {
  private readonly sizes = new Map<string, number>();

  constructor(graph: Graph) {
    for (const node of graph.nodes) this.learn(node);
  }

  /** The size of `axis` of `v` (negative axes count from the end), when it is known. */
  of(v: Value | undefined, axis: number): number | undefined {
    const shape = v?.const ? v.const.shape : v?.shape;
    if (!shape) return undefined;
    const d = shape[axis < 0 ? axis + shape.length : axis];
    return typeof d === 'number' ? d : d === undefined ? undefined : this.sizes.get(d);
  }

  /** Product of the sizes of the axes after `axis`, when all are known. */
  innerOf(v: Value, axis: number): number | undefined {
    const rank = v.const ? v.const.rank : v.rank;
    if (rank === undefined) return undefined;
    let p = 1;
    for (let a = axis + 1; a < rank; a++) {
      const d = this.of(v, a);
      if (d === undefined) return undefined;
      p *= d;
    }
    return p;
  }

  private bind(v: Value, axis: number, size: number | undefined): void {
    const d = v.shape?.[axis];
    if (typeof d === 'string' && size !== undefined && size >= 0 && !this.sizes.has(d)) this.sizes.set(d, size);
  }

  private learn(node: Node): void {
    const layer = linearLayer(node);
    if (layer) {
      const w = node.inputs[layer.weightIndex]!.const!;
      this.bind(node.inputs[0]!, layer.inputAxis, w.shape[layer.weightInAxis]);
      if (!layer.channelwise) this.bind(node.outputs[0]!, layer.outputAxis, w.shape[layer.weightOutAxis]);
      return;
    }
    if (node.op === Op.Reshape) this.learnReshape(node);
    else if (node.op === Op.Slice) this.learnSlice(node);
    else if (node.op === Op.Expand) this.learnExpand(node);
  }

  private learnReshape(node: Node): void {
    const entries = this.entries(node.inputs[1]);
    const out = node.outputs[0]!;
    if (!entries || out.rank !== entries.length) return;
    const allowzero = node.attrInt('allowzero', 0) !== 0;
    entries.forEach((e, i) => {
      if (e === undefined) return;
      if (e > 0) this.bind(out, i, e);
      else if (e === 0 && !allowzero) this.bind(out, i, this.of(node.inputs[0], i));
    });
  }

  /** Slices with constant bounds: the sliced axes' new sizes; the others keep theirs. */
  private learnSlice(node: Node): void {
    const [data, startsV, endsV, axesV, stepsV] = node.inputs;
    const out = node.outputs[0]!;
    const rank = data?.rank;
    if (!data || rank === undefined || !startsV?.const || !endsV?.const) return;
    const starts = startsV.const.toNumbers();
    const ends = endsV.const.toNumbers();
    const axes = axesV?.const ? axesV.const.toNumbers().map((a) => (a < 0 ? a + rank : a)) : starts.map((_, i) => i);
    const steps = stepsV?.const ? stepsV.const.toNumbers() : starts.map(() => 1);
    for (let a = 0; a < rank; a++) {
      const k = axes.indexOf(a);
      if (k < 0) this.bind(out, a, this.of(data, a));
      else this.bind(out, a, sliceLength(this.of(data, a), starts[k]!, ends[k]!, steps[k]!));
    }
  }

  /** An axis of Expand whose input size is not 1 keeps that size. */
  private learnExpand(node: Node): void {
    const x = node.inputs[0]!;
    const out = node.outputs[0]!;
    if (x.rank === undefined || out.rank === undefined) return;
    for (let a = 0; a < x.rank; a++) {
      const d = this.of(x, a);
      if (d !== undefined && d !== 1) this.bind(out, a + out.rank - x.rank, d);
    }
  }

  /** Entries of a 1-D shape tensor where known: a constant, or a Concat of pieces. */
  private entries(v: Value | undefined): (number | undefined)[] | undefined {
    if (!v) return undefined;
    if (v.const) return v.const.toNumbers();
    const p = v.producer;
    if (!p || p.op !== Op.Concat) return undefined;
    const out: (number | undefined)[] = [];
    for (const piece of p.inputs) {
      if (!piece) return undefined;
      if (piece.const) out.push(...piece.const.toNumbers());
      else if (piece.producer?.op === Op.Unsqueeze && piece.producer.inputs[0]!.rank === 0) out.push(this.scalar(piece.producer.inputs[0]!));
      else if (this.of(piece, 0) === 1 && piece.rank === 1) out.push(undefined);
      else return undefined;
    }
    return out;
  }

  /** A scalar shape entry: a constant, or Gather(Shape(x), i) with x's axis i known. */
  private scalar(v: Value): number | undefined {
    if (v.const) return v.const.toNumbers()[0];
    const p = v.producer;
    if (p?.op === Op.Cast) return this.scalar(p.inputs[0]!);
    if (p?.op !== Op.Gather || !p.inputs[1]?.const || p.inputs[1].const.rank !== 0) return undefined;
    const shape = p.inputs[0]!.producer;
    if (shape?.op !== Op.Shape || shape.attrInt('start', 0) !== 0 || shape.attr('end') !== undefined) return undefined;
    return this.of(shape.inputs[0], p.inputs[1].const.toNumbers()[0]!);
  }
}

/** Elements a slice takes along one axis; with the size unknown, only non-negative bounds tell. */
function sliceLength(size: number | undefined, start: number, end: number, step: number): number | undefined {
  if (step !== 1) return undefined;
  if (size === undefined) return start >= 0 && end >= start && end - start <= 1 ? end - start : undefined;
  const clamp = (i: number) => Math.min(size, Math.max(0, i < 0 ? i + size : i));
  return Math.max(0, clamp(end) - clamp(start));
}
