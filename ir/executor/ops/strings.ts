// String ops: StringNormalizer (opset 10), StringConcat, StringSplit and RegexFullMatch (opset 20).
// Case changes and case-insensitive stopword matching use the en_US locale only.

import type { Dim } from '../../graph.js';
import type { OpDef } from '../../opdef.js';
import { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { accessFor, at, broadcastConcrete } from '../broadcast.js';
import { broadcastShapes, typeMismatch } from '../util.js';
import { badInput, unsupported } from './layout.js';
import { re2ToRegExp } from './regex.js';

const strings = (t: Tensor): string[] => t.data as string[];

function requireStrings(node: Parameters<OpDef['infer']>[0], dtype: string | undefined, what: string): void {
  if (dtype !== undefined && dtype !== 'string') typeMismatch(node, `${what} must be a string tensor, got ${dtype}`);
}

// ---- StringNormalizer ----

const LOCALES = new Set(['en_US', 'en_US.UTF-8', 'en_US.utf8', 'C', 'C.UTF-8', 'POSIX']);

const stringNormalizer: OpDef = {
  op: Op.StringNormalizer,
  infer(node, [x], ctx) {
    requireStrings(node, x?.dtype, 'X');
    const locale = node.attrString('locale');
    if (locale !== undefined && locale !== '' && !LOCALES.has(locale)) {
      unsupported(node, `StringNormalizer locale '${locale}' is not supported (en_US only)`);
    }
    const action = node.attrString('case_change_action', 'NONE');
    if (!['NONE', 'LOWER', 'UPPER'].includes(action)) unsupported(node, `StringNormalizer case_change_action '${action}' is not defined`);
    const s = x?.shape;
    if (s && s.length !== 1 && !(s.length === 2 && s[0] === 1)) {
      badInput(node, `StringNormalizer takes [C] or [1, C], got [${s.join(',')}]`);
    }
    const kept: Dim = node.attrStrings('stopwords')?.length ? ctx.freshDim('strings') : (s?.[s.length - 1] ?? ctx.freshDim('strings'));
    return [{ dtype: 'string', shape: s?.length === 2 ? [1, kept] : [kept] }];
  },
  run(node, [x]) {
    const t = x!;
    if (t.rank !== 1 && !(t.rank === 2 && t.shape[0] === 1)) badInput(node, `StringNormalizer takes [C] or [1, C], got [${t.shape.join(',')}]`);
    const caseSensitive = node.attrInt('is_case_sensitive', 0) === 1;
    const fold = (s: string) => (caseSensitive ? s : s.toLocaleLowerCase('en-US'));
    const stopwords = new Set((node.attrStrings('stopwords') ?? []).map(fold));
    const action = node.attrString('case_change_action', 'NONE');
    const change = (s: string) =>
      action === 'LOWER' ? s.toLocaleLowerCase('en-US') : action === 'UPPER' ? s.toLocaleUpperCase('en-US') : s;
    const kept = strings(t).filter((s) => !stopwords.has(fold(s))).map(change);
    // When every string is a stopword the output is a single empty string, not an empty tensor.
    if (kept.length === 0) kept.push('');
    return [new Tensor('string', t.rank === 2 ? [1, kept.length] : [kept.length], kept)];
  },
};

// ---- StringConcat ----

const stringConcat: OpDef = {
  op: Op.StringConcat,
  infer(node, [x, y]) {
    requireStrings(node, x?.dtype, 'X');
    requireStrings(node, y?.dtype, 'Y');
    return [{ dtype: 'string', shape: x?.shape && y?.shape ? broadcastShapes([x.shape, y.shape], node) : undefined }];
  },
  run(node, [x, y]) {
    const shape = broadcastConcrete([x!.shape, y!.shape], node);
    const out = Tensor.zeros('string', shape);
    const ax = accessFor(x!.shape, shape);
    const ay = accessFor(y!.shape, shape);
    const [xs, ys, zs] = [strings(x!), strings(y!), strings(out)];
    for (let i = 0; i < zs.length; i++) zs[i] = xs[at(ax, i)]! + ys[at(ay, i)]!;
    return [out];
  },
};

// ---- StringSplit ----

/** Python's str.split(None, maxsplit): runs of whitespace separate, none at either end. */
function splitWhitespace(s: string, maxsplit: number): string[] {
  const parts: string[] = [];
  let i = 0;
  const isSpace = (c: string) => /\s/.test(c);
  while (i < s.length) {
    while (i < s.length && isSpace(s[i]!)) i++;
    if (i >= s.length) break;
    if (parts.length === maxsplit) {
      // The remainder keeps its inner and trailing whitespace, as Python does.
      parts.push(s.slice(i));
      break;
    }
    let j = i;
    while (j < s.length && !isSpace(s[j]!)) j++;
    parts.push(s.slice(i, j));
    i = j;
  }
  return parts;
}

/** Python's str.split(sep, maxsplit). */
function splitOn(s: string, sep: string, maxsplit: number): string[] {
  const parts: string[] = [];
  let from = 0;
  while (parts.length < maxsplit) {
    const k = s.indexOf(sep, from);
    if (k < 0) break;
    parts.push(s.slice(from, k));
    from = k + sep.length;
  }
  parts.push(s.slice(from));
  return parts;
}

const stringSplit: OpDef = {
  op: Op.StringSplit,
  infer(node, [x], ctx) {
    requireStrings(node, x?.dtype, 'X');
    const s = x?.shape;
    return [
      { dtype: 'string', shape: s ? [...s, ctx.freshDim('splits')] : undefined },
      { dtype: 'int64', shape: s },
    ];
  },
  run(node, [x]) {
    const t = x!;
    const delimiter = node.attrString('delimiter', '');
    const maxsplitAttr = node.attrInt('maxsplit');
    const maxsplit = maxsplitAttr === undefined || maxsplitAttr < 0 ? Infinity : maxsplitAttr;
    const pieces = strings(t).map((s) => (delimiter === '' ? splitWhitespace(s, maxsplit) : splitOn(s, delimiter, maxsplit)));
    const width = Math.max(0, ...pieces.map((p) => p.length));
    const out = Tensor.zeros('string', [...t.shape, width]);
    const ys = strings(out);
    pieces.forEach((p, i) => p.forEach((s, k) => (ys[i * width + k] = s)));
    return [out, Tensor.int64(pieces.map((p) => p.length), [...t.shape])];
  },
};

// ---- RegexFullMatch ----

const regexFullMatch: OpDef = {
  op: Op.RegexFullMatch,
  infer(node, [x]) {
    requireStrings(node, x?.dtype, 'X');
    re2ToRegExp(node, node.attrString('pattern', ''));
    return [{ dtype: 'bool', shape: x?.shape }];
  },
  run(node, [x]) {
    const re = re2ToRegExp(node, node.attrString('pattern', ''));
    const xs = strings(x!);
    const out = Tensor.zeros('bool', x!.shape);
    for (let i = 0; i < xs.length; i++) out.data[i] = re.test(xs[i]!) ? 1 : 0;
    return [out];
  },
};

export const stringDefs: OpDef[] = [stringNormalizer, stringConcat, stringSplit, regexFullMatch];
