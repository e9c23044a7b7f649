import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../ir/builder.js';
import { SparsecError } from '../../ir/diagnostics.js';
import { Model } from '../../ir/graph.js';
import { Tensor } from '../../ir/tensor.js';
import { PassFailedError, PassManager, reproducerOf } from '../manager.js';
import { definePass } from '../pass.js';
import { instantiate, parsePipeline } from '../pipeline.js';
import { dcePass } from '../dce.js';

function smallModel(): Model {
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', [2, 3]);
  const one = b.constant('one', Tensor.float32([1]));
  const y = b.op('Add', [x, one], { types: [{ dtype: 'float32', shape: [2, 3] }] });
  b.op('Relu', [x], { name: 'dead', types: [{ dtype: 'float32', shape: [2, 3] }] });
  b.output(y);
  return new Model(b.graph);
}

/** Moves the last node to the front: its input is then used before it is defined. */
const breakOrder = (reportChanged: boolean) =>
  definePass({
    name: 'break-order',
    summary: 'test: breaks topological order',
    run(model) {
      const g = model.graph;
      const last = g.nodes.pop()!;
      const b = new GraphBuilder(g);
      const z = b.op('Neg', [last.outputs[0]!], { types: [{ dtype: 'float32', shape: [2, 3] }] });
      g.nodes.pop();
      g.nodes.unshift(z.producer!);
      g.nodes.push(last);
      return { changed: reportChanged };
    },
  });

const throwing = definePass({
  name: 'throws',
  summary: 'test: an internal error',
  run() {
    throw new Error('boom');
  },
});

describe('PassManager', () => {
  it('runs passes in order and reports timings and stats', () => {
    const model = smallModel();
    const seen: string[] = [];
    const pm = new PassManager('dce,dce', { afterPass: (t) => seen.push(t.pass) });
    const report = pm.run(model);
    expect(seen).toEqual(['dce', 'dce']);
    expect(report.passes.map((p) => p.changed)).toEqual([true, false]);
    expect(report.passes[0]!.stats).toEqual({ nodes: 1, constants: 0 });
    for (const p of report.passes) expect(p.ms).toBeGreaterThanOrEqual(0);
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['Add']);
  });

  it('dumps the IR only after passes that changed the model', () => {
    const dumps: string[] = [];
    new PassManager('dce,dce', { onDumpAfterChange: (p, ir) => dumps.push(`${p}\n${ir}`) }).run(smallModel());
    expect(dumps).toHaveLength(1);
    expect(dumps[0]).toContain('Add(');
    expect(dumps[0]).not.toContain('Relu(');
  });

  it('verifies after a changing pass in debug mode, with a reproducer', () => {
    const pipeline = [instantiate(breakOrder(true)), instantiate(dcePass)];
    const model = smallModel();
    let caught: unknown;
    try {
      new PassManager(pipeline, { debug: true }).run(model);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SparsecError);
    expect((caught as SparsecError).diagnostic.code).toBe('VERIFY_FAILED');
    const repro = reproducerOf(caught)!;
    expect(repro.pipeline).toBe('break-order,dce');
    // The input IR of the failing pass: still in order, Relu not yet moved.
    expect(repro.ir).toMatch(/Add\([^\n]*\n[^\n]*Relu\(/);
  });

  it('does not verify without debug, nor after a pass that reports no change', () => {
    expect(() => new PassManager([instantiate(breakOrder(true))]).run(smallModel())).not.toThrow();
    expect(() => new PassManager([instantiate(breakOrder(false))], { debug: true }).run(smallModel())).not.toThrow();
  });

  it('wraps internal errors with the pass name and a reproducer', () => {
    const pipeline = [instantiate(dcePass), instantiate(throwing), ...parsePipeline('fold-constants{max-bytes=8}')];
    let caught: unknown;
    try {
      new PassManager(pipeline, { reproducer: true }).run(smallModel());
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PassFailedError);
    expect((caught as PassFailedError).message).toContain("pass 'throws' failed: boom");
    const repro = reproducerOf(caught)!;
    expect(repro.pipeline).toBe('throws,fold-constants{max-bytes=8}');
    expect(repro.ir).not.toContain('Relu(');
  });

  it('checks needs before running a pass', () => {
    const needsStatic = definePass({ name: 'needs-static', summary: 'test', needs: ['static-shapes'], run: () => ({ changed: false }) });
    const needsCalib = definePass({ name: 'needs-calib', summary: 'test', needs: ['calibration'], run: () => ({ changed: false }) });
    const b = new GraphBuilder('main');
    const x = b.input('x', 'float32', ['batch', 3]);
    b.output(b.op('Relu', [x], { types: [{ dtype: 'float32', shape: ['batch', 3] }] }));
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as SparsecError).diagnostic.code;
      }
      return undefined;
    };
    expect(code(() => new PassManager([instantiate(needsStatic)]).run(new Model(b.graph)))).toBe('NON_STATIC_SHAPE');
    expect(code(() => new PassManager([instantiate(needsStatic)]).run(smallModel()))).toBeUndefined();
    expect(code(() => new PassManager([instantiate(needsCalib)]).run(smallModel()))).toBe('BAD_OPTION');
    const calibration = [new Map([['x', Tensor.float32([1, 2, 3, 4, 5, 6], [2, 3])]])];
    expect(code(() => new PassManager([instantiate(needsCalib)], { calibration }).run(smallModel()))).toBeUndefined();
  });
});
