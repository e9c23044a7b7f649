// `sparsec build model.onnx -o dir [--shape ...] [--format ...] [--tune]`: compile a model to a
// WebAssembly artifact. Everything is checked and built in memory first; the files are
// written all-or-nothing, so a model the backend cannot lower leaves nothing behind. --tune
// times the weight layouts the cost model rates close on this machine (codegen/tune.ts).

import { basename } from 'node:path';
import { buildArtifacts, writeArtifacts, type Manifest } from '../../codegen/artifacts.js';
import { error, SparsecError } from '../../ir/diagnostics.js';
import type { BuildOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatBytes, formatShape, formatTable } from '../format.js';
import { withFile } from '../tensor-files.js';
import { version } from '../version.js';
import { loadUserModel, resolveShapeBindings } from './model.js';

/** The artifact's base name: the model file's name without extension, safe for every platform. */
export function artifactName(file: string): string {
  const base = basename(file).replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9_-]/g, '_');
  return base === '' ? 'model' : base;
}

export async function build(opts: BuildOptions, ctx: CommandContext): Promise<void> {
  const file = opts.model;
  if (opts.tune && opts.format !== 'auto') {
    throw error('BAD_OPTION', `--tune chooses each weight's layout, but --format ${opts.format} fixes them all`, { file }, 'Drop one of --tune and --format.');
  }
  const model = await loadUserModel(file, ctx);
  const shapes = resolveShapeBindings(model, opts.shapes, file);
  ctx.progress.update(`compiling ${file}`);
  const tune = { onLayer: (node: string, i: number, total: number) => ctx.progress.update(`timing layouts of ${node}`, i, total) };
  let result;
  try {
    result = await buildArtifacts(model, {
      shapes, format: opts.format, name: artifactName(file), compilerVersion: version(), relaxedSimd: opts.relaxedSimd ?? false, ...(opts.tune ? { tune } : {}),
    });
  } catch (e) {
    if (e instanceof SparsecError) throw withFile(e, file);
    throw e;
  } finally {
    ctx.progress.clear();
  }
  for (const w of result.lowered.warnings) ctx.warn(w);
  await writeArtifacts(opts.out, result.files);
  ctx.print(opts.json ? JSON.stringify(result.manifest, null, 2) : formatSummary(result.manifest, opts.out, result.files));
}

function formatSummary(m: Manifest, dir: string, files: readonly { name: string; bytes: Uint8Array }[]): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const layers = formatTable([
    ['layer', 'weight', 'K x N', 'tokens', 'density', 'layout', 'bytes', 'vs dense', 'why'],
    ...m.layers.map((l) => [
      l.node, l.weight, `${l.shape[0]} x ${l.shape[1]}`, String(l.tokens), pct(l.density), l.block ? `${l.layout} ${l.block}` : l.layout,
      formatBytes(l.bytes), `${(l.bytes / l.denseBytes).toFixed(2)}x`, l.reason,
    ]),
  ], ['l', 'l', 'r', 'r', 'r', 'l', 'r', 'r', 'l']);
  const io = (list: Manifest['inputs']) => list.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ');
  const tuned = m.layers.filter((l) => l.tuned);
  const changed = tuned.filter((l) => l.layout !== l.tuned!.estimated).length;
  return [
    `built ${m.name} for wasm: inputs ${io(m.inputs)}; outputs ${io(m.outputs)}`,
    '',
    layers,
    '',
    ...(tuned.length > 0 ? [`tuned ${tuned.length} of ${m.layers.length} layers by timing them here; ${changed} took another layout than the cost model's`] : []),
    `${m.kernels} kernel calls; arena ${formatBytes(m.memory.arenaPeak)} (${formatBytes(m.memory.arenaWithoutReuse)} without reuse); memory ${formatBytes(m.memory.total)}`,
    `wrote ${dir}: ${files.map((f) => `${f.name} ${formatBytes(f.bytes.length)}`).join(', ')}`,
  ].join('\n');
}
