import { describe, expect, it } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import { commands, helpText, parseArgs, parseInputBinding, parseShapeBinding } from './args.js';

function failure(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof SparsecError) {
      expect(e.diagnostic.code).toBe('BAD_OPTION');
      return e.diagnostic.text;
    }
    throw e;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

describe('parseArgs', () => {
  it('maps inspect flags one-to-one onto options', () => {
    expect(parseArgs(['inspect', 'm.onnx'])).toEqual({ command: 'inspect', options: { model: 'm.onnx', json: false, ir: false, shapes: [] } });
    expect(parseArgs(['inspect', '--json', 'm.onnx', '--ir', '--shape', 'x=1,3', '--shape=y=2x4'])).toEqual({
      command: 'inspect',
      options: { model: 'm.onnx', json: true, ir: true, shapes: [{ input: 'x', dims: [1, 3] }, { input: 'y', dims: [2, 4] }] },
    });
  });

  it('maps build flags onto options; --tune and --relaxed-simd only when given', () => {
    expect(parseArgs(['build', 'm.onnx', '-o', 'out', '--tune', '--relaxed-simd'])).toEqual({
      command: 'build',
      options: { model: 'm.onnx', out: 'out', shapes: [], format: 'auto', json: false, relaxedSimd: true, tune: true },
    });
    expect(parseArgs(['build', 'm.onnx', '-o', 'out'])).toEqual({ command: 'build', options: { model: 'm.onnx', out: 'out', shapes: [], format: 'auto', json: false } });
  });

  it('maps run flags one-to-one onto options', () => {
    expect(parseArgs(['run', 'm.onnx', '--input', 'x=a.npy', '--input=b.pb', '--out', 'o', '--format', 'pb', '--json', '--shape', '5'])).toEqual({
      command: 'run',
      options: {
        model: 'm.onnx',
        inputs: [{ input: 'x', file: 'a.npy' }, { file: 'b.pb' }],
        shapes: [{ dims: [5] }],
        out: 'o',
        format: 'pb',
        json: true,
      },
    });
    expect(parseArgs(['run', 'm.onnx'])).toEqual({ command: 'run', options: { model: 'm.onnx', inputs: [], shapes: [], format: 'npy', json: false } });
  });

  it('treats everything after -- as positional', () => {
    expect(parseArgs(['inspect', '--', '-odd.onnx'])).toMatchObject({ options: { model: '-odd.onnx' } });
  });

  it('handles help and version', () => {
    expect(parseArgs([])).toEqual({ command: 'help' });
    expect(parseArgs(['--help'])).toEqual({ command: 'help' });
    expect(parseArgs(['run', '--help'])).toEqual({ command: 'help', topic: 'run' });
    expect(parseArgs(['inspect', 'm.onnx', '-h'])).toEqual({ command: 'help', topic: 'inspect' });
    expect(parseArgs(['--version'])).toEqual({ command: 'version' });
  });

  it('is strict about flags and arguments', () => {
    expect(failure(['inspect', 'm.onnx', '--jsn'])).toBe("unknown option '--jsn' for 'sparsec inspect'");
    expect(failure(['inspect', 'm.onnx', '--out', 'x'])).toBe("unknown option '--out' for 'sparsec inspect'");
    expect(failure(['run', 'm.onnx', '-j'])).toBe("unknown option '-j' for 'sparsec run'");
    expect(failure(['frobnicate'])).toBe("unknown command 'frobnicate'");
    expect(failure(['--frobnicate'])).toBe("unknown option '--frobnicate'");
    expect(failure(['inspect'])).toBe('missing model.onnx');
    expect(failure(['inspect', 'a.onnx', 'b.onnx'])).toBe("unexpected argument 'b.onnx'");
    expect(failure(['run', 'm.onnx', '--out'])).toBe('--out needs a value (dir)');
    expect(failure(['run', 'm.onnx', '--out', 'a', '--out', 'b'])).toBe('--out is given twice');
    expect(failure(['run', 'm.onnx', '--json=yes'])).toBe('--json takes no value');
    expect(failure(['run', 'm.onnx', '--out', 'o', '--format', 'csv'])).toBe("--format must be one of npy, pb, not 'csv'");
    expect(failure(['run', 'm.onnx', '--format', 'pb'])).toBe('--format needs --out (outputs are only written to a folder)');
    expect(failure(['run', 'm.onnx', '--shape', 'x=1,-2'])).toBe("--shape 'x=1,-2' must give non-negative integer dims, e.g. x=1,3,224,224");
    expect(failure(['run', 'm.onnx', '--input', '=a.npy'])).toBe("--input '=a.npy' must be name=file or file");
  });

  it('keeps parse failures free of file locations', () => {
    try {
      parseArgs(['nope']);
    } catch (e) {
      expect((e as SparsecError).diagnostic.location).toBeUndefined();
    }
  });
});

describe('bindings', () => {
  it('parses shapes with names, separators, brackets and scalars', () => {
    expect(parseShapeBinding('x=1,3,224,224')).toEqual({ input: 'x', dims: [1, 3, 224, 224] });
    expect(parseShapeBinding('a=b=2x3')).toEqual({ input: 'a=b', dims: [2, 3] });
    expect(parseShapeBinding('x=[4, 5]')).toEqual({ input: 'x', dims: [4, 5] });
    expect(parseShapeBinding('x=')).toEqual({ input: 'x', dims: [] });
    expect(parseShapeBinding('7')).toEqual({ dims: [7] });
  });

  it('parses inputs with and without names', () => {
    expect(parseInputBinding('x=dir/a=b.npy')).toEqual({ input: 'x', file: 'dir/a=b.npy' });
    expect(parseInputBinding('dir/a.npy')).toEqual({ file: 'dir/a.npy' });
  });
});

describe('helpText', () => {
  it('lists every command and every flag of a command', () => {
    const top = helpText();
    for (const name of Object.keys(commands)) expect(top).toContain(`  ${name}`);
    const run = helpText('run');
    for (const flag of Object.keys(commands.run.flags)) expect(run).toContain(`--${flag}`);
    expect(run).toContain('Usage: sparsec run <model.onnx> [options]');
  });
});
