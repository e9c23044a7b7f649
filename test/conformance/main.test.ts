import { describe, expect, it } from 'vitest';
import { parseArgs } from './main.js';

describe('conformance CLI arguments', () => {
  it('maps flags onto options', () => {
    const o = parseArgs(['--json', '--filter', '^test_conv', '--group', 'node', '--group', 'simple', '-j', '0', '--rtol', '1e-5', '--backend', 'roundtrip', '--check-infer']);
    expect(o).toMatchObject({ json: true, groups: ['node', 'simple'], jobs: 0, backend: 'roundtrip', checkInference: true });
    expect(o.filter?.source).toBe('^test_conv');
    expect(o.tolerance).toEqual({ rtol: 1e-5, atol: 1e-7 });
  });

  it('rejects unknown flags and bad values', () => {
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
    expect(() => parseArgs(['--jobs', '-1'])).toThrow(/non-negative integer/);
    expect(() => parseArgs(['--backend', 'tvm'])).toThrow(/reference, roundtrip, ort, ort-original/);
    expect(() => parseArgs(['--filter'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--format', 'coo'])).toThrow(/auto, dense, csr, nm, bsr/);
  });

  it('takes the wasm backends and their weight layout', () => {
    expect(parseArgs(['--backend', 'wasm-weights', '--format', 'bsr'])).toMatchObject({ backend: 'wasm-weights', wasmFormat: 'bsr' });
  });
});
