import { describe, expect, it } from 'vitest';
import { SparsecError } from '../../ir/diagnostics.js';
import { helpPasses, namedPipelines, parsePipeline, printPipeline } from '../pipeline.js';
import { allPasses } from '../registry.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof SparsecError) return e.diagnostic.code;
    throw e;
  }
  return undefined;
}

describe('pipeline text', () => {
  it('prints and parses back', () => {
    const text = 'infer-shapes,fold-constants{max-bytes=1024},canonicalize{max-iterations=3 fail-if-not-converged=true},dce';
    const pl = parsePipeline(text);
    expect(pl.map((p) => p.pass.name)).toEqual(['infer-shapes', 'fold-constants', 'canonicalize', 'dce']);
    expect(pl[1]!.options.maxBytes).toBe(1024);
    expect(pl[2]!.options.maxIterations).toBe(3);
    expect(pl[2]!.options.failIfNotConverged).toBe(true);
    expect(printPipeline(pl)).toBe(text);
    expect(printPipeline(parsePipeline(printPipeline(pl)))).toBe(text);
  });

  it('omits default option values and accepts commas and spaces inside braces', () => {
    expect(printPipeline(parsePipeline(' dce , fold-constants{max-bytes=1048576} '))).toBe('dce,fold-constants');
    expect(parsePipeline('canonicalize{max-iterations=2,fail-if-not-converged=1}')[0]!.options).toEqual({
      maxIterations: 2,
      failIfNotConverged: true,
    });
  });

  it('expands named pipelines', () => {
    const steps = namedPipelines.default!.steps.map((s) => s.text).join(',');
    expect(printPipeline(parsePipeline('default'))).toBe(steps);
    expect(printPipeline(parsePipeline('cleanup,canonicalize'))).toBe('fold-constants,dce,canonicalize');
  });

  it('rejects unknown passes, options and bad values with BAD_OPTION', () => {
    expect(codeOf(() => parsePipeline('dce,no-such-pass'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('fold-constants{bogus=1}'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('fold-constants{max-bytes=lots}'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('fold-constants{max-bytes=-1}'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('canonicalize{fail-if-not-converged=maybe}'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('dce{'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('dce,,dce'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('dce{x}'))).toBe('BAD_OPTION');
    expect(codeOf(() => parsePipeline('default{x=1}'))).toBe('BAD_OPTION');
    try {
      parsePipeline('fold-constants{bogus=1}');
    } catch (e) {
      expect((e as SparsecError).diagnostic.hint).toContain('max-bytes');
    }
  });

  it('generates --help-passes from the pass records', () => {
    const help = helpPasses();
    for (const p of allPasses) {
      expect(help).toContain(`  ${p.name}`);
      expect(help).toContain(p.summary);
    }
    expect(help).toContain('max-bytes=<int> (default 1048576)');
    expect(help).toContain('default: infer-shapes,fold-constants,canonicalize,dce');
  });
});
