// What a command gets to talk to the world: stdout for results, a progress line on stderr,
// and the environment. Tests pass captured streams; the bin passes the process's.

import type { Diagnostic } from '../ir/diagnostics.js';
import { colors, formatMessages, shouldColor, type Colors } from './format.js';

export interface Writer {
  write(text: string): unknown;
}

export interface CliIO {
  stdout: Writer;
  stderr: Writer;
  /** Whether stderr is a terminal: enables colors and the progress line. */
  isTTY: boolean;
  /** Environment variables (NO_COLOR, SPARSEC_DEBUG); defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface CommandContext {
  /** Write results (text or JSON) to stdout. */
  print(text: string): void;
  /** Report a warning on stderr (the work goes on). */
  warn(d: Diagnostic): void;
  progress: Progress;
  colors: Colors;
}

export function commandContext(io: CliIO, env: Readonly<Record<string, string | undefined>>): CommandContext {
  const color = shouldColor(io.isTTY, env);
  const progress = io.isTTY ? new TerminalProgress(io.stderr) : silentProgress;
  return {
    print: (text) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    warn: (d) => {
      progress.clear();
      for (const m of formatMessages([d], { color })) io.stderr.write(`${m}\n`);
    },
    progress,
    colors: colors(color),
  };
}

/** A one-line status for long work, shown on stderr only. */
export interface Progress {
  /** `loading model.onnx 45%`, `running 120/800 nodes`; cheap to call often. */
  update(label: string, done?: number, total?: number): void;
  /** Erase the line (call before printing anything else). */
  clear(): void;
}

const silentProgress: Progress = { update() {}, clear() {} };

/** Shows nothing for short work: the first line appears only after `delayMs`. */
export class TerminalProgress implements Progress {
  private readonly start: number;
  private lastDraw = 0;
  private shown = false;

  constructor(
    private readonly stream: Writer,
    private readonly now: () => number = Date.now,
    private readonly delayMs = 500,
    private readonly intervalMs = 100,
  ) {
    this.start = now();
  }

  update(label: string, done?: number, total?: number): void {
    const t = this.now();
    if (t - this.start < this.delayMs || t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    const amount = done === undefined ? '' : total ? ` ${Math.floor((100 * done) / total)}%` : ` ${done}`;
    this.stream.write(`\r\x1b[K${label}${amount}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
