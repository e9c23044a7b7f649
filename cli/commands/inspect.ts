// `sparsec inspect model.onnx`: what a model is made of, and what sparsec cannot run yet.

import { dtypeBytes } from '../../ir/dtype.js';
import { unsupportedNodes } from '../../ir/executor/index.js';
import type { Graph, Model, Node, Value } from '../../ir/graph.js';
import { printGraph } from '../../ir/printer.js';
import { canonicalStructure } from '../../passes/structure/canonical.js';
import { summarizeStructure, type StructureSummary } from '../../passes/structure/summary.js';
import type { ModelStructure } from '../../passes/structure/types.js';
import type { InspectOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatBytes, formatCount, formatShape } from '../format.js';
import { formatStructure } from './inspect-structure.js';
import { feedInputs, inferTypesOrWarn, loadUserModel, resolveShapeBindings, specialize } from './model.js';

export interface TensorSummary {
  name: string;
  dtype: string | null;
  /** Dims as numbers, or symbol names; null when the rank is unknown. */
  shape: (number | string)[] | null;
}

export interface ModelSummary {
  file: string;
  producer: { name: string; version: string };
  irVersion: number;
  /** Opset per domain; '' is ai.onnx. */
  opsets: Record<string, number>;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  nodes: number;
  /** Node count per op, most frequent first. */
  ops: Record<string, number>;
  parameters: { count: number; bytes: number; constants: number };
  unsupported: { node: string; op: string }[];
  /** With --shape: the bindings and the shapes that follow from them. */
  specialized?: { bindings: Record<string, number[]>; inputs: TensorSummary[]; outputs: TensorSummary[] };
  ir?: string;
  /** With --structure: what structure recognition found (on the canonical graph). */
  structure?: StructureSummary;
}

export async function inspect(opts: InspectOptions, ctx: CommandContext): Promise<void> {
  const model = await loadUserModel(opts.model, ctx);
  // Bind shapes before summarizing: a bad --shape must fail before anything is printed.
  const bindings = resolveShapeBindings(model, opts.shapes, opts.model);
  const summary = summarize(model, opts.model);
  let shown = model;
  if (opts.shapes.length > 0) {
    shown = specialize(model, bindings, opts.model);
    summary.specialized = { bindings, inputs: feedInputs(shown).map(tensorSummary), outputs: shown.graph.outputs.map(tensorSummary) };
  }
  // With --shape, the IR shown is the specialized one: that is what later stages compile.
  if (opts.ir) {
    // Types make the IR readable; a model inference cannot handle is still shown, untyped.
    if (shown === model) inferTypesOrWarn(model, opts.model, ctx);
    summary.ir = printGraph(shown.graph);
  }
  // Recognition canonicalizes the model in place, so it runs after the IR is printed.
  let structure: ModelStructure | undefined;
  if (opts.structure) {
    structure = canonicalStructure(shown).structure;
    summary.structure = summarizeStructure(structure);
  }
  ctx.print(opts.json ? JSON.stringify(summary, null, 2) : formatSummary(summary, ctx, structure));
}

export function summarize(model: Model, file: string): ModelSummary {
  const nodes = [...allNodes(model.graph)];
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(opLabel(n), (counts.get(opLabel(n)) ?? 0) + 1);
  const ops = Object.fromEntries([...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)));
  let count = 0;
  let bytes = 0;
  let constants = 0;
  for (const g of allGraphs(model.graph)) {
    for (const c of g.constants.values()) {
      const t = c.const!;
      constants++;
      count += t.size;
      bytes += t.dtype === 'string' ? (t.data as string[]).reduce((s, x) => s + Buffer.byteLength(x), 0) : t.size * dtypeBytes(t.dtype);
    }
  }
  return {
    file,
    producer: { name: model.producerName, version: model.producerVersion },
    irVersion: model.irVersion,
    opsets: Object.fromEntries([...model.opsets].sort(([a], [b]) => (a < b ? -1 : 1))),
    inputs: feedInputs(model).map(tensorSummary),
    outputs: model.graph.outputs.map(tensorSummary),
    nodes: nodes.length,
    ops,
    parameters: { count, bytes, constants },
    unsupported: unsupportedNodes(model.graph).map((n) => ({ node: n.name, op: opLabel(n) })),
  };
}

function tensorSummary(v: Value): TensorSummary {
  return { name: v.name, dtype: v.dtype ?? null, shape: v.shape ? [...v.shape] : null };
}

function opLabel(n: Node): string {
  return n.op === 'Opaque' ? `${n.domain ? `${n.domain}.` : ''}${n.opType}` : n.op;
}

function* allGraphs(g: Graph): Iterable<Graph> {
  yield g;
  for (const n of g.nodes) for (const sub of n.subgraphs()) yield* allGraphs(sub);
}

function* allNodes(g: Graph): Iterable<Node> {
  for (const sub of allGraphs(g)) yield* sub.nodes;
}

function formatSummary(s: ModelSummary, ctx: CommandContext, structure?: ModelStructure): string {
  const { bold, red } = ctx.colors;
  const lines: string[] = [];
  const table = (rows: string[][]) => {
    const w = rows.map((r) => r.map((c) => c.length)).reduce((a, b) => a.map((x, i) => Math.max(x, b[i] ?? 0)), rows[0]?.map(() => 0) ?? []);
    for (const r of rows) lines.push(`  ${r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join('  ')}`.trimEnd());
  };
  const tensors = (title: string, ts: TensorSummary[]) => {
    lines.push(bold(title));
    if (ts.length === 0) lines.push('  (none)');
    table(ts.map((t) => [t.name, `${t.dtype ?? '?'}${formatShape(t.shape ?? undefined)}`]));
  };
  const opsets = Object.entries(s.opsets).map(([d, v]) => `${d === '' ? 'ai.onnx' : d} ${v}`).join(', ');
  const producer = [s.producer.name, s.producer.version].filter((x) => x).join(' ') || 'unknown';
  lines.push(`${bold(s.file)}`);
  table([
    ['producer', producer],
    ['format', `ONNX IR ${s.irVersion}; opsets ${opsets || 'none'}`],
    ['parameters', `${formatCount(s.parameters.count)} in ${formatCount(s.parameters.constants)} constants (${formatBytes(s.parameters.bytes)})`],
  ]);
  tensors('inputs', s.inputs);
  tensors('outputs', s.outputs);
  lines.push(bold(`ops (${formatCount(s.nodes)} ${s.nodes === 1 ? 'node' : 'nodes'})`));
  table(Object.entries(s.ops).map(([op, n]) => [op, String(n)]));
  if (s.unsupported.length === 0) {
    lines.push(`${bold('unsupported ops')}: none`);
  } else {
    lines.push(red(bold(`unsupported ops (${s.unsupported.length} ${s.unsupported.length === 1 ? 'node' : 'nodes'})`)));
    table(s.unsupported.map((u) => [u.op, `'${u.node}'`]));
  }
  if (s.specialized) {
    const b = Object.entries(s.specialized.bindings).map(([k, v]) => `${k}=${v.join(',')}`).join(' ');
    tensors(`inputs (--shape ${b})`, s.specialized.inputs);
    tensors(`outputs (--shape ${b})`, s.specialized.outputs);
  }
  if (structure) {
    lines.push(bold('structure'), ...formatStructure(structure));
    if (structure.unrecognized.length > 0) {
      lines.push(red(bold(`not recognized (${structure.unrecognized.length})`)));
      for (const u of structure.unrecognized) lines.push(`  ${u.node ? `${u.node.describe()}: ` : ''}${u.reason}`);
    }
  }
  if (s.ir) lines.push(bold('ir'), s.ir.trimEnd());
  return lines.join('\n');
}
