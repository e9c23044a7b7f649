// Collects every op definition. One file per op family under ops/.

import type { OpDef } from '../opdef.js';
import type { Op } from '../ops.js';
import { controlDefs } from './ops/control.js';
import { convDefs } from './ops/conv.js';
import { convIntegerDefs } from './ops/conv-integer.js';
import { sampleDefs } from './ops/sample.js';
import { resizeDefs } from './ops/resize.js';
import { poolDefs } from './ops/pool.js';
import { elementwiseDefs } from './ops/elementwise.js';
import { indexingDefs } from './ops/indexing.js';
import { lossDefs } from './ops/loss.js';
import { nnDefs } from './ops/nn.js';
import { nmsDefs } from './ops/nms.js';
import { randomDefs } from './ops/random.js';
import { signalDefs } from './ops/signal.js';
import { stringDefs } from './ops/strings.js';
import { tfidfDefs } from './ops/tfidf.js';
import { windowDefs } from './ops/windows.js';
import { reduceDefs } from './ops/reduce.js';
import { rnnDefs } from './ops/rnn.js';
import { selectionDefs } from './ops/selection.js';
import { sequenceDefs } from './ops/sequence.js';
import { shapeDefs } from './ops/shape.js';
import { slicingDefs } from './ops/slicing.js';

const registry = new Map<Op, OpDef>();
for (const def of [...elementwiseDefs, ...reduceDefs, ...nnDefs, ...shapeDefs, ...slicingDefs, ...indexingDefs, ...selectionDefs, ...convDefs, ...convIntegerDefs, ...sampleDefs, ...resizeDefs, ...poolDefs, ...controlDefs, ...sequenceDefs, ...lossDefs, ...nmsDefs, ...stringDefs, ...tfidfDefs, ...signalDefs, ...windowDefs, ...randomDefs, ...rnnDefs]) {
  if (registry.has(def.op)) throw new Error(`op ${def.op} defined twice`);
  registry.set(def.op, def);
}

export function getOpDef(op: Op): OpDef | undefined {
  return registry.get(op);
}

export function definedOps(): Op[] {
  return [...registry.keys()].sort();
}
