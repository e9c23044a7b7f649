// The per-op spec table: for each op, how its output types follow from its inputs (shape
// inference) and what it computes (the reference executor). Both read opset-21 semantics;
// frontend/ upgrades older opset forms on import so no definition needs to know the opset.

import type { DType } from './dtype.js';
import type { Graph, Node, Shape } from './graph.js';
import type { Op } from './ops.js';
import type { Tensor } from './tensor.js';

/** What is known about one input (or output) during inference. */
export interface TypeInfo {
  dtype?: DType;
  shape?: Shape;
  /** The value itself when it is a constant (or was folded to one). */
  value?: Tensor;
}

export interface InferContext {
  /** A fresh symbolic dim, for sizes only known at run time (e.g. NonZero's count). */
  freshDim(hint?: string): string;
}

/** A runtime value: a tensor, a sequence of tensors, or an empty optional (null). */
export type RuntimeValue = Tensor | Tensor[] | null;

export interface RunContext {
  /**
   * Run a subgraph (If branch, Loop body). `inputs` bind its formal inputs in order; values it
   * captures from enclosing graphs are read from the current execution scope.
   */
  runSubgraph(graph: Graph, inputs: readonly RuntimeValue[]): RuntimeValue[];
}

export interface OpDef {
  readonly op: Op;
  /**
   * Output types. Must not throw for unknown dims or ranks: return what is known. Throw a
   * SparsecError (SHAPE_MISMATCH / TYPE_MISMATCH naming the node) for inputs that can never
   * be valid.
   */
  infer(node: Node, inputs: readonly (TypeInfo | undefined)[], ctx: InferContext): TypeInfo[];
  /** Compute the outputs of a node over tensors. Absent inputs are undefined. */
  run?(node: Node, inputs: readonly (Tensor | undefined)[], ctx: RunContext): Tensor[];
  /** For ops on sequences, optionals or subgraphs: run over general runtime values. */
  runValues?(node: Node, inputs: readonly (RuntimeValue | undefined)[], ctx: RunContext): RuntimeValue[];
}
