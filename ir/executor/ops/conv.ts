import type { OpDef } from '../../opdef.js';

export const convDefs: OpDef[] = [];
