// Removing experts from a MoE block, in either form structure recognition finds:
//
//   dense (every expert runs, its output scaled by a routing weight that is zero unless chosen):
//     router -> [Softmax] -> TopK(k) -> [renormalize] -> ScatterElements into zeros [.., E]
//       -> per expert e: Slice [e:e+1] (or Gather e) -> Mul with the expert's output -> Add chain
//   gathered (each expert runs on the tokens that chose it):
//     per expert e: NonZero(Equal(TopK indices, e)) -> Gather tokens -> expert -> Mul by their
//       weights -> ScatterND into zeros [tokens, width] -> Add chain
//
// Dropped experts leave the Add chain (DCE then removes their weights), kept experts' column
// numbers (Slice/Gather indices, or the Equal constants) are renumbered, the dense zeros'
// expert axis shrinks where a constant fixes it, and k is clamped to the experts left. The
// router is edited one of two ways:
//
// - 'columns': its dropped output columns (weight and bias) are removed. Exact for the kept
//   experts' relative weights when nothing between router and TopK mixes columns (logits,
//   Sigmoid) or when a Softmax is followed by top-k renormalization (Div by the sum, or a
//   Softmax over the k values): the changed softmax denominator cancels.
// - 'gather': a Softmax whose top-k values are used as they are (no renormalization) would
//   hand the kept experts larger weights over a smaller denominator. There the router keeps
//   all its columns and a Gather of the kept probabilities sits before TopK, so every kept
//   expert's weight stays exactly what it was (the price: the dropped columns' few router
//   weights stay in the model).
//
// Everything is checked before anything is changed: a block this cannot handle is left as it
// was, with the reason in the thrown error.

import { error } from '../../ir/diagnostics.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import { linearLayer } from '../permute/layers.js';
import type { Expert, MoeBlock } from '../structure/types.js';
import { expertCount, gateRule } from './routing.js';
import { constNumbers, setConstInput, takeAlong } from './tensors.js';

export type RouterEdit = 'columns' | 'gather';

export interface RemovalResult {
  readonly kept: readonly number[];
  readonly dropped: readonly number[];
  readonly k: { readonly before: number; readonly after: number };
  readonly routerEdit: RouterEdit;
  /** Why the router was edited that way, and anything else a user should know. */
  readonly notes: string[];
}

/** Ops between the router and TopK that treat each expert's column on its own. */
const COLUMNWISE: ReadonlySet<Op> = new Set([Op.Sigmoid, Op.Cast, Op.Identity]);

/** Ops that pass TopK's indices on unchanged in value. */
const INDEX_PRESERVING: ReadonlySet<Op> = new Set([Op.Cast, Op.Unsqueeze, Op.Reshape]);

interface Plan {
  readonly block: MoeBlock;
  readonly experts: number;
  readonly kept: readonly number[];
  readonly dropped: readonly number[];
  readonly k: number;
  readonly routerEdit: RouterEdit;
  /** Reshapes on the router -> TopK path whose constant shape ends in the expert count. */
  readonly reshapes: readonly Node[];
  /** Per dropped expert: the value its Add-chain term enters the sum as. */
  readonly terms: ReadonlyMap<number, Value>;
  /** Per expert: the node naming its column, and the input holding that number. */
  readonly selectors: ReadonlyMap<number, { readonly node: Node; readonly input: number }>;
  /** Dense form: the zeros the routing weights are scattered into. */
  readonly zeros?: { readonly kind: 'constant' | 'constant-shape' | 'dynamic'; readonly node: Node };
  readonly notes: string[];
}

/** Ops a gathered expert's weighted output passes through on its way into the Add chain. */
const TERM_PATH: ReadonlySet<Op> = new Set([Op.Reshape, Op.Unsqueeze, Op.Squeeze, Op.Cast, Op.ScatterND, Op.ScatterElements]);

function unsupported(block: MoeBlock, text: string, at: Node = block.topK): never {
  throw error('UNSUPPORTED_OP', `MoE block of router '${block.router.name}': ${text}`, { node: at.name, opType: at.opType });
}

function lastAxis(value: Value | undefined, axis: number | undefined): boolean {
  const rank = value?.rank;
  return axis === -1 || (rank !== undefined && axis === rank - 1);
}

/** The routing-weight tensor an expert's weight is read from, checked to be column `e`. */
function routingSource(block: MoeBlock, x: Expert, experts: number): { source: Value; selector: { node: Node; input: number } } {
  const w = x.weight;
  const p = w?.producer;
  if (!w || !p || !x.combine) unsupported(block, `expert ${x.index} has no routing weight applied by a Mul`);
  const column = (i: number | undefined) => (i !== undefined && i < 0 ? i + experts : i);
  if (p.op === Op.Slice) {
    const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => constNumbers(p, i));
    const axisOk = axes === undefined ? p.inputs[0]?.rank === 1 : axes.length === 1 && lastAxis(p.inputs[0], axes[0]);
    const start = column(starts?.[0]);
    const end = ends?.length === 1 ? Math.min(column(ends[0])!, experts) : undefined;
    if (start !== x.index || end !== x.index + 1 || !axisOk || (steps && steps[0] !== 1) || starts!.length !== 1) {
      unsupported(block, `expert ${x.index}'s routing weight is not the slice [${x.index}:${x.index + 1}] of the last axis`, p);
    }
    return { source: p.inputs[0]!, selector: { node: p, input: 1 } };
  }
  const index = constNumbers(p, 1);
  if (p.op === Op.Gather && lastAxis(p.inputs[0], p.attrInt('axis', 0)) && index?.length === 1 && column(index[0]) === x.index) {
    return { source: p.inputs[0]!, selector: { node: p, input: 1 } };
  }
  return unsupported(block, `expert ${x.index}'s routing weight comes from ${p.describe()}, not a Slice or Gather of one expert`, p);
}

/** Whether `v` is TopK's indices, directly or through ops that keep index values. */
function carriesIndices(v: Value | undefined, indices: Value): boolean {
  for (let i = 0; v && i < 4; i++, v = v.producer?.inputs[0]) {
    if (v === indices) return true;
    if (!v.producer || !INDEX_PRESERVING.has(v.producer.op)) return false;
  }
  return false;
}

function plan(block: MoeBlock, kept: readonly number[]): Plan {
  const experts = expertCount(block);
  const indices = new Set(block.experts.map((x) => x.index));
  if (block.experts.length !== experts || indices.size !== experts || ![...indices].every((i) => i >= 0 && i < experts)) {
    unsupported(block, `the router has ${experts} outputs but ${block.experts.length} experts were found`, block.router);
  }
  const layer = linearLayer(block.router);
  if (!layer || !block.router.inputs[layer.weightIndex]?.const) unsupported(block, 'the router is not a linear layer with a constant weight', block.router);
  const dropped = [...Array(experts).keys()].filter((e) => !kept.includes(e));
  const notes: string[] = [];

  const terms = new Map<number, Value>();
  for (const e of dropped) terms.set(e, sumTerm(block, block.experts.find((x) => x.index === e)!));
  const dense = block.form === 'dense' ? densePlan(block, experts) : undefined;
  const selectors = dense ? dense.selectors : gatheredSelectors(block, experts);

  const k = constNumbers(block.topK, 1);
  if (k?.length !== 1 || !lastAxis(block.topK.inputs[0], block.topK.attrInt('axis', -1))) {
    unsupported(block, 'TopK does not choose a constant k along the expert axis');
  }

  // Walk from TopK's input back to the router, noting what lies between.
  const reshapes: Node[] = [];
  let softmax = false;
  for (let v = block.topK.inputs[0]!; v !== block.router.outputs[0]; ) {
    const p = v.producer;
    if (!p) unsupported(block, 'TopK does not read the router output');
    if (p.op === Op.Softmax && lastAxis(p.inputs[0], p.attrInt('axis', -1))) softmax = true;
    else if (p.op === Op.Reshape && constNumbers(p, 1)?.at(-1) === experts) reshapes.push(p);
    else if (!COLUMNWISE.has(p.op)) unsupported(block, `${p.describe()} between the router and TopK mixes expert columns`, p);
    v = p.inputs[0]!;
  }
  let routerEdit: RouterEdit = 'columns';
  if (softmax && gateRule(block) === 'raw') {
    routerEdit = 'gather';
    notes.push('the top-k softmax weights are not renormalized, so the router keeps all its columns and the kept probabilities are gathered before TopK: kept experts keep their weights exactly');
  } else if (softmax) {
    notes.push('router columns removed: the top-k weights are renormalized, so the kept experts keep their relative weights');
  }

  return { block, experts, kept, dropped, k: k[0]!, routerEdit, reshapes, terms, selectors, ...(dense ? { zeros: dense.zeros } : {}), notes };
}

/** Dense form: each expert's Slice/Gather of the scattered weights, and the scatter's zeros. */
function densePlan(block: MoeBlock, experts: number): { selectors: Plan['selectors']; zeros: NonNullable<Plan['zeros']> } {
  const found = block.experts.map((x) => ({ x, ...routingSource(block, x, experts) }));
  const sources = new Set(found.map((f) => f.source));
  if (sources.size !== 1) unsupported(block, 'experts read their routing weights from different tensors');
  const scatter = [...sources][0]!.producer;
  if (scatter?.op !== Op.ScatterElements || !carriesIndices(scatter.inputs[1], block.topK.outputs[1]!) || !lastAxis(scatter.inputs[0], scatter.attrInt('axis', 0))) {
    unsupported(block, 'the routing weights are not the top-k weights scattered into an expert axis', scatter ?? block.topK);
  }
  const selectors = new Map(found.map((f) => [f.x.index, f.selector]));
  const zerosNode = scatter.inputs[0]!.producer;
  const zerosConst = scatter.inputs[0]!.const;
  if (zerosConst) {
    if (zerosConst.shape.at(-1) !== experts) unsupported(block, 'the routing-weight zeros do not have one entry per expert', scatter);
    return { selectors, zeros: { kind: 'constant', node: scatter } };
  }
  if (zerosNode?.op === Op.ConstantOfShape && zerosNode.inputs[0]?.const) {
    if (constNumbers(zerosNode, 0)!.at(-1) !== experts) unsupported(block, 'the routing-weight zeros do not have one entry per expert', zerosNode);
    return { selectors, zeros: { kind: 'constant-shape', node: zerosNode } };
  }
  if (zerosNode?.op === Op.ConstantOfShape && zerosNode.inputs[0]?.producer?.op === Op.Shape && followsExpertAxis(zerosNode.inputs[0].producer.inputs[0]!, block)) {
    return { selectors, zeros: { kind: 'dynamic', node: zerosNode } };
  }
  return unsupported(block, 'cannot tell how the routing-weight zeros get their expert axis', zerosNode ?? scatter);
}

/** Gathered form: the Equal(TopK indices, e) choosing each expert's tokens. */
function gatheredSelectors(block: MoeBlock, experts: number): Plan['selectors'] {
  const selectors = new Map<number, { node: Node; input: number }>();
  const indices = block.topK.outputs[1]!;
  const readers: Node[] = [];
  const stack = [indices];
  while (stack.length > 0) {
    for (const u of stack.pop()!.uses) {
      if (INDEX_PRESERVING.has(u.node.op)) stack.push(u.node.outputs[0]!);
      else readers.push(u.node);
    }
  }
  for (const n of readers) {
    if (n.op !== Op.Equal) continue;
    const input = n.inputs[0]?.const ? 0 : n.inputs[1]?.const ? 1 : -1;
    const value = input >= 0 ? n.inputs[input]!.const! : undefined;
    if (!value || value.size !== 1) continue;
    const e = value.get(0) < 0 ? value.get(0) + experts : value.get(0);
    if (selectors.has(e)) unsupported(block, `two nodes choose the tokens of expert ${e}`, n);
    selectors.set(e, { node: n, input });
  }
  for (const x of block.experts) {
    if (!selectors.has(x.index)) unsupported(block, `cannot find the Equal(TopK indices, ${x.index}) choosing expert ${x.index}'s tokens`);
  }
  return selectors;
}

/** The value an expert's weighted output enters the block's Add chain as. */
function sumTerm(block: MoeBlock, x: Expert): Value {
  if (!x.combine) unsupported(block, `expert ${x.index} has no Mul applying its routing weight`, x.down);
  let v = x.combine.outputs[0]!;
  for (let i = 0; i < 8; i++) {
    if (v.uses.length !== 1 || v.isGraphOutput) break;
    const next = v.uses[0]!.node;
    if (next.op === Op.Add) return v;
    if (!TERM_PATH.has(next.op)) break;
    v = next.outputs[0]!;
  }
  return unsupported(block, `expert ${x.index}'s weighted output is not summed by an Add`, x.combine);
}

/** A value on the router -> TopK path (its last axis is the expert axis, and shrinks with it). */
function followsExpertAxis(v: Value, block: MoeBlock): boolean {
  for (let u: Value | undefined = block.topK.inputs[0]; u; u = u.producer?.inputs[0]) {
    if (u === v) return true;
    if (u === block.router.outputs[0]) return false;
  }
  return false;
}

/** Remove every expert not in `kept` (router columns, ascending) from `block`, in place. */
export function removeExperts(graph: Graph, block: MoeBlock, kept: readonly number[]): RemovalResult {
  const p = plan(block, kept);
  const newIndex = new Map(p.kept.map((e, i) => [e, i]));
  const remaining = p.kept.length;

  for (const term of p.terms.values()) leaveSum(graph, term);
  for (const [old, { node, input }] of p.selectors) {
    const e = newIndex.get(old);
    if (e === undefined || e === old) continue;
    if (node.op === Op.Slice) {
      setConstInput(node, 1, Tensor.int64([e]));
      setConstInput(node, 2, Tensor.int64([e + 1]));
    } else {
      const t = node.inputs[input]!.const!;
      const renumbered = Tensor.zeros(t.dtype, t.shape);
      renumbered.set(0, t.dtype === 'int64' ? BigInt(e) : e);
      setConstInput(node, input, renumbered);
    }
  }

  if (p.routerEdit === 'columns') {
    const layer = linearLayer(block.router)!;
    setConstInput(block.router, layer.weightIndex, takeAlong(block.router.inputs[layer.weightIndex]!.const!, layer.weightOutAxis, p.kept));
    const bias = layer.biasIndex !== undefined ? block.router.inputs[layer.biasIndex]?.const : undefined;
    if (bias) setConstInput(block.router, layer.biasIndex!, takeAlong(bias, -1, p.kept));
    for (const r of p.reshapes) setConstInput(r, 1, withLast(r.inputs[1]!.const!, remaining));
  } else {
    gatherBeforeTopK(graph, block, p.kept);
  }

  if (p.zeros?.kind === 'constant') {
    const z = p.zeros.node.inputs[0]!.const!;
    setConstInput(p.zeros.node, 0, Tensor.zeros(z.dtype, [...z.shape.slice(0, -1), remaining]));
  } else if (p.zeros?.kind === 'constant-shape') {
    setConstInput(p.zeros.node, 0, withLast(p.zeros.node.inputs[0]!.const!, remaining));
  }

  const k = Math.min(p.k, remaining);
  if (k !== p.k) {
    setConstInput(block.topK, 1, withLast(block.topK.inputs[1]!.const!, k));
    p.notes.push(`k clamped from ${p.k} to ${k}: only ${remaining} expert${remaining === 1 ? '' : 's'} left`);
  }
  return { kept: p.kept, dropped: p.dropped, k: { before: p.k, after: k }, routerEdit: p.routerEdit, notes: p.notes };
}

/** Take a summand out of its Add: the Add's result becomes the other operand. */
function leaveSum(graph: Graph, term: Value): void {
  const add = term.uses[0]!.node;
  const other = add.inputs[0] === term ? add.inputs[1]! : add.inputs[0]!;
  add.outputs[0]!.replaceAllUsesWith(other);
  if (add.outputs[0]!.uses.length === 0 && !add.outputs[0]!.isGraphOutput) graph.removeNode(add);
}

/** An int64 vector with its last entry replaced. */
function withLast(t: Tensor, last: number): Tensor {
  const values = t.toNumbers();
  values[values.length - 1] = last;
  return Tensor.int64(values, t.shape);
}

/** Insert Gather(probabilities, kept, axis=-1) before TopK and whatever else reads them. */
function gatherBeforeTopK(graph: Graph, block: MoeBlock, kept: readonly number[]): void {
  const probs = block.topK.inputs[0]!;
  const after = graph.nodes[graph.nodes.indexOf(probs.producer!) + 1];
  const gather = graph.addNode(
    {
      op: Op.Gather,
      inputs: [probs, graph.addConstant(`${block.router.name}_kept_experts`, Tensor.int64(kept))],
      outputs: [`${probs.name}_kept`],
      attrs: { axis: { kind: 'int', value: -1 } },
      name: `${block.router.name}_kept_experts`,
    },
    after,
  );
  const out = gather.outputs[0]!;
  out.dtype = probs.dtype;
  for (const use of [...probs.uses]) if (use.node !== gather) use.node.setInput(use.index, out);
}
