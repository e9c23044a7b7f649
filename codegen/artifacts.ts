// A model in, the files of a built artifact out: <name>.wasm, <name>.relaxed.wasm (with
// `relaxedSimd`: the same module with f32x4.relaxed_madd), <name>.weights.bin (large weights only), <name>.js (the runtime plus a loader bound to the module beside it),
// <name>.d.ts (typed input and output names and shapes) and <name>.json (the manifest).
// Building is pure (bytes in memory); `writeArtifacts` puts them on disk all-or-nothing.
// Identical inputs give identical bytes: nothing depends on time, paths or map order.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { error } from '../ir/diagnostics.js';
import type { Model } from '../ir/graph.js';
import { lower, type Lowered, type LowerOptions } from './lower.js';
import { lowerTuned, type TunedLayer, type TuneOptions } from './tune.js';
import { emitModule, type EmitOptions } from './wasm/emit.js';
import { typings } from './typings.js';

export interface BuildOptions extends LowerOptions, Pick<EmitOptions, 'externalWeightsBytes'> {
  /** Base name of the files (default 'model'). */
  name?: string;
  /** Written into the manifest. */
  compilerVersion: string;
  /** Also emit <name>.relaxed.wasm, which the loader picks where relaxed SIMD validates. */
  relaxedSimd?: boolean;
  /** Time the layouts the cost model rates close on this machine and take the fastest (build --tune). */
  tune?: boolean | TuneOptions;
}

export interface ArtifactFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface LayerManifest {
  node: string;
  weight: string;
  /** [K, N] of y = x @ W, and the tokens (rows of x) it was built for. */
  shape: [number, number];
  tokens: number;
  density: number;
  is2of4: boolean;
  layout: string;
  /** Layout bsr's block shape: rows (output channels) x cols (inputs), e.g. 4x1. */
  block?: string;
  reason: string;
  /** Packed bytes (values, indices, bias) and what dense f32 would take. */
  bytes: number;
  denseBytes: number;
  /** With --tune, when several layouts were timed: the cost model's pick and each layout's median ms per call, fastest first (`layout` is the first, or the pick when the first was not faster by the margin). */
  tuned?: { estimated: string; ms: Record<string, number> };
}

export interface Manifest {
  name: string;
  target: 'wasm';
  compiler: { name: 'sparsec'; version: string };
  inputs: { name: string; dtype: 'float32' | 'int64'; shape: number[] }[];
  outputs: { name: string; dtype: 'float32' | 'int64'; shape: number[] }[];
  layers: LayerManifest[];
  kernels: number;
  bytes: { wasm: number; weights: number; weightsFile?: string; js: number; dts: number; relaxedWasm?: number };
  /** The module files: the plain SIMD128 build, and the relaxed-SIMD one when built. */
  modules: { simd128: string; relaxed?: string };
  memory: { total: number; arenaPeak: number; arenaWithoutReuse: number };
  /** SHA-256 of the module(s) and the weights file. */
  contentHash: string;
}

export interface BuildResult {
  readonly files: ArtifactFile[];
  readonly manifest: Manifest;
  readonly lowered: Lowered;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

export async function buildArtifacts(model: Model, opts: BuildOptions): Promise<BuildResult> {
  const name = opts.name ?? 'model';
  const { lowered, tuned } = opts.tune ? await lowerTuned(model, opts, opts.tune === true ? {} : opts.tune) : { lowered: lower(model, opts), tuned: undefined };
  const { schedule, plan } = lowered;
  const weightsFile = `${name}.weights.bin`;
  const emitOpts = { weightsFile, ...(opts.externalWeightsBytes !== undefined ? { externalWeightsBytes: opts.externalWeightsBytes } : {}) };
  const emitted = emitModule(schedule, plan, emitOpts);
  // Same schedule and weights; only the multiply-adds differ, so one weights file serves both.
  const relaxed = opts.relaxedSimd ? emitModule(schedule, plan, { ...emitOpts, relaxedSimd: true }).wasm : undefined;
  const relaxedFile = `${name}.relaxed.wasm`;
  const js = utf8(await loaderSource(name, opts.compilerVersion, relaxed !== undefined));
  const dts = utf8(typings(name, opts.compilerVersion, schedule));
  const hash = createHash('sha256').update(emitted.wasm);
  if (relaxed) hash.update(relaxed);
  if (emitted.weights) hash.update(emitted.weights);
  const io = (list: typeof schedule.inputs) => list.map((p) => ({ name: p.name, dtype: p.dtype ?? ('float32' as const), shape: [...p.shape] }));
  const manifest: Manifest = {
    name,
    target: 'wasm',
    compiler: { name: 'sparsec', version: opts.compilerVersion },
    inputs: io(schedule.inputs),
    outputs: io(schedule.outputs),
    layers: schedule.layers.map((l) => {
      const t = tuned?.get(l.node);
      return {
        node: l.node, weight: l.weight, shape: [l.K, l.N], tokens: l.M,
        density: Number(l.density.toFixed(6)), is2of4: l.is2of4, layout: l.layout, ...(l.block ? { block: l.block } : {}), reason: t ? tunedReason(l.density, t) : l.reason,
        bytes: emitted.layerBytes.get(l.node) ?? 0, denseBytes: l.K * l.N * 4,
        ...(t ? { tuned: { estimated: t.estimated, ms: Object.fromEntries(t.times.map((x) => [x.layout, Number(x.ms.toPrecision(4))])) } } : {}),
      };
    }),
    kernels: schedule.kernels.length,
    bytes: {
      wasm: emitted.wasm.length, weights: emitted.weightBytes,
      ...(emitted.weights ? { weightsFile } : {}), js: js.length, dts: dts.length,
      ...(relaxed ? { relaxedWasm: relaxed.length } : {}),
    },
    modules: { simd128: `${name}.wasm`, ...(relaxed ? { relaxed: relaxedFile } : {}) },
    memory: { total: emitted.memoryBytes, arenaPeak: plan.peak, arenaWithoutReuse: plan.unshared },
    contentHash: hash.digest('hex'),
  };
  const files: ArtifactFile[] = [
    { name: `${name}.wasm`, bytes: emitted.wasm },
    ...(relaxed ? [{ name: relaxedFile, bytes: relaxed }] : []),
    ...(emitted.weights ? [{ name: weightsFile, bytes: emitted.weights }] : []),
    { name: `${name}.js`, bytes: js },
    { name: `${name}.d.ts`, bytes: dts },
    { name: `${name}.json`, bytes: utf8(`${JSON.stringify(manifest, null, 2)}\n`) },
  ];
  return { files, manifest, lowered };
}

/** Why a tuned layer got its layout: the measured times, and the cost model's pick. */
function tunedReason(density: number, t: TunedLayer): string {
  const times = t.times.map((x) => `${x.layout} ${x.ms.toPrecision(3)} ms`).join(', ');
  const kept = t.layout === t.estimated && t.times[0]!.layout !== t.layout ? ', kept: the faster one was within the margin' : '';
  return `${(density * 100).toFixed(1)}% dense: timed ${times} (estimated ${t.estimated}${kept})`;
}

/** The runtime's JavaScript (comments stripped) followed by a loader for `<name>.wasm` (and its relaxed build). */
async function loaderSource(name: string, version: string, relaxed: boolean): Promise<string> {
  const url = (file: string) => `new URL(${JSON.stringify(`./${file}`)}, import.meta.url)`;
  return [
    `// ${name}.js: generated by sparsec ${version}. Do not edit.`,
    await runtimeSource(),
    `const moduleUrl = ${url(`${name}.wasm`)};`,
    ...(relaxed ? [`const relaxedUrl = ${url(`${name}.relaxed.wasm`)};`] : []),
    '/** Load the model built beside this file' + (relaxed ? ' (its relaxed-SIMD build where the engine has relaxed SIMD). */' : '. */'),
    'export default function loadModel(options = {}) {',
    relaxed ? '  return load(moduleUrl, { relaxed: relaxedUrl, ...options });' : '  return load(moduleUrl, options);',
    '}',
    '',
  ].join('\n');
}

let runtimeJs: string | undefined;

/** runtime/index as plain JavaScript: from the built .js beside us, or the .ts source transpiled. */
export async function runtimeSource(): Promise<string> {
  if (runtimeJs !== undefined) return runtimeJs;
  const built = new URL('../runtime/index.js', import.meta.url);
  const source = existsSync(built) ? built : new URL('../runtime/index.ts', import.meta.url);
  const text = await readFile(source, 'utf8');
  const { ts } = await import('ts-morph');
  const out = ts.transpileModule(text, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, removeComments: true, sourceMap: false },
  }).outputText;
  return (runtimeJs = out.replace(/^\/\/# sourceMappingURL=.*$/m, '').trimEnd());
}

/** Write every file into `dir`, or none: all are written to a temporary folder first. */
export async function writeArtifacts(dir: string, files: readonly ArtifactFile[]): Promise<void> {
  const target = resolve(dir);
  const fail = (e: unknown) => error('WRITE_FAILED', `cannot write the artifacts: ${(e as Error).message}`, { file: dir }, 'Check that -o names a writable folder.');
  let temp: string | undefined;
  try {
    await mkdir(dirname(target), { recursive: true });
    temp = await mkdtemp(join(dirname(target), `.${basename(target)}.tmp-`));
    // mkdtemp makes the folder private (0700); the artifact folder is renamed from it and
    // must be readable like any folder the user creates (a dev server or CDN serves it).
    await chmod(temp, 0o755);
    for (const f of files) await writeFile(join(temp, f.name), f.bytes);
    if (!existsSync(target)) {
      await rename(temp, target);
      temp = undefined;
    } else {
      for (const f of files) await rename(join(temp, f.name), join(target, f.name));
    }
  } catch (e) {
    throw fail(e);
  } finally {
    if (temp !== undefined) await rm(temp, { recursive: true, force: true }).catch(() => undefined);
  }
}
