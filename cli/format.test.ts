import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../ir/diagnostics.js';
import { TerminalProgress } from './context.js';
import { formatBytes, formatCount, formatMessages, shouldColor } from './format.js';

const diags: Diagnostic[] = [
  { code: 'UNSUPPORTED_OP', severity: 'error', text: 'op Foo is not supported', location: { file: 'b.onnx', node: 'n1', opType: 'Foo' } },
  {
    code: 'BAD_INPUT',
    severity: 'warning',
    text: 'odd input',
    location: { file: 'a.onnx', value: 'x' },
    hint: 'Check it.',
    notes: [{ text: 'this residual Add couples the group', location: { file: 'a.onnx', node: 'add' } }],
  },
];

describe('formatMessages', () => {
  it('formats sorted plain lines with notes', () => {
    expect(formatMessages(diags)).toEqual([
      "warning: a.onnx: value 'x': odd input Check it. [BAD_INPUT]\n  note: a.onnx: node 'add': this residual Add couples the group",
      "error: b.onnx: node 'n1' (Foo): op Foo is not supported [UNSUPPORTED_OP]",
    ]);
  });

  it('colors the severity and dims the code only when asked', () => {
    const [, err] = formatMessages(diags, { color: true });
    expect(err).toBe("\x1b[1m\x1b[31merror:\x1b[39m\x1b[22m b.onnx: node 'n1' (Foo): op Foo is not supported\x1b[2m [UNSUPPORTED_OP]\x1b[22m");
  });

  it('honours NO_COLOR and non-terminals', () => {
    expect(shouldColor(true, {})).toBe(true);
    expect(shouldColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor(false, {})).toBe(false);
  });
});

describe('number formatting', () => {
  it('formats counts and bytes', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(12)).toBe('12');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});

describe('TerminalProgress', () => {
  it('stays silent for short work, then draws throttled lines and clears them', () => {
    let now = 0;
    const out: string[] = [];
    const p = new TerminalProgress({ write: (s: string) => out.push(s) }, () => now);
    p.update('running', 1, 10);
    p.clear();
    expect(out).toEqual([]);
    now = 600;
    p.update('running', 5, 10);
    now = 650;
    p.update('running', 6, 10); // within the redraw interval: skipped
    now = 800;
    p.update('loading');
    p.clear();
    expect(out).toEqual(['\r\x1b[Krunning 50%', '\r\x1b[Kloading', '\r\x1b[K']);
  });
});
