import type { OpDef } from '../../opdef.js';

export const controlDefs: OpDef[] = [];
