// Pipelines are data: a list of pass instances with their options. The text form prints and
// parses back: `infer-shapes,fold-constants{max-bytes=1024},canonicalize,dce`. A named
// pipeline ('default', 'cleanup') may appear in the text and expands to its steps.

import { error } from '../ir/diagnostics.js';
import { formatOptionValue, kebabCase, type AnyPass, type OptionSpec } from './pass.js';
import { allPasses } from './registry.js';

export interface PassInstance {
  readonly pass: AnyPass;
  /** Complete options (defaults filled in). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface NamedPipeline {
  readonly description: string;
  /** Each step in pipeline text, with the reason it sits where it does. */
  readonly steps: readonly { readonly text: string; readonly why: string }[];
}

export const namedPipelines: Readonly<Record<string, NamedPipeline>> = {
  default: {
    description: 'Import clean-up: types, constant folding, canonical op forms, dead code removal.',
    steps: [
      { text: 'infer-shapes', why: 'patterns check ranks and static dims, folding needs shapes for Shape/Size' },
      { text: 'fold-constants', why: 'turns shape arithmetic and weight transposes into constants the patterns can see' },
      { text: 'canonicalize', why: 'recognizes LayerNorm/RMSNorm/Gelu/Linear so later passes see one form each' },
      { text: 'dce', why: 'the rewrites leave decomposed subgraphs and constants behind' },
    ],
  },
  cleanup: {
    description: 'Fold what is constant and drop what is unused; no op changes its form.',
    steps: [
      { text: 'fold-constants', why: 'a transform may leave constant-only subgraphs behind' },
      { text: 'dce', why: 'folding leaves the folded nodes\' inputs unused' },
    ],
  },
};

/** Find a pass by name; an unknown name is BAD_OPTION listing the known ones. */
export function findPass(name: string, passes: readonly AnyPass[] = allPasses): AnyPass {
  const pass = passes.find((p) => p.name === name);
  if (!pass) {
    throw error(
      'BAD_OPTION',
      `unknown pass '${name}'`,
      undefined,
      `Known passes: ${passes.map((p) => p.name).join(', ')}; pipelines: ${Object.keys(namedPipelines).join(', ')}.`,
    );
  }
  return pass;
}

export function instantiate(pass: AnyPass, raw: ReadonlyMap<string, string> = new Map()): PassInstance {
  return { pass, options: pass.parseOptions(raw) };
}

/** Parse pipeline text. Items are separated by commas; options sit in braces, separated by spaces or commas. */
export function parsePipeline(text: string, passes: readonly AnyPass[] = allPasses): PassInstance[] {
  const out: PassInstance[] = [];
  for (const item of splitTopLevel(text)) {
    const m = /^([A-Za-z0-9_-]+)\s*(?:\{([^{}]*)\})?$/.exec(item);
    if (!m) throw error('BAD_OPTION', `cannot parse pipeline item '${item}'`, undefined, 'Write name or name{key=value}.');
    const name = m[1]!;
    const optionText = m[2];
    const named = Object.hasOwn(namedPipelines, name) ? namedPipelines[name] : undefined;
    if (named && !passes.some((p) => p.name === name)) {
      if (optionText !== undefined) throw error('BAD_OPTION', `pipeline '${name}' takes no options`);
      out.push(...parsePipeline(named.steps.map((s) => s.text).join(','), passes));
      continue;
    }
    out.push(instantiate(findPass(name, passes), parseOptionPairs(name, optionText ?? '')));
  }
  return out;
}

/** Print a pipeline; only options that differ from their defaults are written. */
export function printPipeline(pipeline: readonly PassInstance[]): string {
  return pipeline
    .map(({ pass, options }) => {
      const set = Object.entries(pass.options as Record<string, OptionSpec>)
        .filter(([key, spec]) => options[key] !== spec.default)
        .map(([key]) => `${kebabCase(key)}=${formatOptionValue(options[key])}`);
      return set.length ? `${pass.name}{${set.join(' ')}}` : pass.name;
    })
    .join(',');
}

function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    if (depth < 0 || depth > 1) throw error('BAD_OPTION', `unbalanced braces in pipeline '${text}'`);
    if (i === text.length || (c === ',' && depth === 0)) {
      const item = text.slice(start, i).trim();
      if (item === '') throw error('BAD_OPTION', `empty item in pipeline '${text}'`);
      items.push(item);
      start = i + 1;
    }
  }
  if (depth !== 0) throw error('BAD_OPTION', `unbalanced braces in pipeline '${text}'`);
  return items;
}

function parseOptionPairs(pass: string, text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const part of text.split(/[\s,]+/).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw error('BAD_OPTION', `option '${part}' of pass '${pass}' must be written key=value`);
    const key = part.slice(0, eq);
    if (pairs.has(key)) throw error('BAD_OPTION', `option '${key}' of pass '${pass}' is given twice`);
    pairs.set(key, part.slice(eq + 1));
  }
  return pairs;
}

/** The `--help-passes` text, generated from the pass records and named pipelines. */
export function helpPasses(passes: readonly AnyPass[] = allPasses): string {
  const lines: string[] = ['Passes:'];
  for (const p of [...passes].sort((a, b) => a.name.localeCompare(b.name))) {
    const needs = p.needs.length ? `  (needs: ${p.needs.join(', ')})` : '';
    lines.push(`  ${p.name}${needs}`, `      ${p.summary}`);
    for (const [key, spec] of Object.entries(p.options as Record<string, OptionSpec>)) {
      const choices = spec.type === 'string' && spec.choices ? ` {${spec.choices.join('|')}}` : '';
      lines.push(`      ${kebabCase(key)}=<${spec.type}${choices}> (default ${formatOptionValue(spec.default)}): ${spec.description}`);
    }
  }
  lines.push('', 'Pipelines:');
  for (const [name, pl] of Object.entries(namedPipelines)) {
    lines.push(`  ${name}: ${pl.steps.map((s) => s.text).join(',')}`, `      ${pl.description}`);
  }
  return lines.join('\n');
}
