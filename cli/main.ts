#!/usr/bin/env node
// The `sparsec` command. It does four things: parse argv into options, call the library,
// write results, and print diagnostics to stderr so stdout can be piped.
//
// Exit status: 0 ok, 1 user error (a SparsecError: bad input, bad option, unsupported model),
// 2 internal error (anything else is a bug in sparsec).

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SparsecError } from '../ir/diagnostics.js';
import { helpText, parseArgs, type CommandName, type ParsedArgs } from './args.js';
import { analyze } from './commands/analyze.js';
import { build } from './commands/build.js';
import { compare } from './commands/compare.js';
import { evaluate } from './commands/eval.js';
import { inspect } from './commands/inspect.js';
import { pruneExperts } from './commands/prune-experts.js';
import { pruneHeads, pruneNeurons } from './commands/prune-heads.js';
import { prune } from './commands/prune.js';
import { runModel } from './commands/run.js';
import { slice } from './commands/slice.js';
import { commandContext, type CliIO, type CommandContext } from './context.js';
import { colors, formatMessages, shouldColor } from './format.js';
import { version } from './version.js';

export type { CliIO } from './context.js';

export async function run(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const env = io.env ?? process.env;
  try {
    const args = parseArgs(argv);
    if (args.command === 'help') {
      io.stdout.write(helpText(args.topic));
    } else if (args.command === 'version') {
      io.stdout.write(`sparsec ${version()}\n`);
    } else {
      await dispatch(args, commandContext(io, env));
    }
    return 0;
  } catch (e) {
    return reportFailure(e, io, env);
  }
}

type CommandOptions<C extends CommandName> = Extract<ParsedArgs, { command: C }>['options'];

/** The function behind each command, given the options parseArgs made from its flags. */
const handlers: { [C in CommandName]: (options: CommandOptions<C>, ctx: CommandContext) => Promise<void> } = {
  inspect,
  run: runModel,
  build,
  analyze,
  prune,
  eval: evaluate,
  compare,
  slice,
  'prune-heads': pruneHeads,
  'prune-neurons': pruneNeurons,
  'prune-experts': pruneExperts,
};

function dispatch<C extends CommandName>(args: { command: C; options: CommandOptions<C> }, ctx: CommandContext): Promise<void> {
  return handlers[args.command](args.options, ctx);
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
