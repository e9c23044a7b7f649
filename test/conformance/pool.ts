// Runs conformance tests on a few worker threads, with a wall-clock limit per test. A test
// that runs past it (or kills its worker) is reported as an error and its worker replaced.

import { Worker } from 'node:worker_threads';
import type { RunOptions, TestResult } from './runner.js';
import type { ConformanceTest } from './suite.js';

/** The first message a worker sends, once its modules are loaded. */
export const WORKER_READY = 'ready';

/** What the pool sends a worker (worker.ts) for each test. */
export interface WorkerRequest {
  readonly test: ConformanceTest;
  readonly opts: RunOptions;
}

export interface PoolOptions {
  jobs: number;
  timeoutMs: number;
  run?: RunOptions;
  /** The worker script; defaults to the compiled worker.js beside this file. */
  workerUrl?: URL;
  /** Called as each test finishes, in completion order. */
  onResult?: (r: TestResult) => void;
}

/** Results in the order of `tests`. */
export async function runInWorkers(tests: readonly ConformanceTest[], opts: PoolOptions): Promise<TestResult[]> {
  const results = new Array<TestResult>(tests.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    let worker: Worker | undefined;
    try {
      while (next < tests.length) {
        const at = next++;
        const test = tests[at]!;
        worker ??= await startWorker(opts.workerUrl ?? new URL('./worker.js', import.meta.url));
        const outcome = await runOne(worker, { test, opts: opts.run ?? {} }, opts.timeoutMs);
        if (outcome.kind === 'lost') {
          void worker.terminate();
          worker = undefined;
        }
        results[at] = outcome.result;
        opts.onResult?.(outcome.result);
      }
    } finally {
      if (worker) await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, tests.length)) }, lane));
  return results;
}

/** A worker that has loaded its modules (it says so with WORKER_READY). */
function startWorker(url: URL): Promise<Worker> {
  const worker = new Worker(url);
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (m !== WORKER_READY) return;
      worker.off('error', onError);
      worker.off('message', onMessage);
      resolve(worker);
    };
    const onError = (e: Error) => reject(e);
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
}

type Outcome = { kind: 'done'; result: TestResult } | { kind: 'lost'; result: TestResult };

function runOne(worker: Worker, request: WorkerRequest, timeoutMs: number): Promise<Outcome> {
  const { test } = request;
  const start = performance.now();
  const lost = (reason: string): Outcome => ({
    kind: 'lost',
    result: { id: test.id, name: test.name, group: test.group, status: 'error', reason, ms: performance.now() - start },
  });
  return new Promise((resolve) => {
    const finish = (o: Outcome) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      resolve(o);
    };
    const onMessage = (result: TestResult) => finish({ kind: 'done', result });
    const onError = (e: Error) => finish(lost(`worker crashed: ${e.name}: ${e.message}`));
    const onExit = (code: number) => finish(lost(`worker exited with code ${code}`));
    const timer = setTimeout(() => finish(lost(`timeout: still running after ${timeoutMs / 1000} s`)), timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(request);
  });
}
