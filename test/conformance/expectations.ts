// Per-test adjustments, limited to tests whose ONNX 1.12 data no correct implementation of
// the opset-21 semantics can reproduce. Each entry says why; everything else is compared
// with ONNX's default tolerance.

import { ONNX_TOLERANCE, type Tolerance } from './compare.js';

export interface Expectation {
  /**
   * 'shape-only': outputs are random draws, so only dtype and shape can be checked;
   * 'zero-or-one': random Bernoulli draws: dtype, shape, and every value 0 or 1.
   */
  readonly compare: 'values' | 'shape-only' | 'zero-or-one';
  readonly tolerance: Tolerance;
  /** Drop the graph inputs' declared shapes before running: the data contradicts them. */
  readonly relaxInputShapes: boolean;
  /** Why this test is not compared the default way. */
  readonly why?: string;
}

const DEFAULT: Expectation = { compare: 'values', tolerance: ONNX_TOLERANCE, relaxInputShapes: false };

const RANDOM = 'outputs come from the reference implementation\'s random generator';
const BF16_TRUNCATED = 'ONNX 1.12 made the expected bfloat16 by truncating float32; opset-21 Cast rounds to nearest even (1 bfloat16 ulp apart)';
const LIKE_SHAPE = 'ONNX 1.12 declares input \'like\' as [3,4] but its data is [1]';

/** One bfloat16 ulp relative to the value: 7 stored mantissa bits. */
const BF16_ULP: Tolerance = { rtol: 2 ** -7, atol: 0 };

const OVERRIDES = new Map<string, Partial<Expectation>>([
  ...[
    'test_bernoulli',
    'test_bernoulli_double',
    'test_bernoulli_double_expanded',
    'test_bernoulli_expanded',
    'test_bernoulli_seed',
    'test_bernoulli_seed_expanded',
  ].map((name): [string, Partial<Expectation>] => [name, { compare: 'zero-or-one', why: RANDOM }]),
  ...[
    'test_training_dropout',
    'test_training_dropout_default',
    'test_training_dropout_default_mask',
    'test_training_dropout_mask',
  ].map((name): [string, Partial<Expectation>] => [name, { compare: 'shape-only', why: RANDOM }]),
  ['test_cast_FLOAT_to_BFLOAT16', { tolerance: BF16_ULP, why: BF16_TRUNCATED }],
  ['test_castlike_FLOAT_to_BFLOAT16', { tolerance: BF16_ULP, relaxInputShapes: true, why: `${LIKE_SHAPE}; ${BF16_TRUNCATED}` }],
  ['test_castlike_FLOAT_to_BFLOAT16_expanded', { tolerance: BF16_ULP, relaxInputShapes: true, why: `${LIKE_SHAPE}; ${BF16_TRUNCATED}` }],
  ['test_castlike_BFLOAT16_to_FLOAT', { relaxInputShapes: true, why: LIKE_SHAPE }],
  ['test_castlike_BFLOAT16_to_FLOAT_expanded', { relaxInputShapes: true, why: LIKE_SHAPE }],
]);

/** How to check the test of this name (the folder name: unique within the node group). */
export function expectationFor(testName: string, tolerance: Tolerance = ONNX_TOLERANCE): Expectation {
  return { ...DEFAULT, tolerance, ...OVERRIDES.get(testName) };
}
