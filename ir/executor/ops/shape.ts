import type { OpDef } from '../../opdef.js';

export const shapeDefs: OpDef[] = [];
