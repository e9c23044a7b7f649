// The argv parser. Each command is a record (its flags, each with a help line; the flag
// machinery is in flags.ts, the structural commands' records in structural-args.ts); the parser
// and the help text are both generated from these records, and every flag maps onto exactly one
// field of the command's options object. Options are strict: an unknown flag, a missing value
// or a malformed one is a BAD_OPTION error, never silently ignored.

import { PRUNE_METHODS, type Allocation, type PruneMethod } from '../passes/prune/index.js';
import { parsePattern, type SparsityPattern } from '../passes/prune/patterns.js';
import type { PruneExpertsOptions } from './commands/prune-experts.js';
import type { PruneHeadsOptions, PruneNeuronsOptions } from './commands/prune-heads.js';
import type { SliceOptions } from './commands/slice.js';
import {
  badOption, calibBatchFlag, calibFlag, jsonFlag, parseCalibBatch, parseInputBinding, parsePositive, parseShapeBinding, scan, shapeFlag, usageLine,
  type CommandSpec as FlagCommandSpec, type InputBinding, type ShapeBinding,
} from './flags.js';
import { structuralCommands, structuralOptions, type StructuralCommand } from './structural-args.js';

export { DEFAULT_CALIB_BATCH, calibBatchFlag, calibFlag, parseCalibBatch, parseInputBinding, parseShapeBinding, type InputBinding, type ShapeBinding } from './flags.js';

export interface InspectOptions {
  model: string;
  /** --json: one JSON document on stdout. */
  json: boolean;
  /** --ir: also print the IR. */
  ir: boolean;
  /** --shape: input shapes to specialize the model to. */
  shapes: ShapeBinding[];
  /** --structure: also recognize and print the transformer structure. */
  structure?: boolean;
}

export type OutputFormat = 'npy' | 'pb';

export interface RunOptions {
  model: string;
  /** --input: tensors to feed, from .npy or TensorProto .pb files. */
  inputs: InputBinding[];
  /** --shape: input shapes to specialize the model to before running. */
  shapes: ShapeBinding[];
  /** --out: a folder to write each output into. */
  out?: string;
  /** --format: the file format of written outputs. */
  format: OutputFormat;
  json: boolean;
}

export interface AnalyzeOptions {
  model: string;
  /** --json: the whole report as one JSON document. */
  json: boolean;
  /** --report: write a self-contained HTML report to this file. */
  report?: string;
  /** --calib: calibration data (.npy/.pb files, or a folder of TensorProto .pb files). */
  calib: InputBinding[];
  /** --calib-batch: rows per calibration batch when splitting arrays. */
  calibBatch: number;
  /** --shape: input shapes to specialize the model to. */
  shapes: ShapeBinding[];
}

export interface PruneOptions {
  model: string;
  /** -o / --out: where to write the pruned model. */
  out: string;
  /** --pattern: the sparsity pattern (unstructured:0.7, 2:4, block:4x1:0.8). */
  pattern: SparsityPattern;
  /** --method: how weights are chosen (default magnitude). */
  method: PruneMethod;
  /** --allocation: per-layer or one global ranking (default layer). */
  allocation: Allocation;
  /** --calib, --calib-batch: calibration data, as for analyze. */
  calib: InputBinding[];
  calibBatch: number;
  /** --only / --skip: globs on weight or node names. */
  only: string[];
  skip: string[];
  /** --include-embeddings / --include-head: prune those too. */
  includeEmbeddings: boolean;
  includeHead: boolean;
  /** --sequential: calibrate stage by stage on the partly pruned model (wanda, sparsegpt). */
  sequential: boolean;
  /** --permute: N:M channel permutation before pruning. */
  permute: boolean;
  /** --dampening: SparseGPT's Hessian damping, a fraction of its mean diagonal. */
  dampening?: number;
  /** --eval: token windows to measure perplexity on before and after. */
  eval?: string;
  json: boolean;
}

export interface EvalOptions {
  model: string;
  /** --data: int64 [N, T+1] token windows. */
  data: string;
  /** --batch: windows per executor run. */
  batch: number;
  json: boolean;
}

export interface CompareOptions {
  /** The reference model and the one compared with it. */
  model: string;
  other: string;
  /** --input: tensors fed to both models. */
  inputs: InputBinding[];
  /** --shape: input shapes to specialize both models to. */
  shapes: ShapeBinding[];
  json: boolean;
}

export type BuildFormat = 'auto' | 'dense' | 'csr' | 'nm' | 'bsr';

export interface BuildOptions {
  model: string;
  /** -o / --out: the folder the artifact files go to. */
  out: string;
  /** --shape: input shapes to build for (every input needs a static shape). */
  shapes: ShapeBinding[];
  /** --format: weight layouts (default auto: the cost model picks per weight). */
  format: BuildFormat;
  json: boolean;
  /** --relaxed-simd: also write <name>.relaxed.wasm (f32x4.relaxed_madd), loaded where the engine has it. */
  relaxedSimd?: true;
  /** --tune: time the layouts the cost model rates close on this machine and build the fastest. */
  tune?: true;
}

export type CommandName = 'inspect' | 'run' | 'analyze' | 'prune' | 'eval' | 'compare' | 'build' | StructuralCommand;

export type ParsedArgs =
  | { command: 'help'; topic?: CommandName }
  | { command: 'version' }
  | { command: 'inspect'; options: InspectOptions }
  | { command: 'run'; options: RunOptions }
  | { command: 'analyze'; options: AnalyzeOptions }
  | { command: 'prune'; options: PruneOptions }
  | { command: 'eval'; options: EvalOptions }
  | { command: 'compare'; options: CompareOptions }
  | { command: 'build'; options: BuildOptions }
  | { command: 'slice'; options: SliceOptions }
  | { command: 'prune-heads'; options: PruneHeadsOptions }
  | { command: 'prune-neurons'; options: PruneNeuronsOptions }
  | { command: 'prune-experts'; options: PruneExpertsOptions };

// ---- command records ----

export type CommandSpec = FlagCommandSpec<CommandName>;

export const commands: Readonly<Record<CommandName, CommandSpec>> = {
  inspect: {
    name: 'inspect',
    summary: 'show a model: inputs, outputs, ops, parameters, unsupported ops',
    positional: { name: 'model.onnx', help: 'the model to inspect' },
    flags: {
      json: { help: 'print one JSON document instead of text' },
      ir: { help: "also print sparsec's IR of the model" },
      shape: shapeFlag,
      structure: { help: 'also show the transformer structure: per layer its attention, MLP or MoE blocks, and what was not recognized' },
    },
  },
  run: {
    name: 'run',
    summary: 'run a model with the reference executor, or a built artifact with the runtime',
    positional: { name: 'model.onnx', help: 'the model to run, or a built artifact (the folder from sparsec build, its .wasm or .json)' },
    flags: {
      input: {
        value: 'name=file',
        repeated: true,
        help: 'an input tensor from a .npy or TensorProto .pb file (the name may be left out for a single-input model)',
      },
      shape: shapeFlag,
      out: { value: 'dir', help: 'write each output to this folder' },
      format: { value: 'npy|pb', choices: ['npy', 'pb'], help: 'file format of written outputs (default npy)' },
      json: { help: 'print one JSON document instead of text' },
    },
  },
  analyze: {
    name: 'analyze',
    summary: 'report weight sparsity: density, N:M and block patterns, dead channels, zero heads',
    positional: { name: 'model.onnx', help: 'the model to analyze' },
    flags: {
      json: { help: 'print the whole report as one JSON document' },
      report: { value: 'file.html', help: 'also write a self-contained HTML report with a heat map of every weight' },
      calib: calibFlag,
      'calib-batch': calibBatchFlag,
      shape: shapeFlag,
    },
  },
  prune: {
    name: 'prune',
    summary: 'zero weights to a sparsity pattern (magnitude, Wanda, SparseGPT) and write the pruned model',
    positional: { name: 'model.onnx', help: 'the model to prune' },
    flags: {
      out: { value: 'out.onnx', short: 'o', help: 'write the pruned model here (required)' },
      pattern: { value: 'pattern', help: 'unstructured:R (R = fraction of zeros), N:M (keep N of every M along the reduction axis), block:RxC:R (required)' },
      method: { value: 'name', choices: PRUNE_METHODS, help: 'magnitude (default), wanda (|W| x input norm) or sparsegpt (OBS with weight updates); the last two need --calib' },
      allocation: { value: 'layer|global', choices: ['layer', 'global'], help: 'sparsity per layer (default), or one ranking across layers (unstructured magnitude)' },
      calib: calibFlag,
      'calib-batch': calibBatchFlag,
      only: { value: 'glob', repeated: true, help: 'prune only weights whose weight or node name matches (* and ?)' },
      skip: { value: 'glob', repeated: true, help: 'leave weights whose weight or node name matches dense' },
      'include-embeddings': { help: 'also prune embedding tables (dense by default)' },
      'include-head': { help: 'also prune the output head (dense by default)' },
      sequential: { help: 'calibrate stage by stage on the partly pruned model, so later layers correct earlier errors (one calibration pass per stage)' },
      dampening: { value: 'R', help: "sparsegpt: damping added to the Hessian's diagonal, as a fraction of its mean (default 0.01)" },
      permute: { help: 'N:M only: first permute input channels (folded into producers, the function is unchanged) so the masks keep more magnitude' },
      eval: { value: 'tokens.npy', help: 'measure perplexity on these int64 [N, T+1] token windows before and after' },
      json: jsonFlag,
    },
  },
  eval: {
    name: 'eval',
    summary: "a causal language model's perplexity on token windows",
    positional: { name: 'model.onnx', help: 'the model (one token input, logits [batch, sequence, vocab] as first output)' },
    flags: {
      data: { value: 'tokens.npy', help: 'int64 [N, T+1] token windows: T inputs and the next-token targets (required)' },
      batch: { value: 'N', help: 'windows per run (default 16)' },
      json: jsonFlag,
    },
  },
  compare: {
    name: 'compare',
    summary: "the error between two models' outputs on the same inputs (max abs, relative, cosine)",
    positional: { name: 'a.onnx', help: 'the reference model' },
    second: { name: 'b.onnx', help: 'the model compared with it' },
    flags: {
      input: { value: 'name=file', repeated: true, help: 'an input tensor from a .npy or TensorProto .pb file, fed to both models' },
      shape: shapeFlag,
      json: jsonFlag,
    },
  },
  build: {
    name: 'build',
    summary: 'compile a model to WebAssembly: <name>.wasm, .js loader, .d.ts types and .json manifest',
    positional: { name: 'model.onnx', help: 'the model to build' },
    flags: {
      out: { value: 'dir', short: 'o', help: 'write the artifact files into this folder (required)' },
      shape: shapeFlag,
      format: { value: 'auto|dense|csr|nm|bsr', choices: ['auto', 'dense', 'csr', 'nm', 'bsr'], help: 'weight layouts: auto (default: a cost model picks per weight), or one for all (bsr: the best-fitting of 4x1, 8x1, 1x4 and 4x4 blocks)' },
      json: { help: 'print the manifest as JSON instead of the summary' },
      'relaxed-simd': { help: 'also build <name>.relaxed.wasm (fused multiply-add), chosen at load time where relaxed SIMD is available' },
      tune: { help: 'time the weight layouts the cost model rates close (within 2x) on this machine and build the fastest' },
    },
  },
  ...structuralCommands,
};

const isCommand = (s: string): s is CommandName => Object.hasOwn(commands, s);

/** Parse argv (without `node` and the script path) into a command and its options. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.length === 0) return { command: 'help' };
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = rest[0];
    return topic !== undefined && isCommand(topic) ? { command: 'help', topic } : { command: 'help' };
  }
  if (first === '--version') return { command: 'version' };
  if (!isCommand(first!)) {
    if (first!.startsWith('-')) throw badOption(`unknown option '${first}'`);
    throw badOption(`unknown command '${first}'`);
  }
  const spec = commands[first];
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', topic: spec.name };
  const { positionals, flags } = scan(spec, rest);
  if (positionals.length === 0) throw badOption(`missing ${spec.positional.name}`, `Usage: ${usageLine(spec)}`);
  if (spec.second && positionals.length === 1) throw badOption(`missing ${spec.second.name}`, `Usage: ${usageLine(spec)}`);
  const expected = spec.second ? 2 : 1;
  if (positionals.length > expected) {
    throw badOption(`unexpected argument '${positionals[expected]}'`, `Usage: ${usageLine(spec)}`);
  }
  const model = positionals[0]!;
  const str = (k: string) => flags.get(k)?.[0];
  const list = (k: string) => flags.get(k) ?? [];
  const bool = (k: string) => flags.has(k);

  if (spec.name === 'inspect') {
    return { command: 'inspect', options: { model, json: bool('json'), ir: bool('ir'), shapes: list('shape').map(parseShapeBinding), ...(bool('structure') ? { structure: true } : {}) } };
  }
  if (spec.name === 'analyze') {
    const report = str('report');
    if (flags.has('calib-batch') && !flags.has('calib')) throw badOption('--calib-batch needs --calib');
    return {
      command: 'analyze',
      options: {
        model,
        json: bool('json'),
        ...(report !== undefined ? { report } : {}),
        calib: list('calib').map((t) => parseInputBinding(t, '--calib')),
        calibBatch: parseCalibBatch(str('calib-batch')),
        shapes: list('shape').map(parseShapeBinding),
      },
    };
  }
  if (spec.name === 'prune') return { command: 'prune', options: pruneOptions(model, flags) };
  if (spec.name === 'slice') return { command: 'slice', options: structuralOptions('slice', model, flags) };
  if (spec.name === 'prune-heads') return { command: 'prune-heads', options: structuralOptions('prune-heads', model, flags) };
  if (spec.name === 'prune-neurons') return { command: 'prune-neurons', options: structuralOptions('prune-neurons', model, flags) };
  if (spec.name === 'prune-experts') return { command: 'prune-experts', options: structuralOptions('prune-experts', model, flags) };
  if (spec.name === 'eval') {
    const data = str('data');
    if (data === undefined) throw badOption('eval needs --data tokens.npy', `Usage: ${usageLine(spec)}`);
    return { command: 'eval', options: { model, data, batch: parsePositive(str('batch'), '--batch', 16), json: bool('json') } };
  }
  if (spec.name === 'build') {
    const out = str('out');
    if (out === undefined) throw badOption('build needs -o dir', `Usage: ${usageLine(spec)}`);
    return {
      command: 'build',
      options: { model, out, shapes: list('shape').map(parseShapeBinding), format: (str('format') ?? 'auto') as BuildFormat, json: bool('json'), ...(bool('relaxed-simd') ? { relaxedSimd: true as const } : {}), ...(bool('tune') ? { tune: true as const } : {}) },
    };
  }
  if (spec.name === 'compare') {
    return {
      command: 'compare',
      options: { model, other: positionals[1]!, inputs: list('input').map((t) => parseInputBinding(t)), shapes: list('shape').map(parseShapeBinding), json: bool('json') },
    };
  }
  const out = str('out');
  const format = (str('format') ?? 'npy') as OutputFormat;
  if (flags.has('format') && out === undefined) throw badOption('--format needs --out (outputs are only written to a folder)');
  return {
    command: 'run',
    options: {
      model,
      inputs: list('input').map((t) => parseInputBinding(t)),
      shapes: list('shape').map(parseShapeBinding),
      ...(out !== undefined ? { out } : {}),
      format,
      json: bool('json'),
    },
  };
}

function pruneOptions(model: string, flags: ReadonlyMap<string, string[]>): PruneOptions {
  const str = (k: string) => flags.get(k)?.[0];
  const list = (k: string) => flags.get(k) ?? [];
  const out = str('out');
  const pattern = str('pattern');
  if (out === undefined) throw badOption('prune needs -o out.onnx', `Usage: ${usageLine(commands.prune)}`);
  if (pattern === undefined) throw badOption('prune needs --pattern, e.g. --pattern 2:4', `Usage: ${usageLine(commands.prune)}`);
  if (flags.has('calib-batch') && !flags.has('calib')) throw badOption('--calib-batch needs --calib');
  const evalData = str('eval');
  const dampening = str('dampening');
  if (dampening !== undefined && !(/^\d*\.?\d+(e-?\d+)?$/.test(dampening) && Number(dampening) > 0)) {
    throw badOption(`--dampening must be a positive number such as 0.01, not '${dampening}'`);
  }
  if (dampening !== undefined && str('method') !== 'sparsegpt') throw badOption('--dampening applies to --method sparsegpt only');
  return {
    model,
    out,
    pattern: parsePattern(pattern),
    method: (str('method') ?? 'magnitude') as PruneMethod,
    allocation: (str('allocation') ?? 'layer') as Allocation,
    calib: list('calib').map((t) => parseInputBinding(t, '--calib')),
    calibBatch: parseCalibBatch(str('calib-batch')),
    only: list('only'),
    skip: list('skip'),
    includeEmbeddings: flags.has('include-embeddings'),
    includeHead: flags.has('include-head'),
    sequential: flags.has('sequential'),
    permute: flags.has('permute'),
    ...(dampening !== undefined ? { dampening: Number(dampening) } : {}),
    ...(evalData !== undefined ? { eval: evalData } : {}),
    json: flags.has('json'),
  };
}

// ---- help, generated from the records ----

export function helpText(topic?: CommandName): string {
  if (topic === undefined) {
    const width = Math.max(...Object.keys(commands).map((c) => c.length));
    return [
      'sparsec: compile dense ONNX models into code specialized to their sparsity',
      '',
      'Usage: sparsec <command> [options]',
      '',
      'Commands:',
      ...Object.values(commands).map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      'Options:',
      '  --help     show help (also: sparsec <command> --help)',
      '  --version  print the version',
      '',
      'Results go to stdout, diagnostics to stderr. Exit status: 0 ok, 1 bad input or options,',
      '2 internal error (a bug in sparsec; SPARSEC_DEBUG=1 prints its stack).',
      '',
    ].join('\n');
  }
  const spec = commands[topic];
  const rows = Object.entries(spec.flags).map(([name, f]) => [`${f.short ? `-${f.short}, ` : ''}--${name}${f.value ? ` ${f.value}` : ''}${f.repeated ? ' ...' : ''}`, f.help]);
  const width = Math.max(...rows.map(([l]) => l!.length));
  return [
    `sparsec ${spec.name}: ${spec.summary}`,
    '',
    `Usage: ${usageLine(spec)}`,
    '',
    `  <${spec.positional.name}>  ${spec.positional.help}`,
    ...(spec.second ? [`  <${spec.second.name}>  ${spec.second.help}`] : []),
    '',
    'Options:',
    ...rows.map(([l, h]) => `  ${l!.padEnd(width)}  ${h}`),
    `  ${'--help'.padEnd(width)}  show this help`,
    '',
  ].join('\n');
}
