// Turning diagnostics into text for people. The CLI and the (future) bundler plugin share
// `formatMessages`, so a message reads the same wherever it shows up. Pure functions: this
// module never writes anywhere.

import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../ir/diagnostics.js';

export interface Colors {
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain = (s: string) => s;

export function colors(enabled: boolean): Colors {
  if (!enabled) return { red: plain, yellow: plain, cyan: plain, bold: plain, dim: plain };
  return { red: sgr(31, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), bold: sgr(1, 22), dim: sgr(2, 22) };
}

/** Color only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function shouldColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export interface FormatOptions {
  color?: boolean;
}

/**
 * One string per diagnostic (its notes on indented lines below it), in a deterministic order:
 * by file, node, code and text.
 */
export function formatMessages(diagnostics: readonly Diagnostic[], opts: FormatOptions = {}): string[] {
  const c = colors(opts.color ?? false);
  return sortDiagnostics([...diagnostics]).map((d) => {
    let line = formatDiagnostic(d);
    const severity = `${d.severity}:`;
    if (line.startsWith(severity)) {
      const paint = d.severity === 'error' ? c.red : c.yellow;
      line = c.bold(paint(severity)) + line.slice(severity.length);
    }
    const code = ` [${d.code}]`;
    if (line.endsWith(code)) line = line.slice(0, -code.length) + c.dim(code);
    const notes = (d.notes ?? []).map((n) => {
      const where = [n.location?.file, n.location?.node !== undefined ? `node '${n.location.node}'` : undefined]
        .filter((x) => x !== undefined)
        .join(': ');
      return `  ${c.cyan('note:')} ${where ? `${where}: ` : ''}${n.text}`;
    });
    return [line, ...notes].join('\n');
  });
}

/** `1,234,567`: thousands separators without depending on the machine's locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `12.3 MiB` */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A shape with symbolic dims shown by name: `[batch,3,224,224]`. */
export function formatShape(shape: readonly (number | string)[] | undefined): string {
  return shape ? `[${shape.join(',')}]` : '[?]';
}

/** Rows of cells as aligned columns ('l' left, 'r' right; default: first left, rest right). */
export function formatTable(rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const side = (i: number) => align?.[i] ?? (i === 0 ? 'l' : 'r');
  return rows
    .map((r) => r.map((c, i) => (side(i) === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
