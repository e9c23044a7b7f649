import { describe, expect, it } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import { helpText, parseArgs } from './args.js';

function badOptionText(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(SparsecError);
    const d = (e as SparsecError).diagnostic;
    expect(d.code).toBe('BAD_OPTION');
    return d.text;
  }
  throw new Error(`parseArgs(${argv.join(' ')}) did not fail`);
}

describe('structural command flags', () => {
  it('slice: ratio, basis, calibration and report options', () => {
    const parsed = parseArgs(['slice', 'm.onnx', '-o', 'out.onnx', '--ratio', '0.25', '--calib', 't.npy', '--eval', 'e.npy', '--basis', 'layer']);
    expect(parsed).toEqual({
      command: 'slice',
      options: { model: 'm.onnx', out: 'out.onnx', ratio: 0.25, multiple: 8, basis: 'layer', untieHead: false, calib: [{ file: 't.npy' }], calibBatch: 8, eval: 'e.npy', json: false },
    });
  });

  it('prune-heads takes exactly one of --ratio and --heads', () => {
    expect(parseArgs(['prune-heads', 'm.onnx', '-o', 'o.onnx', '--heads', '0:1,2:3', '--no-speed'])).toMatchObject({ command: 'prune-heads', options: { heads: '0:1,2:3', noSpeed: true } });
    expect(badOptionText(['prune-heads', 'm.onnx', '-o', 'o.onnx'])).toContain('one of --ratio');
    expect(badOptionText(['prune-heads', 'm.onnx', '-o', 'o.onnx', '--ratio', '0.2', '--heads', '0:1'])).toContain('one of --ratio');
  });

  it('prune-experts and prune-neurons', () => {
    expect(parseArgs(['prune-experts', 'm.onnx', '-o', 'o.onnx', '--keep', '6', '--merge', '--rank', 'frequency'])).toMatchObject({ command: 'prune-experts', options: { keep: 6, merge: true, rank: 'frequency' } });
    expect(parseArgs(['prune-neurons', 'm.onnx', '-o', 'o.onnx', '--ratio', '0.5'])).toMatchObject({ command: 'prune-neurons', options: { ratio: 0.5 } });
    expect(badOptionText(['prune-experts', 'm.onnx', '-o', 'o.onnx'])).toContain('--keep');
  });

  it('rejects ratios outside [0, 1) and a missing output', () => {
    expect(badOptionText(['slice', 'm.onnx', '-o', 'o.onnx', '--ratio', '1'])).toContain('[0, 1)');
    expect(badOptionText(['prune-neurons', 'm.onnx', '-o', 'o.onnx', '--ratio', '-0.1'])).toContain('[0, 1)');
    expect(badOptionText(['slice', 'm.onnx', '--ratio', '0.2'])).toContain('needs -o');
  });

  it('are listed in the help', () => {
    const help = helpText();
    for (const c of ['slice', 'prune-heads', 'prune-neurons', 'prune-experts']) expect(help).toContain(`  ${c}`);
    expect(helpText('slice')).toContain('--basis sublayer|layer|model');
  });
});
