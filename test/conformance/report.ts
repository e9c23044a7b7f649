// Summaries and text/JSON reports of conformance results.

import type { TestResult, TestStatus, UnsupportedKind } from './runner.js';
import type { SkippedTest } from './suite.js';

export interface Summary {
  readonly total: number;
  /** Tests sparsec claims to support: pass + fail + error. */
  readonly supported: number;
  readonly passed: number;
  readonly failed: number;
  readonly errors: number;
  readonly unsupported: number;
  readonly unsupportedByKind: Partial<Record<UnsupportedKind, number>>;
  /** Tests whose inferred types disagree with the computed tensors (only with checkInference). */
  readonly inferenceMismatches: number;
  /** Folders found but not runnable (e.g. 'real' models that are download-only). */
  readonly skipped: number;
  readonly ms: number;
}

export function summarize(results: readonly TestResult[], skipped: readonly SkippedTest[], ms: number): Summary {
  const count = (s: TestStatus) => results.filter((r) => r.status === s).length;
  const unsupportedByKind: Partial<Record<UnsupportedKind, number>> = {};
  for (const r of results) {
    if (r.status === 'unsupported' && r.unsupportedKind) {
      unsupportedByKind[r.unsupportedKind] = (unsupportedByKind[r.unsupportedKind] ?? 0) + 1;
    }
  }
  const passed = count('pass');
  const failed = count('fail');
  const errors = count('error');
  return {
    total: results.length,
    supported: passed + failed + errors,
    passed,
    failed,
    errors,
    unsupported: count('unsupported'),
    unsupportedByKind,
    inferenceMismatches: results.filter((r) => r.inference !== undefined).length,
    skipped: skipped.length,
    ms,
  };
}

const LABEL: Record<TestStatus, string> = { pass: 'pass', fail: 'FAIL', error: 'ERROR', unsupported: 'unsupported' };

/** One line per test: `FAIL  node/test_conv  data set 0, output 'y': ...  (12 ms)` */
export function formatResult(r: TestResult, verbose = false): string {
  const head = `${LABEL[r.status].padEnd(11)} ${r.id}`;
  const reason = r.reason ? `  ${r.reason}` : '';
  const first = r.mismatch?.first;
  const detail = first ? ` [first at (${first.index.join(',')}): expected ${first.expected}, got ${first.actual}]` : '';
  let line = `${head}${reason}${detail}  (${r.ms.toFixed(0)} ms)`;
  if (r.inference) line += `\n            inference: ${r.inference}`;
  if (verbose && r.status === 'error' && r.stack) line += `\n${indent(r.stack)}`;
  return line;
}

export function formatSummary(s: Summary): string {
  const kinds = Object.entries(s.unsupportedByKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `passed ${s.passed} / supported ${s.supported} / total ${s.total}`,
    `  failed ${s.failed}, errors ${s.errors}, unsupported ${s.unsupported}${kinds ? ` (${kinds})` : ''}, skipped ${s.skipped}` +
      (s.inferenceMismatches ? `, inference mismatches ${s.inferenceMismatches}` : ''),
    `  ${(s.ms / 1000).toFixed(1)} s`,
  ].join('\n');
}

/** How often each op blocks a test: the list that says what to implement next. */
export function unsupportedOpCounts(results: readonly TestResult[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of results) for (const op of r.unsupportedOps ?? []) counts.set(op, (counts.get(op) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

export interface JsonReport {
  readonly summary: Summary;
  readonly results: readonly TestResult[];
  readonly skipped: readonly SkippedTest[];
  readonly unsupportedOps: Record<string, number>;
}

export function jsonReport(results: readonly TestResult[], skipped: readonly SkippedTest[], ms: number): JsonReport {
  return {
    summary: summarize(results, skipped, ms),
    results: results.map(({ stack: _stack, ...rest }) => rest),
    skipped,
    unsupportedOps: Object.fromEntries(unsupportedOpCounts(results)),
  };
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
}
