import type { OpDef } from '../../opdef.js';

export const nnDefs: OpDef[] = [];
