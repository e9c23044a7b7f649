// Steps 3 and 4 of SliceGPT on a model whose norms were made plain RMS norms (fold.ts): rotate
// the residual stream into the principal basis of each state and keep its first `kept`
// coordinates. With Q_i the basis of state i (the input of sublayer i):
//
//   embedding tables     E  <- E Q_0                       (writers: Q on the output side)
//   readers of norm i    W  <- Q_i^T W                     (readers: Q^T on the input side)
//   writers of sublayer  W  <- W Q_{i+1},  b <- b Q_{i+1}
//   residual Add i       skip path <- state_i (Q_i^T Q_{i+1})   only where Q_i != Q_{i+1}
//   output head          W  <- Q_L^T W
//
// Every Q keeps only its first `kept` columns. The norm of a sliced stream keeps dividing by
// the original width d: x' / sqrt(sum x'^2 / d + eps) = sqrt(d/kept) * x' / sqrt(mean x'^2 + eps * d/kept),
// which is RMSNorm with scale sqrt(d/kept) and epsilon eps * d/kept, exact for kept = d.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { Tensor } from '../../ir/tensor.js';
import type { Norm } from '../structure/types.js';
import { readLinear, readTable, tableTensor, times, transposeTimes, vectorTimes, writeLinear, type Matrix } from './matrix.js';
import type { Basis } from './pca.js';
import type { SlicePlan } from './plan.js';

export interface Shortcut {
  /** The residual Add that got it. */
  readonly add: Node;
  readonly node: Node;
}

export interface Rotated {
  readonly shortcuts: readonly Shortcut[];
  /** The new RMSNorms' outputs (sliced values, like the states). */
  readonly normOutputs: readonly Value[];
}

/** `bases[i]` rotates states[i]; equal objects for consecutive states mean no shortcut matrix. */
export function rotateAndSlice(plan: SlicePlan, bases: readonly Basis[], kept: number): Rotated {
  if (bases.length !== plan.states.length) throw new Error(`rotateAndSlice: ${bases.length} bases for ${plan.states.length} states`);
  const g = plan.graph;
  for (const gather of plan.tables) {
    const table = gather.inputs[0]!;
    gather.setInput(0, g.addConstant(table.name, tableTensor(times(readTable(table), bases[0]!.q, kept), table.const!)));
  }
  const shortcuts: Shortcut[] = [];
  const normOutputs: Value[] = [];
  plan.sublayers.forEach((s, i) => {
    const here = bases[i]!;
    const next = bases[i + 1]!;
    for (const r of s.readers) rotateReader(r, here.q, kept);
    for (const w of s.writers) rotateWriter(w, next.q, kept);
    normOutputs.push(replaceNorm(s.norm, plan.width, kept));
    if (here !== next) shortcuts.push({ add: s.add, node: insertShortcut(g, s.add, s.state, transposeTimes(here.q, next.q, kept, kept)) });
  });
  for (const r of plan.final.readers) rotateReader(r, bases[bases.length - 1]!.q, kept);
  normOutputs.push(replaceNorm(plan.final.norm, plan.width, kept));
  return { shortcuts, normOutputs };
}

function rotateReader(node: Node, q: Matrix, kept: number): void {
  const lw = readLinear(node);
  lw.weight = transposeTimes(q, lw.weight, kept);
  writeLinear(lw);
}

function rotateWriter(node: Node, q: Matrix, kept: number): void {
  const lw = readLinear(node);
  lw.weight = times(lw.weight, q, kept);
  if (lw.bias) lw.bias = vectorTimes(lw.bias, q, kept);
  writeLinear(lw);
}

/** A fresh RMSNorm (no shift) dividing by the original width, in place of the norm node. */
function replaceNorm(norm: Norm, width: number, kept: number): Value {
  const node = norm.node;
  const g = node.graph;
  const dtype = norm.input.dtype ?? 'float32';
  const scale = Tensor.zeros(dtype, [kept]);
  for (let i = 0; i < kept; i++) scale.set(i, Math.sqrt(width / kept));
  const epsilon = node.attrFloat('epsilon', 1e-5) * (width / kept);
  const rms = g.addNode(
    {
      op: Op.RMSNorm,
      inputs: [norm.input, g.addConstant(`${node.name}_scale`, scale)],
      outputs: 1,
      attrs: { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: epsilon } },
      name: `${node.name}_rms`,
    },
    node,
  );
  const out = rms.outputs[0]!;
  out.dtype = norm.output.dtype;
  out.shape = norm.output.shape;
  norm.output.replaceAllUsesWith(out);
  g.removeNode(node, true);
  return out;
}

/** state -> Linear(state, S) on the Add's skip input. */
function insertShortcut(g: Graph, add: Node, state: Value, s: Matrix): Node {
  const t = Tensor.zeros(state.dtype ?? 'float32', [s.rows, s.cols]);
  s.data.forEach((x, i) => t.set(i, x));
  const weight = g.addConstant(`${add.name}_shortcut`, t);
  const node = g.addNode({ op: Op.Linear, inputs: [state, weight], outputs: 1, name: `${add.name}_shortcut` }, add);
  node.outputs[0]!.dtype = state.dtype;
  const index = add.inputs.indexOf(state);
  add.setInput(index, node.outputs[0]!);
  return node;
}
