// A terse way to build graphs in tests and passes:
//
//   const b = new GraphBuilder('main');
//   const x = b.input('x', 'float32', ['batch', 64]);
//   const w = b.constant('w', Tensor.float32(new Float32Array(64 * 16), [64, 16]));
//   const y = b.op('Linear', [x, w]);
//   b.output(y);
//
// Attributes are given as plain JS values; integers become 'int' attributes and other numbers
// 'float'. Use `floatAttr(1)` where a float attribute happens to hold an integral value.

import type { DType } from './dtype.js';
import { Graph, type Attr, type Node, type Shape, type Value } from './graph.js';
import type { Op } from './ops.js';
import { Tensor } from './tensor.js';

/** A float attribute, even for integral values (`epsilon: floatAttr(1)`). */
export function floatAttr(value: number | number[]): Attr {
  return Array.isArray(value) ? { kind: 'floats', value } : { kind: 'float', value };
}

export type AttrInput = Attr | number | string | number[] | string[] | Tensor | Graph;

export function toAttr(name: string, a: AttrInput): Attr {
  if (a instanceof Tensor) return { kind: 'tensor', value: a };
  if (a instanceof Graph) return { kind: 'graph', value: a };
  if (typeof a === 'number') return Number.isInteger(a) ? { kind: 'int', value: a } : { kind: 'float', value: a };
  if (typeof a === 'string') return { kind: 'string', value: a };
  if (Array.isArray(a)) {
    if (a.every((x): x is number => typeof x === 'number')) {
      return a.every(Number.isInteger) ? { kind: 'ints', value: a } : { kind: 'floats', value: a };
    }
    if (a.every((x): x is string => typeof x === 'string')) return { kind: 'strings', value: a };
    throw new Error(`attribute '${name}' mixes numbers and strings`);
  }
  return a;
}

export interface OpOptions {
  attrs?: Record<string, AttrInput>;
  name?: string;
  /** Output names; default one output named after the node. */
  outputs?: number | readonly string[];
  /** Known output types, set on the outputs in order. */
  types?: readonly { dtype?: DType; shape?: Shape }[];
}

export class GraphBuilder {
  readonly graph: Graph;

  constructor(name: string | Graph = 'main', parent?: Graph) {
    this.graph = name instanceof Graph ? name : new Graph(name, parent);
  }

  input(name: string, dtype?: DType, shape?: Shape): Value {
    return this.graph.addInput(name, dtype, shape);
  }

  constant(name: string, tensor: Tensor): Value {
    return this.graph.addConstant(name, tensor);
  }

  /** Add a node and return it (for several outputs or to inspect it). */
  node(op: Op, inputs: readonly (Value | undefined)[], opts: OpOptions = {}): Node {
    const attrs: Record<string, Attr> = {};
    for (const [k, v] of Object.entries(opts.attrs ?? {})) attrs[k] = toAttr(k, v);
    const node = this.graph.addNode({ op, inputs, outputs: opts.outputs ?? 1, attrs, name: opts.name });
    opts.types?.forEach((t, i) => {
      const out = node.outputs[i];
      if (!out) return;
      out.dtype = t.dtype;
      out.shape = t.shape;
    });
    return node;
  }

  /** Add a single-output node and return its output value. */
  op(op: Op, inputs: readonly (Value | undefined)[], opts: OpOptions = {}): Value {
    return this.node(op, inputs, opts).outputs[0]!;
  }

  output(...values: Value[]): this {
    this.graph.outputs.push(...values);
    return this;
  }

  /** A builder for a subgraph (If branch, Loop body) scoped inside this graph. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.graph);
  }
}
