// Helpers for the CLI tests: run `sparsec` in-process with captured streams (the test command
// does not build dist/), and check the shape of a user error.

import { expect } from 'vitest';
import { run } from './main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `sparsec argv` in-process, not on a terminal, with `env` as its whole environment. */
export async function cli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    isTTY: false,
    env,
  });
  return { code, stdout, stderr };
}

/** A user error: exit 1, nothing on stdout, exactly one diagnostic line on stderr, no stack. */
export function expectOneLineError(r: CliResult, ...parts: string[]): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/);
  for (const p of parts) expect(lines[0]).toContain(p);
}
