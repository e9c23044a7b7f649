// Per-test adjustments of the comparison. Kept to tests whose expected data cannot be
// reproduced by any correct implementation; each entry says why.

import { ONNX_TOLERANCE, type Tolerance } from './compare.js';

export type Expectation =
  | { readonly kind: 'values'; readonly tolerance: Tolerance }
  /** Outputs drawn from a random generator: only dtype and shape are checked. */
  | { readonly kind: 'shape-only'; readonly why: string };

const RANDOM = 'outputs come from the reference implementation\'s random generator';

/** By test name (the folder name, which is unique within the node group). */
const OVERRIDES: ReadonlyMap<string, Expectation> = new Map<string, Expectation>([
  ...[
    'test_bernoulli',
    'test_bernoulli_double',
    'test_bernoulli_double_expanded',
    'test_bernoulli_expanded',
    'test_bernoulli_seed',
    'test_bernoulli_seed_expanded',
    'test_training_dropout',
    'test_training_dropout_default',
    'test_training_dropout_default_mask',
    'test_training_dropout_mask',
  ].map((name): [string, Expectation] => [name, { kind: 'shape-only', why: RANDOM }]),
]);

export function expectationFor(testName: string, tolerance: Tolerance = ONNX_TOLERANCE): Expectation {
  return OVERRIDES.get(testName) ?? { kind: 'values', tolerance };
}
