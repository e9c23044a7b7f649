// Shell-style name globs for --only / --skip: `*` matches any run of characters (slashes and
// dots included: ONNX names such as /h.0/attn/MatMul are not paths), `?` one character, and
// everything else itself. A glob matches a whole name.

export type NameMatcher = (name: string) => boolean;

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** A matcher true for names that any of the globs matches. */
export function compileGlobs(globs: readonly string[]): NameMatcher {
  const res = globs.map(globToRegExp);
  return (name) => res.some((r) => r.test(name));
}
