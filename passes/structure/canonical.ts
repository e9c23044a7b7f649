// The graph structure recognition reads: the `default` pipeline (types, constant folding,
// canonical LayerNorm/RMSNorm/Gelu/Linear, dead code removal). Every structural command runs
// it through here so that they all see the same graph.

import type { Diagnostic } from '../../ir/diagnostics.js';
import type { Model } from '../../ir/graph.js';
import { PassManager } from '../manager.js';
import { parsePipeline } from '../pipeline.js';
import { recognizeStructure } from './recognize.js';
import type { ModelStructure } from './types.js';

/** Rewrite `model` in place into its canonical form; returns the pipeline's warnings. */
export function canonicalModel(model: Model): { model: Model; warnings: Diagnostic[] } {
  const report = new PassManager(parsePipeline('default')).run(model);
  return { model, warnings: report.warnings };
}

/** Canonicalize `model` in place and recognize its structure. */
export function canonicalStructure(model: Model): { model: Model; structure: ModelStructure; warnings: Diagnostic[] } {
  const { warnings } = canonicalModel(model);
  return { model, structure: recognizeStructure(model.graph), warnings };
}
