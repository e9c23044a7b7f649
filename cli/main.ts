#!/usr/bin/env node
// The `sparsec` command. It does four things: parse argv into options, call the library,
// write results, and print diagnostics to stderr so stdout can be piped.
//
// Exit status: 0 ok, 1 user error (a SparsecError: bad input, bad option, unsupported model),
// 2 internal error (anything else is a bug in sparsec).

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SparsecError } from '../ir/diagnostics.js';
import { helpText, parseArgs } from './args.js';
import { analyze } from './commands/analyze.js';
import { build } from './commands/build.js';
import { compare } from './commands/compare.js';
import { evaluate } from './commands/eval.js';
import { inspect } from './commands/inspect.js';
import { prune } from './commands/prune.js';
import { runModel } from './commands/run.js';
import { commandContext, type CliIO } from './context.js';
import { colors, formatMessages, shouldColor } from './format.js';
import { version } from './version.js';

export type { CliIO } from './context.js';

export async function run(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const env = io.env ?? process.env;
  try {
    const args = parseArgs(argv);
    const ctx = commandContext(io, env);
    switch (args.command) {
      case 'help':
        io.stdout.write(helpText(args.topic));
        return 0;
      case 'version':
        io.stdout.write(`sparsec ${version()}\n`);
        return 0;
      case 'inspect':
        await inspect(args.options, ctx);
        return 0;
      case 'run':
        await runModel(args.options, ctx);
        return 0;
      case 'build':
        await build(args.options, ctx);
        return 0;
      case 'analyze':
        await analyze(args.options, ctx);
        return 0;
      case 'prune':
        await prune(args.options, ctx);
        return 0;
      case 'eval':
        await evaluate(args.options, ctx);
        return 0;
      case 'compare':
        await compare(args.options, ctx);
        return 0;
    }
  } catch (e) {
    return reportFailure(e, io, env);
  }
}

function reportFailure(e: unknown, io: CliIO, env: Readonly<Record<string, string | undefined>>): number {
  const color = shouldColor(io.isTTY, env);
  if (e instanceof SparsecError) {
    for (const m of formatMessages(e.diagnostics, { color })) io.stderr.write(`${m}\n`);
    return 1;
  }
  const c = colors(color);
  const message = e instanceof Error ? e.message : String(e);
  io.stderr.write(`${c.bold(c.red('internal error:'))} ${message} (this is a bug in sparsec)\n`);
  if (env.SPARSEC_DEBUG === '1') {
    io.stderr.write(`${e instanceof Error && e.stack ? e.stack : String(e)}\n`);
  } else {
    io.stderr.write('Run again with SPARSEC_DEBUG=1 for the stack trace, and please report it.\n');
  }
  return 2;
}

function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true, env: process.env };
}

/** True when this file is the program node was started with (through npm's bin symlink too). */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  // `sparsec inspect --ir m.onnx | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
