// A pass is a record: its name, a one-line summary, what it needs from the model, its typed
// options and a `run` function. Option parsing (`name{key=value}`) and `--help-passes` are
// generated from these records, so a pass never parses text itself.

import type { Diagnostic } from '../ir/diagnostics.js';
import { error } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';

/** What a pass requires before it can run; the manager checks these, never the pass. */
export type PassNeed = 'static-shapes' | 'calibration';

export type OptionSpec =
  | { type: 'int'; default: number; description: string; min?: number }
  | { type: 'float'; default: number; description: string }
  | { type: 'bool'; default: boolean; description: string }
  | { type: 'string'; default: string; description: string; choices?: readonly string[] };

export type OptionSpecs = Record<string, OptionSpec>;

/** The TypeScript type of parsed options, derived from the specs. */
export type OptionValues<S extends OptionSpecs> = {
  readonly [K in keyof S]: S[K] extends { type: 'bool' } ? boolean : S[K] extends { type: 'string' } ? string : number;
};

/** Counters a pass reports (rewrites per rule, nodes removed, ...). */
export type PassStats = Record<string, number>;

export interface PassResult {
  changed: boolean;
  stats?: PassStats;
}

/** Calibration activations: sample inputs by graph input name, one record per sample. */
export type CalibrationData = readonly ReadonlyMap<string, Tensor>[];

export interface PassContext<O = Record<string, unknown>> {
  readonly options: O;
  /** Present when the caller supplied calibration data (checked when a pass needs it). */
  readonly calibration?: CalibrationData;
  /** Warnings for the user; errors are thrown as SparsecError. */
  warn(d: Diagnostic): void;
}

export interface PassDef<S extends OptionSpecs> {
  /** kebab-case, unique: the name used in pipeline text. */
  name: string;
  summary: string;
  needs?: readonly PassNeed[];
  options?: S;
  run(model: Model, ctx: PassContext<OptionValues<S>>): PassResult;
}

export interface Pass<S extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly needs: readonly PassNeed[];
  readonly options: S;
  run(model: Model, ctx: PassContext<OptionValues<S>>): PassResult;
  /** Typed options from `key=value` text pairs; unknown keys and bad values are BAD_OPTION. */
  parseOptions(raw: ReadonlyMap<string, string>): OptionValues<S>;
  defaultOptions(): OptionValues<S>;
}

/** A pass that can sit in a heterogeneous list (pipelines, the registry). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPass = Pass<any>;

export function definePass<S extends OptionSpecs = Record<string, never>>(def: PassDef<S>): Pass<S> {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) throw new Error(`pass name '${def.name}' must be kebab-case`);
  const specs = (def.options ?? {}) as S;
  const defaultOptions = (): OptionValues<S> => {
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(specs)) out[key] = spec.default;
    return out as OptionValues<S>;
  };
  return {
    name: def.name,
    summary: def.summary,
    needs: def.needs ?? [],
    options: specs,
    run: def.run,
    defaultOptions,
    parseOptions(raw) {
      const out: Record<string, unknown> = { ...defaultOptions() };
      for (const [textKey, text] of raw) {
        const key = camelCase(textKey);
        const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
        if (!spec) {
          const known = Object.keys(specs).map(kebabCase);
          throw error(
            'BAD_OPTION',
            `pass '${def.name}' has no option '${textKey}'`,
            undefined,
            known.length ? `Its options are: ${known.join(', ')}.` : 'It takes no options.',
          );
        }
        out[key] = parseOptionValue(def.name, textKey, spec, text);
      }
      return out as OptionValues<S>;
    },
  };
}

function parseOptionValue(pass: string, key: string, spec: OptionSpec, text: string): unknown {
  const bad = (expected: string) =>
    error('BAD_OPTION', `option '${key}' of pass '${pass}' must be ${expected}, got '${text}'`);
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(text)) throw bad('an integer');
      const n = Number(text);
      if (spec.min !== undefined && n < spec.min) throw bad(`an integer >= ${spec.min}`);
      return n;
    }
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw bad('a number');
      return n;
    }
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw bad('true or false');
    case 'string':
      if (spec.choices && !spec.choices.includes(text)) throw bad(`one of ${spec.choices.join(', ')}`);
      return text;
  }
}

/** Option keys are camelCase in code and kebab-case in pipeline text: maxBytes <-> max-bytes. */
export const kebabCase = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const camelCase = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Text form of an option value, as `parseOptions` reads it back. */
export function formatOptionValue(v: unknown): string {
  return String(v);
}
