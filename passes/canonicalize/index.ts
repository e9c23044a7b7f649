// The canonicalize pass: one rule set, concatenated from the rule modules beside this file,
// run to a fixpoint by the greedy driver.

import { definePass } from '../pass.js';
import { applyRules, type Rule } from '../rewrite.js';
import { geluRules } from './gelu.js';
import { identityRules } from './identity.js';
import { layerNormRules } from './layer-norm.js';
import { linearRules } from './linear.js';
import { rmsNormRules } from './rms-norm.js';
import { softmaxRules } from './softmax.js';

export const canonicalizeRules: readonly Rule<any>[] = [
  ...identityRules,
  ...layerNormRules,
  ...rmsNormRules,
  ...geluRules,
  ...linearRules,
  ...softmaxRules,
];

export const canonicalizePass = definePass({
  name: 'canonicalize',
  summary: 'Rewrite decomposed LayerNorm/RMSNorm/Gelu and MatMul/Gemm forms into single ops; drop no-op nodes.',
  options: {
    maxIterations: { type: 'int', default: 10, min: 1, description: 'sweeps over the graph before giving up' },
    failIfNotConverged: { type: 'bool', default: false, description: 'testing aid: fail when the rules do not reach a fixpoint' },
  },
  run(model, ctx) {
    const r = applyRules(model.graph, canonicalizeRules, {
      maxIterations: ctx.options.maxIterations,
      failIfNotConverged: ctx.options.failIfNotConverged,
    });
    return { changed: r.changed, stats: { ...r.counts, iterations: r.iterations, converged: r.converged ? 1 : 0 } };
  },
});
