// RE2 patterns (RegexFullMatch's syntax) as JavaScript regular expressions. The two agree on
// most syntax; this rewrites the RE2 forms JavaScript spells differently and rejects, with
// UNSUPPORTED_OP, what JavaScript would silently read another way (inline flags inside the
// pattern, ungreedy mode) or what RE2 itself does not accept (lookaround, backreferences).

import type { Node } from '../../graph.js';
import { unsupported } from './layout.js';

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\t ',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** RE2's \s is ASCII whitespace only; JavaScript's also takes \v and Unicode spaces. */
const RE2_SPACE = '\\t\\n\\f\\r ';

const hex = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16)}}`;

interface Translation {
  source: string;
  flags: string;
}

function translate(node: Node, p: string): Translation {
  let flags = '';
  let i = 0;
  // Leading flag groups such as (?i) or (?is) apply to the whole pattern: JavaScript flags.
  for (let m = /^\(\?([a-zA-Z]+)\)/.exec(p); m; m = /^\(\?([a-zA-Z]+)\)/.exec(p.slice(i))) {
    for (const f of m[1]!) {
      if (!'ims'.includes(f)) unsupported(node, `RegexFullMatch flag (?${f}) is not supported`);
      if (!flags.includes(f)) flags += f;
    }
    i += m[0].length;
  }
  let out = '';
  let inClass = false;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const e = p[i + 1];
      if (e === undefined) unsupported(node, 'RegexFullMatch pattern ends in a lone backslash');
      i += 2;
      if (/[1-9]/.test(e)) unsupported(node, 'RegexFullMatch backreferences are not RE2 syntax');
      if (e === 'Q') {
        const end = p.indexOf('\\E', i);
        const literal = p.slice(i, end < 0 ? p.length : end);
        out += [...literal].map(hex).join('');
        i = end < 0 ? p.length : end + 2;
      } else if (e === 'A') out += inClass ? unsupported(node, '\\A inside a class') : '(?<![\\s\\S])';
      else if (e === 'z') out += inClass ? unsupported(node, '\\z inside a class') : '(?![\\s\\S])';
      else if (e === 's') out += inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      else if (e === 'S' && !inClass) out += `[^${RE2_SPACE}]`;
      else if ((e === 'p' || e === 'P') && p[i] !== '{') {
        // \pL is \p{L} in JavaScript.
        out += `\\${e}{${p[i] ?? ''}}`;
        i++;
      } else if (e === 'x' && p[i] === '{') out += '\\u';
      else if (e === 'C') unsupported(node, 'RegexFullMatch \\C (any byte) is not supported');
      else if (/[A-Za-z0-9]/.test(e)) out += `\\${e}`;
      // Any escaped punctuation is a literal in RE2; JavaScript's unicode mode accepts only
      // some escapes, so write the character by code point.
      else out += hex(e);
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(i));
      if (posix) {
        const set = POSIX_CLASSES[posix[2]!] ?? unsupported(node, `RegexFullMatch class [:${posix[2]}:] is not supported`);
        if (posix[1]) unsupported(node, 'RegexFullMatch negated POSIX classes are not supported');
        out += set;
        i += posix[0].length;
        continue;
      }
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      // A ']' right after '[' or '[^' is a literal in RE2.
      if (p[i] === '^') (out += '^'), i++;
      if (p[i] === ']') (out += '\\]'), i++;
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const rest = p.slice(i + 2);
      if (rest.startsWith(':')) out += '(?:';
      else if (rest.startsWith('P<') || (rest.startsWith('<') && !/^<[=!]/.test(rest))) {
        out += '(?<';
        i += rest.startsWith('P') ? 1 : 0;
      } else if (/^(=|!|<=|<!)/.test(rest)) unsupported(node, 'RegexFullMatch lookaround is not RE2 syntax');
      else unsupported(node, `RegexFullMatch group '(?${rest.slice(0, 3)}' is not supported (inline flags only at the start)`);
      i += 3;
      continue;
    }
    // RE2's '.' excludes only '\n' (JavaScript's also excludes '\r' and the line separators).
    if (c === '.' && !flags.includes('s')) out += '[^\\n]';
    else out += c;
    i++;
  }
  return { source: out, flags };
}

/** A RegExp that tests whether a whole string matches the RE2 pattern. */
export function re2ToRegExp(node: Node, pattern: string): RegExp {
  const { source, flags } = translate(node, pattern);
  try {
    // Lookarounds anchor at the ends of the text even under the 'm' flag.
    return new RegExp(`(?<![\\s\\S])(?:${source})(?![\\s\\S])`, `${flags}u`);
  } catch (e) {
    return unsupported(node, `RegexFullMatch pattern /${pattern}/ is not supported: ${(e as Error).message}`);
  }
}
