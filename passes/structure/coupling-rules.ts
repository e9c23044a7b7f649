// How each kind of op carries a channel removal between its inputs and outputs, for the
// coupling walk (coupling.ts). A rule looks at which of its node's values are members and
// returns links: every input or output whose channels correspond, with the axis and the
// indices removed there. Non-constant values in links join the walk; constant inputs in links
// lose those indices when the plan is made (biases, norm parameters, elementwise constants,
// embedding tables). Rules may add edits of their own (shape constants, Split sizes, Slice
// bounds) and stop when an op cannot carry the removal.

import type { Node, Value } from '../../ir/graph.js';
import { Elementwise, Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';
import { shapeEntryValue, shapeEntryEditable } from './coupling-apply.js';
import type { CouplingWalk, Edit } from './coupling.js';
import { repeatRule } from './coupling-repeat.js';
import { mapThroughReshape } from './coupling-shapes.js';

export { repeatChains, type RepeatChain } from './coupling-repeat.js';

export interface Link {
  readonly value: Value;
  /** The input index for inputs (constants are edited there); undefined for outputs. */
  readonly input?: number;
  readonly axis: number;
  readonly removed: ReadonlySet<number>;
}

export interface Rule {
  links(walk: CouplingWalk, node: Node): Link[] | string;
  /** Edits beyond the constant inputs in links, from the final member sets. */
  edits?(walk: CouplingWalk, node: Node): Edit[] | string;
}

export function propagate(walk: CouplingWalk, node: Node): void {
  const links = ruleFor(walk, node).links(walk, node);
  if (typeof links === 'string') return walk.stop(links, node);
  for (const l of links) if (!l.value.const) walk.require(l.value, l.axis, l.removed);
}

export function editsOf(walk: CouplingWalk, node: Node): Edit[] {
  const rule = ruleFor(walk, node);
  const links = rule.links(walk, node);
  if (typeof links === 'string') {
    walk.stop(links, node);
    return [];
  }
  const edits: Edit[] = [];
  for (const l of links) {
    if (l.value.const && l.input !== undefined && l.removed.size > 0) {
      edits.push({ kind: 'remove-indices', node, input: l.input, axis: l.axis, indices: sorted(l.removed) });
    }
  }
  const extra = rule.edits?.(walk, node) ?? [];
  if (typeof extra === 'string') {
    walk.stop(extra, node);
    return [];
  }
  return [...edits, ...extra];
}

const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);
const union = (...sets: (ReadonlySet<number> | undefined)[]) => new Set(sets.flatMap((s) => (s ? [...s] : [])));
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function ruleFor(walk: CouplingWalk, node: Node): Rule {
  if (walk.repeats.has(node)) return repeatRule;
  if (linearLayer(node)) return linearRule;
  return rules.get(node.op) ?? { links: () => `${node.opType} does not carry a channel removal` };
}

/** Members of `node`'s values, as (value, input index, axis, removed). */
function memberLinks(walk: CouplingWalk, node: Node): Link[] {
  const out: Link[] = [];
  node.inputs.forEach((v, i) => {
    const m = walk.member(v);
    if (v && m) out.push({ value: v, input: i, axis: m.axis, removed: m.removed });
  });
  for (const v of node.outputs) {
    const m = walk.member(v);
    if (m) out.push({ value: v, axis: m.axis, removed: m.removed });
  }
  return out;
}

// ---- linear layers: input and output channels are independent ----

const linearRule: Rule = {
  links(walk, node) {
    const layer = linearLayer(node)!;
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const mx = walk.member(x);
    const my = walk.member(y);
    if (mx && mx.axis !== layer.inputAxis) return `channels reach ${node.opType} on axis ${mx.axis}, not its channel axis ${layer.inputAxis}`;
    if (my && my.axis !== layer.outputAxis) return `channels leave ${node.opType} on axis ${my.axis}, not its channel axis ${layer.outputAxis}`;
    const links: Link[] = [];
    const w = node.inputs[layer.weightIndex]!;
    const bias = layer.biasIndex !== undefined ? node.inputs[layer.biasIndex] : undefined;
    const biasLink = (removed: ReadonlySet<number>, size: number): Link[] => {
      const b = bias?.const;
      if (!bias || !b || b.rank === 0 || b.shape[b.rank - 1] !== size) return [];
      return [{ value: bias, input: layer.biasIndex!, axis: b.rank - 1, removed }];
    };
    if (layer.channelwise) {
      const removed = union(mx?.removed, my?.removed);
      const size = (mx ?? my)!.size;
      links.push({ value: x, input: 0, axis: layer.inputAxis, removed }, { value: y, axis: layer.outputAxis, removed });
      links.push({ value: w, input: layer.weightIndex, axis: layer.weightOutAxis, removed }, ...biasLink(removed, size));
      return links;
    }
    if (mx) links.push({ value: w, input: layer.weightIndex, axis: layer.weightInAxis, removed: mx.removed });
    if (my) links.push({ value: w, input: layer.weightIndex, axis: layer.weightOutAxis, removed: my.removed }, ...biasLink(my.removed, my.size));
    return links;
  },
};

// ---- elementwise ops: operands broadcast onto the output ----

const elementwise: Rule = {
  links(walk, node) {
    const out = node.outputs[0]!;
    const rOut = walk.dims(out)?.length;
    if (rOut === undefined) return 'output shape unknown';
    let axis: number | undefined;
    let removed = new Set<number>();
    for (const l of memberLinks(walk, node)) {
      if (l.input !== undefined && l.input > 0 && node.op === Op.Dropout) return 'channels reach a Dropout parameter';
      const r = walk.dims(l.value)!.length;
      const a = l.input === undefined ? l.axis : l.axis + rOut - r;
      if (axis !== undefined && a !== axis) return 'operands carry channels on different axes';
      axis = a;
      removed = union(removed, l.removed);
    }
    if (axis === undefined) return [];
    const size = walk.dims(out)![axis]!;
    const links: Link[] = [{ value: out, axis, removed }];
    const operands = node.op === Op.Dropout ? [0] : node.inputs.map((_, i) => i);
    for (const i of operands) {
      const v = node.inputs[i];
      const d = walk.dims(v);
      if (!v || !d) continue;
      const a = axis - (rOut - d.length);
      if (a < 0 || d[a] === 1) continue;
      if (d[a] !== size) return `operand ${i} has ${d[a]} entries on the channel axis, expected ${size}`;
      links.push({ value: v, input: i, axis: a, removed });
    }
    return links;
  },
};

// ---- norms and softmax: fine unless they reduce over the channel axis ----

const normalizing: Rule = {
  links(walk, node) {
    const x = node.inputs[0]!;
    const rank = walk.dims(x)?.length;
    if (rank === undefined) return 'rank unknown';
    if (node.outputs.slice(1).some((o) => o.uses.length > 0 || o.isGraphOutput)) return `${node.opType} has a second output in use`;
    const axis = normAxis(node.attrInt('axis', -1)!, rank);
    const reduced = node.op === Op.Softmax || node.op === Op.LogSoftmax ? [axis] : [...Array(rank).keys()].filter((a) => a >= axis);
    const ms = memberLinks(walk, node).filter((l) => l.input === undefined || l.input === 0);
    if (ms.some((l) => l.input === undefined && l.value !== node.outputs[0])) return 'channels on a statistics output';
    const m = ms[0];
    if (!m) return [];
    if (ms.some((l) => l.axis !== m.axis)) return 'input and output carry channels on different axes';
    if (reduced.includes(m.axis)) return `${node.opType} normalizes over the channel axis: removing channels changes its statistics`;
    const removed = union(...ms.map((l) => l.removed));
    return [{ value: x, input: 0, axis: m.axis, removed }, { value: node.outputs[0]!, axis: m.axis, removed }];
  },
};

const transpose: Rule = {
  links(walk, node) {
    const x = node.inputs[0]!;
    const rank = walk.dims(x)?.length;
    if (rank === undefined) return 'rank unknown';
    const perm = node.attrInts('perm') ?? [...Array(rank).keys()].reverse();
    const mx = walk.member(x);
    const my = walk.member(node.outputs[0]);
    const inAxis = mx ? mx.axis : perm[my!.axis]!;
    if (mx && my && perm[my.axis] !== mx.axis) return 'input and output carry channels on axes the permutation does not pair';
    const removed = union(mx?.removed, my?.removed);
    return [{ value: x, input: 0, axis: inAxis, removed }, { value: node.outputs[0]!, axis: perm.indexOf(inAxis), removed }];
  },
};

/** Reshape, Flatten, Squeeze, Unsqueeze: the flat index is kept; see mapThroughReshape. */
const reshapes: Rule = {
  links(walk, node) {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const dx = walk.dims(x);
    const dy = walk.dims(y);
    if (!dx || !dy) return `${node.opType} with shapes unknown`;
    if (memberLinks(walk, node).some((l) => l.input !== undefined && l.input > 0)) return 'channels reach a shape input';
    const mx = walk.member(x);
    const my = walk.member(y);
    const links: Link[] = [];
    let xRemoved = new Set(mx?.removed ?? []);
    let yRemoved = new Set(my?.removed ?? []);
    let xAxis = mx?.axis;
    let yAxis = my?.axis;
    if (mx) {
      const m = mapThroughReshape(dx, mx.axis, dy, mx.removed);
      if (typeof m === 'string') return m;
      if (yAxis !== undefined && m.axis !== yAxis) return 'input and output carry channels on axes the reshape does not pair';
      yAxis = m.axis;
      yRemoved = union(yRemoved, m.removed);
    }
    if (my) {
      const m = mapThroughReshape(dy, my.axis, dx, my.removed);
      if (typeof m === 'string') return m;
      if (xAxis !== undefined && m.axis !== xAxis) return 'input and output carry channels on axes the reshape does not pair';
      xAxis = m.axis;
      xRemoved = union(xRemoved, m.removed);
    }
    links.push({ value: x, input: 0, axis: xAxis!, removed: xRemoved }, { value: y, axis: yAxis!, removed: yRemoved });
    return links;
  },
  edits(walk, node) {
    if (node.op !== Op.Reshape) return [];
    const my = walk.member(node.outputs[0]);
    if (!my || my.removed.size === 0) return [];
    if (shapeEntryValue(node.inputs[1], my.axis) === -1) return [];
    if (!shapeEntryEditable(node.inputs[1], my.axis)) return `the Reshape's target shape entry ${my.axis} is computed in a way that cannot be edited`;
    return [{ kind: 'set-shape-entry', node, input: 1, position: my.axis, size: my.size - my.removed.size }];
  },
};

const expand: Rule = {
  links(walk, node) {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const dx = walk.dims(x);
    const dy = walk.dims(y);
    if (!dx || !dy) return 'shapes unknown';
    const mx = walk.member(x);
    const my = walk.member(y);
    const yAxis = my ? my.axis : mx!.axis + dy.length - dx.length;
    const xAxis = yAxis - (dy.length - dx.length);
    if (mx && mx.axis !== xAxis) return 'input and output carry channels on different axes';
    if (xAxis < 0 || dx[xAxis] !== dy[yAxis]) return 'Expand broadcasts along the channel axis';
    const removed = union(mx?.removed, my?.removed);
    return [{ value: x, input: 0, axis: xAxis, removed }, { value: y, axis: yAxis, removed }];
  },
  edits(walk, node) {
    const my = walk.member(node.outputs[0]);
    const shapeLen = walk.dims(node.inputs[1])?.[0];
    if (!my || shapeLen === undefined) return [];
    const position = my.axis - (walk.dims(node.outputs[0])!.length - shapeLen);
    if (position < 0 || shapeEntryValue(node.inputs[1], position) === 1) return [];
    if (!shapeEntryEditable(node.inputs[1], position)) return 'the Expand shape entry on the channel axis is computed in a way that cannot be edited';
    return [{ kind: 'set-shape-entry', node, input: 1, position, size: my.size - my.removed.size }];
  },
};

/** Sizes of the parts of a Split or the inputs of a Concat along `axis`. */
function partSizes(walk: CouplingWalk, parts: readonly (Value | undefined)[], axis: number): number[] | undefined {
  const sizes = parts.map((v) => walk.dims(v)?.[axis]);
  return sizes.every((s) => s !== undefined) ? (sizes as number[]) : undefined;
}

/**
 * Concat and Split along the channel axis: each part owns a range of the whole's channels;
 * along another axis every part carries the same channels.
 */
function partsLinks(walk: CouplingWalk, node: Node, whole: Link, parts: readonly { value: Value; input?: number }[], axis: number): Link[] | string {
  const rank = walk.dims(whole.value)?.length;
  if (rank === undefined) return 'rank unknown';
  const members = memberLinks(walk, node).filter((l) => l.value === whole.value || parts.some((p) => p.value === l.value && p.input === l.input));
  if (members.some((l) => l.axis !== members[0]!.axis)) return 'parts carry channels on different axes';
  const channelAxis = members[0]?.axis ?? whole.axis;
  if (channelAxis !== axis) {
    const removed = union(...members.map((l) => l.removed));
    return [{ ...whole, axis: channelAxis, removed }, ...parts.map((p) => ({ ...p, axis: channelAxis, removed }))];
  }
  const sizes = partSizes(walk, parts.map((p) => p.value), axis);
  if (!sizes) return 'part sizes unknown';
  const wholeRemoved = new Set(walk.member(whole.value)?.removed ?? []);
  let offset = 0;
  const offsets = sizes.map((s) => ((offset += s), offset - s));
  parts.forEach((p, i) => {
    const m = walk.member(p.value);
    if (m && !p.value.const) for (const r of m.removed) wholeRemoved.add(offsets[i]! + r);
  });
  const links: Link[] = [{ ...whole, axis, removed: wholeRemoved }];
  parts.forEach((p, i) => {
    const mine = new Set([...wholeRemoved].filter((r) => r >= offsets[i]! && r < offsets[i]! + sizes[i]!).map((r) => r - offsets[i]!));
    links.push({ ...p, axis, removed: mine });
  });
  return links;
}

const split: Rule = {
  links(walk, node) {
    const x = node.inputs[0]!;
    const rank = walk.dims(x)?.length;
    if (rank === undefined) return 'rank unknown';
    if (walk.member(node.inputs[1])) return 'channels reach the split sizes';
    const axis = normAxis(node.attrInt('axis', 0)!, rank);
    return partsLinks(walk, node, { value: x, input: 0, axis, removed: new Set() }, node.outputs.map((value) => ({ value })), axis);
  },
  edits(walk, node) {
    const x = node.inputs[0]!;
    const axis = normAxis(node.attrInt('axis', 0)!, walk.dims(x)!.length);
    const mx = walk.member(x);
    if (!mx || mx.axis !== axis) return [];
    const sizes = partSizes(walk, node.outputs, axis)!;
    const kept = node.outputs.map((o, i) => sizes[i]! - (walk.member(o)?.removed.size ?? 0));
    if (kept.some((k) => k === 0)) return 'a part of the Split would lose every channel';
    return [{ kind: 'set-constant', node, input: 1, tensor: Tensor.int64(kept) }];
  },
};

const concat: Rule = {
  links(walk, node) {
    const y = node.outputs[0]!;
    const rank = walk.dims(y)?.length;
    if (rank === undefined) return 'rank unknown';
    const axis = normAxis(node.attrInt('axis', 0)!, rank);
    return partsLinks(walk, node, { value: y, axis, removed: new Set() }, node.inputs.map((value, input) => ({ value: value!, input })), axis);
  },
};

/** Slice along the channel axis shifts indices by its start; along other axes it carries them. */
const slice: Rule = {
  links(walk, node) {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    const dx = walk.dims(x);
    if (!dx) return 'shape unknown';
    if (memberLinks(walk, node).some((l) => l.input !== undefined && l.input > 0)) return 'channels reach the slice bounds';
    const mx = walk.member(x);
    const my = walk.member(y);
    const axis = (mx ?? my)!.axis;
    if (mx && my && mx.axis !== my.axis) return 'input and output carry channels on different axes';
    const bounds = sliceBounds(walk, node, dx, axis);
    if (typeof bounds === 'string') return bounds;
    if (!bounds) {
      const removed = union(mx?.removed, my?.removed);
      return [{ value: x, input: 0, axis, removed }, { value: y, axis, removed }];
    }
    const xRemoved = new Set(mx?.removed ?? []);
    for (const r of my?.removed ?? []) xRemoved.add(r + bounds.start);
    const yRemoved = new Set([...xRemoved].filter((r) => r >= bounds.start && r < bounds.end).map((r) => r - bounds.start));
    return [{ value: x, input: 0, axis, removed: xRemoved }, { value: y, axis, removed: yRemoved }];
  },
  edits(walk, node) {
    const mx = walk.member(node.inputs[0]);
    const dx = walk.dims(node.inputs[0])!;
    const bounds = mx && sliceBounds(walk, node, dx, mx.axis);
    if (!mx || !bounds || typeof bounds === 'string') return [];
    const before = (n: number) => [...mx.removed].filter((r) => r < n).length;
    const starts = node.inputs[1]!.const!.toNumbers();
    const ends = node.inputs[2]!.const!.toNumbers();
    starts[bounds.entry] = bounds.start - before(bounds.start);
    ends[bounds.entry] = bounds.end - before(bounds.end);
    return [
      { kind: 'set-constant', node, input: 1, tensor: Tensor.int64(starts) },
      { kind: 'set-constant', node, input: 2, tensor: Tensor.int64(ends) },
    ];
  },
};

/** The clamped [start, end) of a step-1 slice along `axis`, undefined if `axis` is not sliced. */
function sliceBounds(walk: CouplingWalk, node: Node, dims: readonly number[], axis: number): { entry: number; start: number; end: number } | undefined | string {
  const axesInput = node.inputs[3];
  if (axesInput && !axesInput.const) return 'slice axes are not constant';
  const count = walk.dims(node.inputs[1])?.[0];
  if (count === undefined) return 'slice rank unknown';
  const axes = axesInput?.const ? axesInput.const.toNumbers().map((a) => normAxis(a, dims.length)) : [...Array(count).keys()];
  const entry = axes.indexOf(axis);
  if (entry < 0) return undefined;
  const [starts, ends, steps] = [node.inputs[1]?.const, node.inputs[2]?.const, node.inputs[4]?.const];
  if (!starts || !ends || (node.inputs[4] && !steps)) return 'slice along the channel axis with computed bounds';
  if (steps && steps.get(entry) !== 1) return 'strided slice along the channel axis';
  const n = dims[axis]!;
  const clamp = (v: number) => Math.max(0, Math.min(n, v < 0 ? v + n : v));
  return { entry, start: clamp(starts.get(entry)), end: clamp(ends.get(entry)) };
}

/** A product of two activations: batch axes broadcast, k pairs both operands, m and n pass to the output. */
const matmul: Rule = {
  links(walk, node) {
    const [a, b] = node.inputs as [Value, Value];
    const y = node.outputs[0]!;
    const [ra, rb, ro] = [walk.dims(a)?.length, walk.dims(b)?.length, walk.dims(y)?.length];
    if (ra === undefined || rb === undefined || ro === undefined || ra < 2 || rb < 2) return 'operand ranks unknown or below 2';
    const role = (l: Link): string => {
      if (l.value === y) return l.axis === ro - 1 ? 'n' : l.axis === ro - 2 ? 'm' : `b${l.axis}`;
      if (l.input === 0) return l.axis === ra - 1 ? 'k' : l.axis === ra - 2 ? 'm' : `b${l.axis + ro - ra}`;
      return l.axis === rb - 2 ? 'k' : l.axis === rb - 1 ? 'n' : `b${l.axis + ro - rb}`;
    };
    const members = memberLinks(walk, node);
    const roles = new Set(members.map(role));
    if (roles.size > 1) return `channels reach MatMul on unrelated axes (${[...roles].join(', ')})`;
    const r = [...roles][0]!;
    const removed = union(...members.map((l) => l.removed));
    if (r === 'k') return [{ value: a, input: 0, axis: ra - 1, removed }, { value: b, input: 1, axis: rb - 2, removed }];
    if (r === 'm') return [{ value: a, input: 0, axis: ra - 2, removed }, { value: y, axis: ro - 2, removed }];
    if (r === 'n') return [{ value: b, input: 1, axis: rb - 1, removed }, { value: y, axis: ro - 1, removed }];
    const o = Number(r.slice(1));
    const size = walk.dims(y)![o]!;
    const links: Link[] = [{ value: y, axis: o, removed }];
    for (const [v, input, rank] of [[a, 0, ra], [b, 1, rb]] as const) {
      const axis = o - (ro - rank);
      const d = walk.dims(v)![axis];
      if (axis < 0 || d === 1) continue;
      if (d !== size) return `operand ${input} has ${d} entries on the batch axis, expected ${size}`;
      links.push({ value: v, input, axis, removed });
    }
    return links;
  },
};

const gather: Rule = {
  links(walk, node) {
    const [data, indices] = node.inputs as [Value, Value];
    const [rd, q] = [walk.dims(data)?.length, walk.dims(indices)?.length];
    if (rd === undefined || q === undefined) return 'rank unknown';
    if (walk.member(indices)) return 'channels reach the gather indices';
    const g = normAxis(node.attrInt('axis', 0)!, rd);
    const md = walk.member(data);
    const my = walk.member(node.outputs[0]);
    let dataAxis: number;
    if (md) dataAxis = md.axis;
    else if (my!.axis < g) dataAxis = my!.axis;
    else if (my!.axis >= g + q) dataAxis = my!.axis - q + 1;
    else return 'channels on the gathered axis';
    if (dataAxis === g) return 'Gather selects along the channel axis';
    const outAxis = dataAxis < g ? dataAxis : dataAxis + q - 1;
    if (my && my.axis !== outAxis) return 'input and output carry channels on axes the gather does not pair';
    const removed = union(md?.removed, my?.removed);
    return [{ value: data, input: 0, axis: dataAxis, removed }, { value: node.outputs[0]!, axis: outAxis, removed }];
  },
};

/** Ops whose result depends on the input's shape only: it is recomputed at run time. */
const shapeOnly: Rule = { links: () => [] };

const rules = new Map<Op, Rule>();
for (const op of Elementwise) rules.set(op, elementwise);
const table: [Rule, Op[]][] = [
  [elementwise, [Op.Dropout]],
  [normalizing, [Op.LayerNormalization, Op.RMSNorm, Op.Softmax, Op.LogSoftmax]],
  [transpose, [Op.Transpose]],
  [reshapes, [Op.Reshape, Op.Flatten, Op.Squeeze, Op.Unsqueeze]],
  [expand, [Op.Expand]],
  [split, [Op.Split]],
  [concat, [Op.Concat]],
  [slice, [Op.Slice]],
  [matmul, [Op.MatMul]],
  [gather, [Op.Gather]],
  [shapeOnly, [Op.Shape, Op.Size]],
];
for (const [rule, ops] of table) for (const op of ops) rules.set(op, rule);
