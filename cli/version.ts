// sparsec's version, read from its own package.json. The file sits two levels up from
// cli/version.ts in the source tree and three from dist/cli/version.js; we look upward for
// the first package.json named "sparsec" rather than hard-coding either layout.

import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function version(): string {
  if (cached !== undefined) return cached;
  for (const up of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sparsec' && pkg.version) return (cached = pkg.version);
    } catch {
      // Not there in this layout; try the next level up.
    }
  }
  return (cached = 'unknown');
}
