// What SliceGPT will touch, read from the recognized structure and checked against the graph:
// the embedding tables that write the first stream state, and per sublayer the norm, the linear
// layers reading the norm's output (q/k/v, up/gate, router, experts), the linear layers writing
// the sublayer's output (attention out, MLP down, experts' down) and the residual Add; then the
// final norm and the head. Any other use of the stream or of a norm's output would see the
// rotated basis unaware, so it stops the pass with one message naming it (Shape nodes are the
// exception: width-shapes.ts repairs them).

import { error } from '../../ir/diagnostics.js';
import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { ModelStructure, Norm, NormKind, Sublayer } from '../structure/types.js';
import { isLinearReader } from './matrix.js';

export interface SublayerPlan {
  /** For reports: `layer 0 attention`. */
  readonly name: string;
  readonly norm: Norm;
  /** The stream state the norm reads (states[i]). */
  readonly state: Value;
  readonly readers: readonly Node[];
  readonly writers: readonly Node[];
  readonly add: Node;
}

export interface SlicePlan {
  readonly graph: Graph;
  readonly width: number;
  readonly normKind: NormKind;
  /** Gathers whose table (input 0) writes the first state: tokens, then learned positions. */
  readonly tables: readonly Node[];
  /** states[0] is the embedding output; sublayer i reads states[i]; the final norm reads the last. */
  readonly states: readonly Value[];
  readonly sublayers: readonly SublayerPlan[];
  readonly final: { readonly norm: Norm; readonly readers: readonly Node[] };
  /** The head reads the token table (tied): slicing gives it its own weight. */
  readonly tiedHead: boolean;
}

const refuse = (file: string | undefined, text: string, node?: Node) =>
  error('BAD_MODEL', `cannot slice: ${text}`, { file, ...(node ? { node: node.name, opType: node.opType } : {}) });

export function planSlicing(graph: Graph, s: ModelStructure, file?: string): SlicePlan {
  const why = s.unrecognized.length > 0 ? ` (${s.unrecognized[0]!.reason})` : '';
  if (!s.stream || !s.embedding || s.layers.length === 0) throw refuse(file, `no transformer residual stream found${why}`);
  if (s.stream.normPlacement !== 'pre') {
    throw refuse(file, 'the norms follow the residual Adds (post-norm, as in BERT); the rotation needs pre-norm blocks, whose norms read the stream');
  }
  if (!s.finalNorm || !s.head) throw refuse(file, `no final norm and output head after the last block${why}`);
  const width = s.stream.width;
  const states = s.stream.states;
  const sublayers = s.layers.flatMap((l) => l.sublayers.map((sub) => ({ layer: l.index, sub })));
  if (states.length !== sublayers.length + 1) throw refuse(file, `the residual stream has ${states.length} states for ${sublayers.length} sublayers`);

  const plans = sublayers.map(({ layer, sub }, i) => planSublayer(`layer ${layer} ${sub.kind}`, sub, states[i]!, states[i + 1]!, width, file));
  const finalReaders = normReaders(s.finalNorm, file);
  if (!finalReaders.includes(s.head.node)) throw refuse(file, 'the output head does not read the final norm', s.head.node);
  const norms = [...plans.map((p) => p.norm), s.finalNorm];
  const kinds = new Set(norms.map((n) => n.kind));
  if (kinds.size > 1) throw refuse(file, 'the model mixes LayerNorm and RMSNorm');
  for (const n of norms) checkNorm(n, width, file);

  const tables = embeddingTables(s, file);
  const expected = new Map<Value, Set<Node>>();
  plans.forEach((p, i) => expected.set(states[i]!, new Set([p.norm.node, p.add])));
  expected.set(states[states.length - 1]!, new Set([s.finalNorm.node]));
  for (const [state, allowed] of expected) checkStateUses(state, allowed, file);
  return {
    graph, width, normKind: s.finalNorm.kind, tables, states, sublayers: plans,
    final: { norm: s.finalNorm, readers: finalReaders },
    tiedHead: s.head.tied,
  };
}

function planSublayer(name: string, sub: Sublayer, state: Value, next: Value, width: number, file?: string): SublayerPlan {
  if (!sub.norm) throw refuse(file, `${name} reads the stream without a norm`);
  if (sub.norm.input !== state) throw refuse(file, `${name}'s norm does not read the residual stream`, sub.norm.node);
  const add = sub.residualAdd;
  if (!add || add.outputs[0] !== next || !add.inputs.includes(state)) throw refuse(file, `${name} has no residual Add onto the stream`);
  const writers = sub.kind === 'attention' ? [sub.out] : sub.kind === 'mlp' ? [sub.down] : sub.experts.map((e) => e.down);
  for (const w of writers) {
    const out = w.inputs[1]?.const?.shape;
    if (!out || !isLinearReader(w, w.inputs[0]!)) throw refuse(file, `${name}'s output projection is not a linear layer with a constant weight`, w);
  }
  return { name, norm: sub.norm, state, readers: normReaders(sub.norm, file), writers, add };
}

/** The linear layers reading a norm's output; Shape nodes are allowed, anything else refused. */
function normReaders(norm: Norm, file?: string): Node[] {
  const readers: Node[] = [];
  for (const { node } of norm.output.uses) {
    if (isLinearReader(node, norm.output)) readers.push(node);
    else if (node.op !== Op.Shape) {
      throw refuse(file, `${node.describe()} reads the output of norm '${norm.node.name}' but is not a linear layer with a constant weight`, node);
    }
  }
  if (norm.output.isGraphOutput) throw refuse(file, `norm output '${norm.output.name}' is a graph output`, norm.node);
  return [...new Set(readers)];
}

function checkNorm(n: Norm, width: number, file?: string): void {
  const rank = n.input.rank;
  const axis = n.node.attrInt('axis', -1);
  if (rank === undefined || (axis !== -1 && axis !== rank - 1)) throw refuse(file, 'the norm does not normalize the last axis alone', n.node);
  for (const v of [n.scale, n.bias]) {
    if (v && (!v.const || v.const.size !== width)) throw refuse(file, `the norm's scale or shift is not a constant of ${width} elements`, n.node);
  }
}

function checkStateUses(state: Value, allowed: ReadonlySet<Node>, file?: string): void {
  if (state.isGraphOutput) throw refuse(file, `residual stream value '${state.name}' is a graph output`);
  for (const { node } of state.uses) {
    if (!allowed.has(node) && node.op !== Op.Shape) throw refuse(file, `${node.describe()} reads the residual stream directly ('${state.name}')`, node);
  }
}

/**
 * The token table's Gather, and the positions' Gather when learned positions are added; the
 * first state must be their output or their sum.
 */
function embeddingTables(s: ModelStructure, file?: string): Node[] {
  const e = s.embedding!;
  const tables = [e.gather, ...(e.positions ? [e.positions.gather] : [])];
  for (const g of tables) {
    const t = g.inputs[0]?.const;
    if (!t || t.rank !== 2 || t.shape[1] !== s.stream!.width) throw refuse(file, 'the embedding is not a Gather from a constant [vocab, width] table', g);
    const out = g.outputs[0]!;
    if (out !== s.stream!.states[0] && out.uses.length !== 1) throw refuse(file, `the embedding '${g.outputs[0]!.name}' has readers besides the stream`, g);
  }
  const first = s.stream!.states[0]!;
  const direct = tables.length === 1 && e.gather.outputs[0] === first;
  const summed = e.positions !== undefined && e.positions.add.outputs[0] === first &&
    tables.every((g) => e.positions!.add.inputs.includes(g.outputs[0]));
  if (!direct && !summed) throw refuse(file, 'the first stream state is not the embedding (plus learned positions)', e.gather);
  return tables;
}
