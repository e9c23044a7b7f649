// The differential test suite for one fixture: torch (saved outputs), onnxruntime-node and the
// reference executor must agree on every sample set. Each *.test.ts here calls it once.

import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../frontend/index.js';
import { execute } from '../../ir/executor/index.js';
import type { Model } from '../../ir/graph.js';
import { compareAll, createOrtSession, fixturePath, runOrt, sampleSets } from './harness.js';

export function defineDifferentialSuite(name: string): void {
  describe(`differential: ${name}`, () => {
    const modelPath = fixturePath(name, 'model.onnx');
    const sets = sampleSets(name);
    let session: ort.InferenceSession;
    // Loaded lazily inside the tests, so a frontend failure fails the executor tests only and
    // the onnxruntime-vs-torch checks of the fixture itself still report.
    let model: Promise<Model> | undefined;
    const loadOnce = () => (model ??= loadModel(modelPath));

    beforeAll(async () => {
      session = await createOrtSession(modelPath);
    });
    afterAll(async () => {
      await session?.release();
    });

    it('has two sample sets whose input shapes differ (exercising symbolic dims)', () => {
      expect(sets.map((s) => s.label)).toEqual(['shape1', 'shape2']);
      const shapes = sets.map((s) => [...s.inputs.values()].map((t) => t.shape.join('x')).join(';'));
      expect(shapes[0]).not.toEqual(shapes[1]);
      for (const s of sets) {
        expect(s.inputs.size).toBeGreaterThan(0);
        expect(s.expected.size).toBeGreaterThan(0);
      }
    });

    for (const set of sets) {
      it(`${set.label}: onnxruntime matches torch`, async () => {
        const theirs = await runOrt(session, set.inputs);
        const { lines, failures } = compareAll(theirs, set.expected, `${name} ${set.label} ort-vs-torch`);
        console.info(lines.join('\n'));
        expect(failures).toEqual([]);
      });

      it(`${set.label}: reference executor matches onnxruntime and torch`, async () => {
        const { graph } = await loadOnce();
        const ours = execute(graph, set.inputs);
        const theirs = await runOrt(session, set.inputs);
        const vsOrt = compareAll(ours, theirs, `${name} ${set.label} ref-vs-ort`);
        const vsTorch = compareAll(ours, set.expected, `${name} ${set.label} ref-vs-torch`);
        console.info([...vsOrt.lines, ...vsTorch.lines].join('\n'));
        expect([...vsOrt.failures, ...vsTorch.failures]).toEqual([]);
        expect([...ours.keys()].sort()).toEqual([...set.expected.keys()].sort());
      });
    }
  });
}
