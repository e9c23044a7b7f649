// The sparsec runtime: what ships beside a built model. No dependencies; the same code runs in
// Node >= 20 and browsers. It compiles the module (streaming where the platform can), copies
// external weights into place, and runs the model: inputs are written at their fixed offsets,
// `run()` is called, outputs are copied out. Everything it needs to know is in the module's
// 'sparsec' custom section (written by codegen/wasm/emit.ts). Given a relaxed-SIMD build too,
// it picks that one where the engine validates relaxed SIMD, else the plain SIMD128 one.

export interface Tensor {
  data: Float32Array;
  shape: readonly number[];
}

/** Inputs are float32, or int64 (token ids) as a BigInt64Array. */
export type InputData = Float32Array | BigInt64Array;
export type Feed = InputData | { data: InputData; shape: readonly number[] };

export interface TensorInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype?: 'int64';
}

export interface Model {
  /** Which build was loaded: 'relaxed' (relaxed SIMD) or 'simd128'. */
  readonly simd: 'relaxed' | 'simd128';
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** Run once; outputs are fresh arrays (they stay valid after the next run). */
  run(feeds: Readonly<Record<string, Feed>>): Record<string, Tensor>;
}

export type Source = URL | string | ArrayBuffer | Uint8Array;

export interface LoadOptions {
  /** The weights file, when the model keeps its weights outside the module (default: found beside it). */
  weights?: Source;
  /**
   * The relaxed-SIMD build of the same model (f32x4.relaxed_madd), loaded instead of `source`
   * where the platform validates relaxed SIMD (browsers today; Node 20 with
   * --experimental-wasm-relaxed-simd). Results may differ from the plain build in the last bits (fused multiply-add).
   */
  relaxed?: Source;
}

interface Place {
  name: string;
  shape: number[];
  offset: number;
  dtype?: 'int64';
}

interface Meta {
  format: number;
  inputs: Place[];
  outputs: Place[];
  weights: { offset: number; bytes: number; file?: string };
}

// The WebAssembly API, declared here because the project compiles without lib.dom.
interface WasmModuleObject {
  readonly __module: unique symbol;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModuleObject>;
  compileStreaming?(source: Promise<unknown>): Promise<WasmModuleObject>;
  instantiate(module: WasmModuleObject, imports: object): Promise<{ exports: Record<string, unknown> }>;
  Module: { customSections(module: WasmModuleObject, name: string): ArrayBuffer[] };
}
interface FetchResponse {
  ok: boolean;
  status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}
const g = globalThis as unknown as {
  WebAssembly: WasmApi;
  fetch?: (url: string) => Promise<FetchResponse>;
  process?: { versions?: { node?: string } };
};

export class RuntimeError extends Error {
  override name = 'SparsecRuntimeError';
}

const fail = (text: string): never => {
  throw new RuntimeError(`sparsec: ${text}`);
};
const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;
const isNode = () => g.process?.versions?.node !== undefined;
const isRemote = (s: string) => /^(https?|blob|data):/i.test(s);

async function readBytes(src: Source): Promise<Uint8Array> {
  if (src instanceof Uint8Array) return src;
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const text = String(src);
  if (isNode() && !isRemote(text)) {
    const fs = await import('node:fs/promises');
    return new Uint8Array(await fs.readFile(src instanceof URL ? src : text));
  }
  const res = await g.fetch!(text);
  if (!res.ok) fail(`cannot fetch ${text} (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

async function compile(src: Source): Promise<WasmModuleObject> {
  const wasm = g.WebAssembly;
  const text = typeof src === 'string' || src instanceof URL ? String(src) : '';
  // Streaming needs the server to send application/wasm; fall back to bytes if it refuses.
  if (text && wasm.compileStreaming && g.fetch && (!isNode() || isRemote(text))) {
    try {
      return await wasm.compileStreaming(g.fetch(text));
    } catch {
      // Retried below from the bytes.
    }
  }
  return wasm.compile(await readBytes(src));
}

/** `file` beside `src` (a URL or a path). */
function sibling(src: Source, file: string): Source | undefined {
  if (src instanceof URL) return new URL(file, src);
  if (typeof src !== 'string') return undefined;
  return isRemote(src) ? new URL(file, src).href : src.replace(/[^/\\]*$/, file);
}

// (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd of the three): valid only
// where the engine has relaxed SIMD.
const RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11];

/** True when this engine accepts relaxed-SIMD instructions (feature detection, no compile). */
export function hasRelaxedSimd(): boolean {
  try {
    return g.WebAssembly.validate(new Uint8Array(RELAXED_PROBE));
  } catch {
    return false;
  }
}

export async function load(source: Source, options: LoadOptions = {}): Promise<Model> {
  let simd: Model['simd'] = 'simd128';
  let module: WasmModuleObject | undefined;
  if (options.relaxed !== undefined && hasRelaxedSimd()) {
    // A missing or unreadable relaxed build falls back to the plain one.
    module = await compile(options.relaxed).catch(() => undefined);
    if (module) simd = 'relaxed';
  }
  module ??= await compile(source);
  const section = g.WebAssembly.Module.customSections(module, 'sparsec')[0];
  if (!section) fail('this WebAssembly module was not built by sparsec (no sparsec section)');
  const meta = JSON.parse(new TextDecoder().decode(section)) as Meta;
  if (meta.format !== 1) fail(`unsupported artifact format ${meta.format}; rebuild the model with this sparsec version`);
  const instance = await g.WebAssembly.instantiate(module, {});
  const memory = instance.exports.memory as { buffer: ArrayBuffer };
  const run = instance.exports.run as () => void;
  const w = meta.weights;
  if (w.file !== undefined) {
    const from = options.weights ?? sibling(source, w.file) ?? fail(`the model keeps its weights in '${w.file}': pass it as options.weights`);
    const bytes = await readBytes(from);
    if (bytes.length !== w.bytes) fail(`weights file has ${bytes.length} bytes, the model expects ${w.bytes} ('${w.file}')`);
    new Uint8Array(memory.buffer, w.offset, w.bytes).set(bytes);
  }
  const info = (p: Place): TensorInfo => ({ name: p.name, shape: p.shape, ...(p.dtype ? { dtype: p.dtype } : {}) });
  const list = (ps: Place[]) => ps.map((p) => `'${p.name}' ${fmt(p.shape)}`).join(', ');
  return {
    simd,
    inputs: meta.inputs.map(info),
    outputs: meta.outputs.map(info),
    run(feeds) {
      for (const name of Object.keys(feeds)) {
        if (!meta.inputs.some((p) => p.name === name)) fail(`unknown input '${name}'; the inputs are ${list(meta.inputs)}`);
      }
      for (const p of meta.inputs) {
        const feed = feeds[p.name];
        if (feed === undefined) fail(`missing input '${p.name}' ${fmt(p.shape)}`);
        const bare = feed instanceof Float32Array || feed instanceof BigInt64Array;
        const data = bare ? feed : feed!.data;
        const Want = p.dtype === 'int64' ? BigInt64Array : Float32Array;
        if (!(data instanceof Want)) fail(`input '${p.name}' must be a ${Want.name}, not ${Object.prototype.toString.call(data).slice(8, -1)}`);
        const size = p.shape.reduce((a, b) => a * b, 1);
        if (!bare && fmt(feed!.shape) !== fmt(p.shape)) {
          fail(`input '${p.name}' has shape ${fmt(feed!.shape)}, the model was built for ${fmt(p.shape)}`);
        }
        if (data.length !== size) fail(`input '${p.name}' has ${data.length} elements, the model was built for ${fmt(p.shape)} (${size})`);
        new Want(memory.buffer, p.offset, size).set(data as never);
      }
      run();
      const out: Record<string, Tensor> = {};
      for (const p of meta.outputs) {
        const size = p.shape.reduce((a, b) => a * b, 1);
        out[p.name] = { data: new Float32Array(memory.buffer, p.offset, size).slice(), shape: p.shape };
      }
      return out;
    },
  };
}
