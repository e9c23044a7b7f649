// The README's quick-start model must run in the reference executor and agree with
// onnxruntime-node and with the torch output shipped next to it.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { execute } from '../../ir/executor/index.js';
import { readNpy } from '../../ir/npy.js';
import { compareAll, createOrtSession, runOrt } from './harness.js';

const EXAMPLE_DIR = new URL('../../examples/tiny-lm/', import.meta.url).pathname;
const readExampleNpy = (file: string) => readNpy(new Uint8Array(readFileSync(EXAMPLE_DIR + file)), file);

describe('examples/tiny-lm', () => {
  it('reference executor matches onnxruntime and the shipped torch logits', async () => {
    const inputs = new Map([['input_ids', readExampleNpy('input_ids.npy')]]);
    const expected = new Map([['logits', readExampleNpy('logits.npy')]]);
    const { graph } = await loadModel(EXAMPLE_DIR + 'model.onnx');
    const ours = execute(graph, inputs);
    const session = await createOrtSession(EXAMPLE_DIR + 'model.onnx');
    try {
      const theirs = await runOrt(session, inputs);
      const checks = [
        compareAll(theirs, expected, 'tiny-lm ort-vs-torch'),
        compareAll(ours, theirs, 'tiny-lm ref-vs-ort'),
        compareAll(ours, expected, 'tiny-lm ref-vs-torch'),
      ];
      console.info(checks.flatMap((c) => c.lines).join('\n'));
      expect(checks.flatMap((c) => c.failures)).toEqual([]);
    } finally {
      await session.release();
    }
  });
});
