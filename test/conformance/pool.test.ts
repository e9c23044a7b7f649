// The worker pool's handling of tests that hang or crash, with stand-in worker scripts.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInWorkers } from './pool.js';
import type { ConformanceTest } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'sparsec-pool-'));

/** A worker that answers 'pass' at once, except for names containing 'hang' or 'crash'. */
const workerUrl = (() => {
  const file = join(dir, 'worker.mjs');
  writeFileSync(file, `
import { parentPort } from 'node:worker_threads';
parentPort.on('message', ({ test }) => {
  if (test.name.includes('hang')) for (;;) {}
  if (test.name.includes('crash')) process.exit(3);
  parentPort.postMessage({ id: test.id, name: test.name, group: test.group, status: 'pass', ms: 0 });
});
parentPort.postMessage('ready');`);
  return pathToFileURL(file);
})();

const fake = (name: string): ConformanceTest => ({ name, group: 'node', id: `node/${name}`, dir, modelPath: '', dataSets: [] });

describe('runInWorkers', () => {
  it('keeps test order, times out hanging tests and survives crashed workers', async () => {
    const tests = ['test_a', 'test_hang', 'test_b', 'test_crash', 'test_c'].map(fake);
    const results = await runInWorkers(tests, { jobs: 2, timeoutMs: 500, workerUrl });
    expect(results.map((r) => r.status)).toEqual(['pass', 'error', 'pass', 'error', 'pass']);
    expect(results[1]!.reason).toMatch(/timeout/);
    expect(results[3]!.reason).toMatch(/exited with code 3/);
  });
});
