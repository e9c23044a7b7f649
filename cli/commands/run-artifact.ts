// `sparsec run <artifact>`: run a model built by `sparsec build` with the runtime that ships
// beside it, instead of the reference executor. An artifact is recognized by its content, not
// its name: a WebAssembly module (the "\0asm" magic), a sparsec manifest (<name>.json), or a
// folder holding a manifest and its module. Where the artifact has a relaxed-SIMD build beside
// its module (<name>.relaxed.wasm) and this engine can validate relaxed SIMD, that build runs.

import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { error, SparsecError } from '../../ir/diagnostics.js';
import { Tensor } from '../../ir/tensor.js';
import { hasRelaxedSimd, load, RuntimeError, type Feed as RuntimeFeed, type Model as RuntimeModel, type TensorInfo } from '../../runtime/index.js';
import type { RunOptions } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatShape } from '../format.js';
import { readFeedsFor, type Feed } from './feeds.js';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/**
 * The .wasm module of the artifact at `path`, or undefined when `path` is not an artifact (an
 * .onnx model, or a file that does not exist: the model loader reports those).
 */
export async function findArtifact(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return undefined;
  if (info.isDirectory()) return artifactInFolder(path);
  const head = await readHead(path, 4);
  if (WASM_MAGIC.every((b, i) => head[i] === b)) return path;
  // A manifest is a small JSON object; an ONNX protobuf never starts with '{'.
  if (head[0] !== 0x7b) return undefined;
  const manifestName = await sparsecManifestName(path);
  return manifestName === undefined ? undefined : moduleBeside(path, manifestName);
}

/** Which of the artifact's modules ran, and why that one. */
export interface ArtifactBuild {
  /** The module's file name. */
  readonly module: string;
  readonly simd: 'relaxed' | 'simd128';
  /** Why the plain build ran: no relaxed build beside it, or an engine without relaxed SIMD. */
  readonly reason?: string;
}

export interface ArtifactRun {
  /** Outputs by name, in the module's order. */
  readonly outputs: Map<string, Tensor>;
  readonly build: ArtifactBuild;
}

/** Run the artifact's module (its relaxed-SIMD build where possible) on the --input tensors. */
export async function runArtifact(wasm: string, opts: RunOptions, ctx: CommandContext): Promise<ArtifactRun> {
  const file = opts.model;
  ctx.progress.update(`loading ${file}`);
  let model: RuntimeModel;
  const relaxed = await relaxedBuildOf(wasm);
  const engineHasRelaxed = relaxed !== undefined && enableRelaxedSimd();
  try {
    model = await load(wasm, relaxed !== undefined ? { relaxed } : {});
  } catch (e) {
    throw runtimeError(e, file);
  } finally {
    ctx.progress.clear();
  }
  if (opts.shapes.length > 0) {
    throw error(
      'BAD_OPTION',
      `--shape does not apply to a built artifact: its shapes are fixed at build time (${describe(model.inputs)})`,
      { file },
      'Rebuild it with sparsec build --shape, or run the .onnx model.',
    );
  }
  const feeds = await readFeedsFor(model.inputs.map((i) => ({ ...i, dtype: i.dtype ?? 'float32' })), opts.inputs, file);
  const runtimeFeeds: Record<string, RuntimeFeed> = {};
  for (const info of model.inputs) runtimeFeeds[info.name] = checkedFeed(info, feeds.get(info.name)!);
  ctx.progress.update(`running ${file}`);
  let results;
  try {
    results = model.run(runtimeFeeds);
  } catch (e) {
    throw runtimeError(e, file);
  } finally {
    ctx.progress.clear();
  }
  const outputs = new Map(model.outputs.map((o) => [o.name, new Tensor('float32', [...o.shape], results[o.name]!.data)]));
  if (model.simd === 'relaxed') return { outputs, build: { module: basename(relaxed!), simd: 'relaxed' } };
  const reason = relaxed === undefined ? 'no relaxed-SIMD build beside it' : engineHasRelaxed ? 'the relaxed-SIMD build could not be loaded' : 'this engine cannot validate relaxed SIMD';
  return { outputs, build: { module: basename(wasm), simd: 'simd128', reason } };
}

/** `<name>.relaxed.wasm` beside `<name>.wasm` (the name the generated loader uses too), or the module itself when it is that build. */
async function relaxedBuildOf(wasm: string): Promise<string | undefined> {
  if (wasm.endsWith('.relaxed.wasm')) return wasm;
  if (!wasm.endsWith('.wasm')) return undefined;
  const relaxed = wasm.replace(/\.wasm$/, '.relaxed.wasm');
  return (await stat(relaxed).then((s) => s.isFile(), () => false)) ? relaxed : undefined;
}

/**
 * Whether this engine validates relaxed SIMD, after turning it on where Node needs a flag: V8
 * ships relaxed SIMD from Node 22; Node 20's V8 has it complete behind
 * --experimental-wasm-relaxed-simd, which takes effect for modules compiled after it is set.
 */
function enableRelaxedSimd(): boolean {
  if (hasRelaxedSimd()) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return hasRelaxedSimd();
}

/** The feed for one input, after checking the dtype and the static shape it was built for. */
function checkedFeed(info: TensorInfo, feed: Feed): RuntimeFeed {
  const want = info.dtype ?? 'float32';
  const t = feed.tensor;
  if (t.dtype !== want) {
    throw error('TYPE_MISMATCH', `input '${info.name}' is ${t.dtype}, but the artifact takes ${want}`, { file: feed.file, value: info.name });
  }
  if (formatShape(t.shape) !== formatShape(info.shape)) {
    throw error(
      'SHAPE_MISMATCH',
      `input '${info.name}' has shape ${formatShape(t.shape)}, but the artifact is built for the static shape ${formatShape(info.shape)}`,
      { file: feed.file, value: info.name },
      `Rebuild it with sparsec build --shape ${info.name}=${t.shape.join(',')}.`,
    );
  }
  return { data: t.data as Float32Array | BigInt64Array, shape: t.shape };
}

/** A folder written by `sparsec build`: the module named by its sparsec manifest. */
async function artifactInFolder(dir: string): Promise<string> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const manifestName = await sparsecManifestName(join(dir, name));
    if (manifestName !== undefined) return moduleBeside(join(dir, name), manifestName);
  }
  throw error(
    'BAD_INPUT',
    'is a folder without a sparsec manifest, neither a model nor a built artifact',
    { file: dir },
    'Pass an .onnx model, or a folder written by sparsec build.',
  );
}

/** The artifact name a sparsec manifest declares, or undefined for any other file. */
async function sparsecManifestName(file: string): Promise<string | undefined> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const m = manifest as { name?: unknown; compiler?: { name?: unknown } } | null;
  return m?.compiler?.name === 'sparsec' && typeof m.name === 'string' ? m.name : undefined;
}

async function moduleBeside(manifestFile: string, name: string): Promise<string> {
  const wasm = join(dirname(manifestFile), `${name}.wasm`);
  const exists = await stat(wasm).then((s) => s.isFile(), () => false);
  if (!exists) throw error('FILE_NOT_FOUND', `the manifest names module '${name}.wasm', which is missing`, { file: manifestFile }, 'Rebuild the artifact with sparsec build.');
  return wasm;
}

async function readHead(file: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (handle === undefined) return new Uint8Array(0);
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const describe = (infos: readonly TensorInfo[]) => infos.map((i) => `${i.name} ${formatShape(i.shape)}`).join(', ');

/** The runtime's own errors are the user's (a broken or foreign module): one line, exit 1. */
function runtimeError(e: unknown, file: string): unknown {
  if (e instanceof SparsecError) return e;
  if (e instanceof RuntimeError) return error('BAD_MODEL', e.message.replace(/^sparsec: /, ''), { file });
  if (e instanceof Error && e.constructor.name === 'CompileError') return error('BAD_MODEL', `is not a valid WebAssembly module: ${e.message}`, { file });
  return e;
}
