// Worker-thread entry of the conformance pool: runs the tests it is sent, one at a time, so
// that the main thread can stop a test that hangs (execute() is synchronous).

import { parentPort } from 'node:worker_threads';
import { WORKER_READY, type WorkerRequest } from './pool.js';
import { runConformanceTest } from './runner.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
port.on('message', ({ test, opts }: WorkerRequest) => {
  void runConformanceTest(test, opts).then((result) => port.postMessage(result));
});
// Loading the modules takes a while on a busy machine; that time must not count against a test.
port.postMessage(WORKER_READY);
