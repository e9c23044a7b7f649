// Optional check of type and shape inference against what the executor computes: every tensor a
// node produces must have its value's inferred dtype, rank and every numeric dim. Conformance
// data covers ~900 graphs, which makes it a cheap oracle for ir/infer.ts and each OpDef.infer.

import { SparsecError } from '../../ir/diagnostics.js';
import type { Graph, Value } from '../../ir/graph.js';
import { inferTypes } from '../../ir/infer.js';
import type { Tensor } from '../../ir/tensor.js';

export class InferenceCheck {
  private readonly problems: string[] = [];

  /** Runs inferTypes on `graph` (merging with the declared types, as the compiler does). */
  constructor(graph: Graph) {
    try {
      inferTypes(graph);
    } catch (e) {
      const text = e instanceof SparsecError ? e.message.split('\n')[0]! : String(e);
      this.problems.push(`inferTypes threw: ${text}`);
    }
  }

  /** The executor's onValue hook. */
  readonly onValue = (v: Value, t: Tensor): void => {
    const problem = describeMismatch(v, t);
    if (problem) this.problems.push(`${v.producer?.describe() ?? 'value'} output '${v.name}': ${problem}`);
  };

  /** undefined when everything matched, else the first problem and how many there were. */
  summary(): string | undefined {
    if (this.problems.length === 0) return undefined;
    const more = this.problems.length > 1 ? ` (+${this.problems.length - 1} more)` : '';
    return `${this.problems[0]}${more}`;
  }
}

function describeMismatch(v: Value, t: Tensor): string | undefined {
  if (v.dtype !== undefined && v.dtype !== t.dtype) return `inferred dtype ${v.dtype}, computed ${t.dtype}`;
  if (!v.shape) return undefined;
  const computed = `[${t.shape.join(',')}]`;
  if (v.shape.length !== t.shape.length) return `inferred shape [${v.shape.join(',')}], computed ${computed}`;
  const bad = v.shape.some((d, i) => typeof d === 'number' && d !== t.shape[i]);
  return bad ? `inferred shape [${v.shape.join(',')}], computed ${computed}` : undefined;
}
