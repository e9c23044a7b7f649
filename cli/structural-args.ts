// The structural commands' flags (slice, prune-heads, prune-neurons, prune-experts) and the
// options each builds from them. They share the shape of a transform with a quality report:
// -o, calibration data, --eval for perplexity before and after, --no-speed, --json.

import { BASIS_SCOPES, type BasisScope } from '../passes/slice/index.js';
import type { PruneExpertsOptions } from './commands/prune-experts.js';
import type { PruneHeadsOptions, PruneNeuronsOptions } from './commands/prune-heads.js';
import type { SliceOptions } from './commands/slice.js';
import { badOption, calibBatchFlag, calibFlag, jsonFlag, parseCalibBatch, parseInputBinding, parsePositive, usageLine, type CommandSpec, type FlagSpec } from './flags.js';

export type StructuralCommand = 'slice' | 'prune-heads' | 'prune-neurons' | 'prune-experts';

const reportFlags: Readonly<Record<string, FlagSpec>> = {
  out: { value: 'out.onnx', short: 'o', help: 'write the transformed model here (required)' },
  calib: calibFlag,
  'calib-batch': calibBatchFlag,
  eval: { value: 'tokens.npy', help: 'measure perplexity on these int64 [N, T+1] token windows before and after' },
  'no-speed': { help: "skip the speed check (it builds both models with sparsec's WASM backend and times them)" },
  json: jsonFlag,
};

const ratioHelp = (what: string) => `fraction of ${what} to remove, e.g. 0.25`;

export const structuralCommands: Readonly<Record<StructuralCommand, CommandSpec<StructuralCommand>>> = {
  slice: {
    name: 'slice',
    summary: 'SliceGPT: rotate the residual stream to its principal components and slice it narrower (needs --calib)',
    positional: { name: 'model.onnx', help: 'a pre-norm transformer (LayerNorm or RMSNorm)' },
    flags: {
      ratio: { value: 'R', help: `${ratioHelp('the residual width')} (required; 0 rotates without slicing)` },
      multiple: { value: 'N', help: 'round the kept width down to a multiple of N (default 8)' },
      basis: {
        value: BASIS_SCOPES.join('|'),
        choices: BASIS_SCOPES,
        help: 'which stream states share one rotation: model (default: one basis, no shortcut matrices), layer, or sublayer (the paper: a shortcut matrix on every residual connection)',
      },
      'untie-head': { help: 'give a tied output head its own rotated weight instead of reading the rotated table' },
      ...reportFlags,
    },
  },
  'prune-heads': {
    name: 'prune-heads',
    summary: 'remove whole attention heads (q/k/v rows, output-projection columns, head counts), least important first',
    positional: { name: 'model.onnx', help: 'a transformer' },
    flags: {
      ratio: { value: 'R', help: `${ratioHelp('all attention heads')}, ranked across layers` },
      heads: { value: 'layer:head,...', help: 'remove exactly these heads instead, e.g. 0:1,3:2' },
      ...reportFlags,
    },
  },
  'prune-neurons': {
    name: 'prune-neurons',
    summary: 'remove whole FFN hidden channels (up/gate rows and down columns) of every MLP and expert',
    positional: { name: 'model.onnx', help: 'a transformer' },
    flags: { ratio: { value: 'R', help: `${ratioHelp("each MLP's hidden channels")} (required)` }, ...reportFlags },
  },
  'prune-experts': {
    name: 'prune-experts',
    summary: 'drop the least used experts of every MoE block (expert weights and router rows), keeping top-k valid',
    positional: { name: 'model.onnx', help: 'a mixture-of-experts transformer' },
    flags: {
      keep: { value: 'N', help: 'experts to keep per MoE block (required)' },
      rank: { value: 'mass|frequency|error', choices: ['mass', 'frequency', 'error'], help: 'with --calib: rank by routing weight carried (default), by how often chosen, or keep the set whose outputs stay closest' },
      merge: { help: "merge each dropped expert into the kept expert that takes over its tokens, where that lowers the calibration error (DERN-style)" },
      ...reportFlags,
    },
  },
};

type Flags = ReadonlyMap<string, string[]>;

/** The options of a structural command, from its scanned flags. */
export function structuralOptions(command: 'slice', model: string, flags: Flags): SliceOptions;
export function structuralOptions(command: 'prune-heads', model: string, flags: Flags): PruneHeadsOptions;
export function structuralOptions(command: 'prune-neurons', model: string, flags: Flags): PruneNeuronsOptions;
export function structuralOptions(command: 'prune-experts', model: string, flags: Flags): PruneExpertsOptions;
export function structuralOptions(command: StructuralCommand, model: string, flags: Flags): SliceOptions | PruneHeadsOptions | PruneNeuronsOptions | PruneExpertsOptions {
  const spec = structuralCommands[command];
  const str = (k: string) => flags.get(k)?.[0];
  const out = str('out');
  if (out === undefined) throw badOption(`${command} needs -o out.onnx`, `Usage: ${usageLine(spec)}`);
  if (flags.has('calib-batch') && !flags.has('calib')) throw badOption('--calib-batch needs --calib');
  const evalData = str('eval');
  const common = {
    model,
    out,
    calib: (flags.get('calib') ?? []).map((t) => parseInputBinding(t, '--calib')),
    calibBatch: parseCalibBatch(str('calib-batch')),
    ...(evalData !== undefined ? { eval: evalData } : {}),
    json: flags.has('json'),
    ...(flags.has('no-speed') ? { noSpeed: true } : {}),
  };
  const ratio = str('ratio');
  switch (command) {
    case 'slice':
      if (ratio === undefined) throw badOption('slice needs --ratio, e.g. --ratio 0.25', `Usage: ${usageLine(spec)}`);
      return {
        ...common,
        ratio: parseRatio(ratio),
        multiple: parsePositive(str('multiple'), '--multiple', 8),
        basis: (str('basis') ?? 'model') as BasisScope,
        untieHead: flags.has('untie-head'),
      };
    case 'prune-heads': {
      const heads = str('heads');
      if ((ratio === undefined) === (heads === undefined)) throw badOption('prune-heads needs one of --ratio R or --heads layer:head,...', `Usage: ${usageLine(spec)}`);
      return { ...common, ...(ratio !== undefined ? { ratio: parseRatio(ratio) } : {}), ...(heads !== undefined ? { heads } : {}) };
    }
    case 'prune-neurons':
      if (ratio === undefined) throw badOption('prune-neurons needs --ratio, e.g. --ratio 0.25', `Usage: ${usageLine(spec)}`);
      return { ...common, ratio: parseRatio(ratio) };
    case 'prune-experts': {
      const keep = str('keep');
      if (keep === undefined) throw badOption('prune-experts needs --keep N', `Usage: ${usageLine(spec)}`);
      const rank = str('rank') as PruneExpertsOptions['rank'];
      return { ...common, keep: parsePositive(keep, '--keep', 1), ...(rank ? { rank } : {}), merge: flags.has('merge') };
    }
  }
}

/** A fraction in [0, 1). */
function parseRatio(text: string): number {
  const r = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(r >= 0 && r < 1)) throw badOption(`--ratio must be a fraction in [0, 1) such as 0.25, not '${text}'`);
  return r;
}
