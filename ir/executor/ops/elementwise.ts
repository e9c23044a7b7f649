// Every elementwise op: unary functions, binary arithmetic/logic, variadic folds, casts.

import type { OpDef } from '../../opdef.js';
import { binaryDefs } from './binary.js';
import { castDefs } from './cast.js';
import { unaryDefs } from './unary.js';
import { variadicDefs } from './variadic.js';

export const elementwiseDefs: OpDef[] = [...unaryDefs, ...binaryDefs, ...variadicDefs, ...castDefs];
