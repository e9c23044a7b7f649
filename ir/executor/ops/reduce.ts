import type { OpDef } from '../../opdef.js';

export const reduceDefs: OpDef[] = [];
