// The one run loop for passes: check needs, (reproducer snapshot), run, time, verify in debug
// mode when the pass changed something, after-hooks (IR dump on change). A failure carries a
// reproducer: the IR the failing pass started from and the pipeline from that pass on.

import type { Diagnostic } from '../ir/diagnostics.js';
import { error, SparsecError } from '../ir/diagnostics.js';
import type { Graph, Model } from '../ir/graph.js';
import { printGraph } from '../ir/printer.js';
import { verify } from '../ir/verify.js';
import type { CalibrationData, OptionSpecs, OptionValues, PassNeed, PassStats } from './pass.js';
import { parsePipeline, printPipeline, type PassInstance } from './pipeline.js';

export interface PassTiming {
  readonly pass: string;
  readonly changed: boolean;
  readonly ms: number;
  readonly stats: PassStats;
}

export interface RunReport {
  readonly passes: PassTiming[];
  readonly warnings: Diagnostic[];
}

/** Enough to replay a failure: `sparsec opt --pipeline <pipeline>` over `ir`. */
export interface Reproducer {
  readonly pipeline: string;
  readonly ir: string;
}

export interface PassManagerOptions {
  /** Verify the graph after every pass that changed it. */
  debug?: boolean;
  /** Snapshot the IR before each pass so a failure can name its input (default: same as debug). */
  reproducer?: boolean;
  calibration?: CalibrationData;
  /** Called with the printed IR after each pass that changed the model (--dump-after). */
  onDumpAfterChange?: (pass: string, ir: string) => void;
  /** Called after each pass with its timing, changed or not. */
  afterPass?: (timing: PassTiming, model: Model) => void;
}

/** An internal error in a pass (a bug, not bad input), with the pass name and a reproducer. */
export class PassFailedError extends Error {
  constructor(
    readonly pass: string,
    readonly reproducer: Reproducer,
    cause: unknown,
  ) {
    super(`pass '${pass}' failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'PassFailedError';
  }
}

/** The reproducer attached to an error thrown by `PassManager.run`, if any. */
export function reproducerOf(err: unknown): Reproducer | undefined {
  if (err instanceof PassFailedError) return err.reproducer;
  if (err instanceof SparsecError) return (err as SparsecError & { reproducer?: Reproducer }).reproducer;
  return undefined;
}

export class PassManager {
  readonly pipeline: readonly PassInstance[];

  constructor(
    pipeline: readonly PassInstance[] | string,
    private readonly options: PassManagerOptions = {},
  ) {
    this.pipeline = typeof pipeline === 'string' ? parsePipeline(pipeline) : pipeline;
  }

  run(model: Model): RunReport {
    const debug = this.options.debug ?? false;
    const snapshot = this.options.reproducer ?? debug;
    const warnings: Diagnostic[] = [];
    const timings: PassTiming[] = [];
    this.pipeline.forEach((instance, i) => {
      const { pass } = instance;
      const before = snapshot ? printGraph(model.graph) : undefined;
      const fail = (err: unknown): never => {
        const reproducer = {
          pipeline: printPipeline(this.pipeline.slice(i)),
          ir: before ?? `// IR after the failure (run with reproducer: true for the input IR)\n${safePrint(model.graph)}`,
        };
        if (err instanceof SparsecError) {
          Object.assign(err, { reproducer });
          throw err;
        }
        throw new PassFailedError(pass.name, reproducer, err);
      };
      const start = performance.now();
      let result;
      try {
        for (const need of pass.needs) checkNeed(need, pass.name, model, this.options.calibration);
        result = pass.run(model, {
          options: instance.options as OptionValues<OptionSpecs>,
          calibration: this.options.calibration,
          warn: (d) => warnings.push(d),
        });
      } catch (err) {
        fail(err);
      }
      const ms = performance.now() - start;
      const timing: PassTiming = { pass: pass.name, changed: result!.changed, ms, stats: result!.stats ?? {} };
      timings.push(timing);
      if (debug && timing.changed) {
        try {
          verify(model.graph, model.sourcePath);
        } catch (err) {
          if (err instanceof SparsecError) {
            err.diagnostics[0]!.notes = [...(err.diagnostics[0]!.notes ?? []), { text: `the IR broke in pass '${pass.name}'` }];
          }
          fail(err);
        }
      }
      if (timing.changed && this.options.onDumpAfterChange) this.options.onDumpAfterChange(pass.name, printGraph(model.graph));
      this.options.afterPass?.(timing, model);
    });
    return { passes: timings, warnings };
  }
}

function safePrint(graph: Graph): string {
  try {
    return printGraph(graph);
  } catch (err) {
    return `// the IR could not be printed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function checkNeed(need: PassNeed, pass: string, model: Model, calibration: CalibrationData | undefined): void {
  if (need === 'calibration') {
    if (!calibration || calibration.length === 0) {
      throw error('BAD_OPTION', `pass '${pass}' needs calibration data`, undefined, 'Pass calibration samples.');
    }
    return;
  }
  for (const v of model.graph.values()) {
    if (v.kind === 'tensor' && !v.staticShape) {
      const shape = v.shape ? `[${v.shape.join(',')}]` : 'unknown';
      throw error(
        'NON_STATIC_SHAPE',
        `pass '${pass}' needs static shapes, but the shape of this value is ${shape}`,
        { file: model.sourcePath, value: v.name, node: v.producer?.name, opType: v.producer?.opType },
        'Bind the input shapes first (specializeShapes).',
      );
    }
  }
}
