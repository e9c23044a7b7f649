import type { OpDef } from '../../opdef.js';

export const indexingDefs: OpDef[] = [];
