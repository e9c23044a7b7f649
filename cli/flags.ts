// Flags as data: the record type every command's flags are declared with, the scanner that
// checks argv against such a record, and the parsers of the values several commands share
// (shapes, input bindings, calibration options). cli/args.ts declares the commands.

import { error } from '../ir/diagnostics.js';

/** `--shape name=1,3,224,224`; `input` is absent when the model's only input is meant. */
export interface ShapeBinding {
  input?: string;
  dims: number[];
}

/** `--input name=file.npy`; `input` is absent when the model's only input is meant. */
export interface InputBinding {
  input?: string;
  file: string;
}

export interface FlagSpec {
  /** Placeholder for the value in help; absent for boolean flags. */
  value?: string;
  /** May be given several times; values are collected in order. */
  repeated?: boolean;
  /** Allowed values, when the set is closed. */
  choices?: readonly string[];
  /** A one-letter alias (`-o`). */
  short?: string;
  help: string;
}

export interface CommandSpec<Name extends string = string> {
  name: Name;
  summary: string;
  positional: { name: string; help: string };
  /** A second positional argument (compare takes two models). */
  second?: { name: string; help: string };
  flags: Readonly<Record<string, FlagSpec>>;
}

export const shapeFlag: FlagSpec = {
  value: 'name=dims',
  repeated: true,
  help: 'bind an input shape, e.g. x=1,3,224,224 (the name may be left out for a single-input model)',
};

/** --calib and --calib-batch, shared by the commands that take calibration data. */
export const calibFlag: FlagSpec = {
  value: 'name=file|dir',
  repeated: true,
  help: 'calibration data: a .npy/.pb array per input (split into batches along dim 0; int64 [N, T] token windows feed their first T-1 tokens), or a folder of input_K.pb files or test_data_set_N folders',
};
export const calibBatchFlag: FlagSpec = { value: 'N', help: 'rows per calibration batch when splitting arrays (default 8)' };
export const DEFAULT_CALIB_BATCH = 8;

export const jsonFlag: FlagSpec = { help: 'print one JSON document instead of text' };

export const badOption = (text: string, hint = "Run 'sparsec --help' for usage.") => error('BAD_OPTION', text, undefined, hint);

/** A positive integer flag value (absent: `def`). */
export function parsePositive(text: string | undefined, flag: string, def: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw badOption(`${flag} must be a positive integer, not '${text}'`);
  return n;
}

/** Split argv into positionals and flag values, checking every flag against the record. */
export function scan(spec: CommandSpec, args: readonly string[]): { positionals: string[]; flags: Map<string, string[]> } {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const written = (eq >= 0 ? arg.slice(0, eq) : arg).replace(/^--?/, '');
    const name = arg.startsWith('--') ? written : (Object.keys(spec.flags).find((k) => spec.flags[k]!.short === written) ?? '');
    const flag = Object.hasOwn(spec.flags, name) ? spec.flags[name]! : undefined;
    if (!flag) throw badOption(`unknown option '${eq >= 0 ? arg.slice(0, eq) : arg}' for 'sparsec ${spec.name}'`, `Run 'sparsec ${spec.name} --help' for its options.`);
    let value: string | undefined;
    if (flag.value === undefined) {
      if (eq >= 0) throw badOption(`--${name} takes no value`);
      value = '';
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      value = args[++i];
      if (value === undefined) throw badOption(`--${name} needs a value (${flag.value})`);
    }
    if (flag.choices && !flag.choices.includes(value)) {
      throw badOption(`--${name} must be one of ${flag.choices.join(', ')}, not '${value}'`);
    }
    const seen = flags.get(name);
    if (seen && !flag.repeated) throw badOption(`--${name} is given twice`);
    flags.set(name, [...(seen ?? []), value]);
  }
  return { positionals, flags };
}

/** `x=1,3,224,224`, `1x3x224x224`, `x=` (a scalar). */
export function parseShapeBinding(text: string): ShapeBinding {
  const eq = text.lastIndexOf('=');
  const input = eq >= 0 ? text.slice(0, eq) : undefined;
  const dimsText = (eq >= 0 ? text.slice(eq + 1) : text).trim().replace(/^\[(.*)\]$/, '$1');
  if (input === '') throw badOption(`--shape '${text}' has an empty input name`);
  const dims = dimsText === '' ? [] : dimsText.split(/[,x]/).map((d) => d.trim());
  const numbers = dims.map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n) || n < 0) || dims.some((d) => d === '')) {
    throw badOption(`--shape '${text}' must give non-negative integer dims, e.g. x=1,3,224,224`);
  }
  return input !== undefined ? { input, dims: numbers } : { dims: numbers };
}

/** `x=input.npy` or just `input.npy` (for --input, or another flag naming files per input). */
export function parseInputBinding(text: string, flag = '--input'): InputBinding {
  const eq = text.indexOf('=');
  if (eq < 0) {
    if (text === '') throw badOption(`${flag} needs a file`);
    return { file: text };
  }
  const input = text.slice(0, eq);
  const file = text.slice(eq + 1);
  if (input === '' || file === '') throw badOption(`${flag} '${text}' must be name=file or file`);
  return { input, file };
}

/** --calib-batch: a positive integer (absent: the default). */
export function parseCalibBatch(text: string | undefined): number {
  return parsePositive(text, '--calib-batch', DEFAULT_CALIB_BATCH);
}

export function usageLine(spec: CommandSpec): string {
  return `sparsec ${spec.name} <${spec.positional.name}>${spec.second ? ` <${spec.second.name}>` : ''} [options]`;
}
