import type { OpDef } from '../../opdef.js';

export const elementwiseDefs: OpDef[] = [];
