// Neural-network ops: matrix products, normalizations, softmax family, CumSum, Einsum and
// (de)quantization. Each family lives in its own file; this one collects them.

import type { OpDef } from '../../opdef.js';
import { einsumDefs } from './einsum.js';
import { matmulDefs } from './matmul.js';
import { normDefs } from './norm.js';
import { quantDefs } from './quant.js';
import { softmaxDefs } from './softmax.js';

export const nnDefs: OpDef[] = [...matmulDefs, ...normDefs, ...softmaxDefs, ...einsumDefs, ...quantDefs];
