// Shape specialization: bind the model's input shapes to numbers, then alternate inference
// and constant folding (Shape of a now-static value folds, the shape arithmetic behind it
// folds, Reshape targets become constants, inference sees them) until nothing changes. Every
// value of the main graph must then be static; the first node that is not is reported with
// the reason.

import { error } from '../ir/diagnostics.js';
import type { Dim, Model, Node, Shape, Value } from '../ir/graph.js';
import { getOpDef } from '../ir/executor/registry.js';
import { inferTypes } from '../ir/infer.js';
import { Op } from '../ir/ops.js';
import { foldConstants } from './fold-constants.js';
import { walkGraphs } from './liveness.js';

/** Rounds of inference + folding; each round resolves at least one level of shape arithmetic. */
const MAX_ROUNDS = 32;

const fmt = (s: Shape | undefined) => (s ? `[${s.join(',')}]` : 'unknown');

/** Specialize `model` in place to the given input shapes; returns it. */
export function specializeShapes(model: Model, bindings: Record<string, number[]>): Model {
  const graph = model.graph;
  const file = model.sourcePath;
  const symbols = new Map<string, number>();
  const bound = new Map<Value, number[]>();
  for (const [name, dims] of Object.entries(bindings)) {
    const input = graph.inputs.find((v) => v.name === name);
    if (!input) {
      throw error('BAD_OPTION', `the model has no input named '${name}'`, { file }, `Its inputs are: ${graph.inputs.map((v) => v.name).join(', ')}.`);
    }
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw error('BAD_OPTION', `shape ${fmt(dims)} for input '${name}' must hold non-negative integers`, { file, value: name });
    }
    bindInput(input, dims, symbols, file);
    bound.set(input, dims);
  }
  for (const [input, dims] of bound) input.shape = dims;
  substituteSymbols(model, symbols);

  for (let round = 0; round < MAX_ROUNDS; round++) {
    inferTypes(graph, { overwrite: true });
    const r = foldConstants(graph);
    if (r.folded + r.shapeFolds === 0) break;
  }
  checkStatic(model);
  return model;
}

function bindInput(input: Value, dims: readonly number[], symbols: Map<string, number>, file: string | undefined): void {
  const declared = input.shape;
  const where = { file, value: input.name };
  if (!declared) return;
  if (declared.length !== dims.length) {
    throw error('SHAPE_MISMATCH', `input '${input.name}' has rank ${declared.length} (${fmt(declared)}), but the binding ${fmt(dims)} has rank ${dims.length}`, where);
  }
  declared.forEach((d, i) => {
    const n = dims[i]!;
    if (typeof d === 'number') {
      if (d !== n) throw error('SHAPE_MISMATCH', `dim ${i} of input '${input.name}' is ${d} (${fmt(declared)}), but the binding says ${n}`, where);
      return;
    }
    const prev = symbols.get(d);
    if (prev !== undefined && prev !== n) {
      throw error('SHAPE_MISMATCH', `dim '${d}' is bound to both ${prev} and ${n} (input '${input.name}')`, where);
    }
    symbols.set(d, n);
  });
}

/** Replace bound symbols everywhere, so inputs sharing a symbol ('batch') agree. */
function substituteSymbols(model: Model, symbols: ReadonlyMap<string, number>): void {
  if (symbols.size === 0) return;
  const subst = (s: Shape): Dim[] => s.map((d) => (typeof d === 'string' ? (symbols.get(d) ?? d) : d));
  for (const g of walkGraphs(model.graph)) for (const v of g.values()) if (v.shape) v.shape = subst(v.shape);
}

function checkStatic(model: Model): void {
  const graph = model.graph;
  const file = model.sourcePath;
  for (const input of graph.inputs) {
    if (input.kind === 'tensor' && !input.staticShape) {
      throw error(
        'NON_STATIC_SHAPE',
        `input '${input.name}' still has shape ${fmt(input.shape)}`,
        { file, value: input.name },
        'Bind its shape too.',
      );
    }
  }
  for (const node of graph.nodes) {
    const out = node.outputs.find((o) => o.kind === 'tensor' && (o.uses.length > 0 || o.isGraphOutput) && !o.staticShape);
    if (!out) continue;
    throw error(
      'NON_STATIC_SHAPE',
      `output '${out.name}' has shape ${fmt(out.shape)} after specialization: ${whyNotStatic(node)}`,
      { file, node: node.name, opType: node.opType, value: out.name },
      'Its size depends on input data; sparsec needs every shape fixed at compile time.',
    );
  }
}

function whyNotStatic(node: Node): string {
  if (node.op === Op.Opaque || !getOpDef(node.op)) return `sparsec cannot infer shapes for op ${node.opType}`;
  const dynamicInputs = node.inputs.filter((v): v is Value => v !== undefined && !v.const);
  const shapeInputs = dynamicInputs.map((v) => `'${v.name}'`).join(', ');
  if (node.op === Op.NonZero || node.op === Op.Unique || node.op === Op.NonMaxSuppression || node.op === Op.Compress) {
    return `the number of elements ${node.opType} returns depends on the values of its input`;
  }
  return dynamicInputs.length > 0
    ? `the output shape depends on the values of ${shapeInputs}, which are not constant (data-dependent)`
    : 'the output shape could not be inferred';
}
