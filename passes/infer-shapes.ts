// Type and shape inference as a pass (the work is ir/infer.ts); reports whether any value's
// type changed and how many values are fully static.

import type { Graph } from '../ir/graph.js';
import { inferTypes } from '../ir/infer.js';
import { definePass } from './pass.js';
import { walkGraphs } from './liveness.js';

function typeSignature(graph: Graph): string[] {
  const sig: string[] = [];
  for (const g of walkGraphs(graph)) {
    for (const v of g.values()) sig.push(`${v.dtype ?? '?'}[${v.shape?.join(',') ?? '?'}]`);
  }
  return sig;
}

export const inferShapesPass = definePass({
  name: 'infer-shapes',
  summary: 'Infer the dtype and shape of every value from the op definitions.',
  options: {
    overwrite: { type: 'bool', default: false, description: 're-derive types that are already set' },
  },
  run(model, ctx) {
    const before = typeSignature(model.graph);
    inferTypes(model.graph, { overwrite: ctx.options.overwrite });
    const after = typeSignature(model.graph);
    const changed = before.length !== after.length || before.some((s, i) => s !== after[i]);
    let staticValues = 0;
    let dynamicValues = 0;
    for (const g of walkGraphs(model.graph)) {
      for (const v of g.values()) {
        if (v.staticShape) staticValues++;
        else dynamicValues++;
      }
    }
    return { changed, stats: { staticValues, dynamicValues } };
  },
});
