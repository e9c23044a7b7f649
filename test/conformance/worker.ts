// Worker-thread entry of the conformance pool: runs the tests it is sent, one at a time, so
// that the main thread can stop a test that hangs (execute() is synchronous).

import { parentPort } from 'node:worker_threads';
import { runConformanceTest, type RunOptions } from './runner.js';
import type { ConformanceTest } from './suite.js';

export interface WorkerRequest {
  readonly test: ConformanceTest;
  readonly opts: RunOptions;
}

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
port.on('message', ({ test, opts }: WorkerRequest) => {
  void runConformanceTest(test, opts).then((result) => port.postMessage(result));
});
