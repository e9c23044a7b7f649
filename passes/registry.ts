// Every pass sparsec knows, for pipeline text and --help-passes.

import { analyzeSparsityPass } from './analysis/sparsity.js';
import { canonicalizePass } from './canonicalize/index.js';
import { dcePass } from './dce.js';
import { foldBatchNormPass } from './fold-batchnorm.js';
import { foldConstantsPass } from './fold-constants.js';
import { inferShapesPass } from './infer-shapes.js';
import type { AnyPass } from './pass.js';
import { permuteNMPass } from './permute/index.js';

export const allPasses: readonly AnyPass[] = [inferShapesPass, foldConstantsPass, foldBatchNormPass, canonicalizePass, dcePass, analyzeSparsityPass, permuteNMPass];
