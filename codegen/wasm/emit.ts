// Schedule + memory plan -> one WebAssembly module. Memory map (fixed at build time):
//
//   [0, 64)                  unused (address 0 stays invalid)
//   [64, 64 + weights)       packed weights and constants, 64-byte aligned parts
//   [arena, arena + peak)    inputs, outputs and temporaries at their planned offsets
//   [scratch, + scratch)     scratch that kernels overwrite at every call (the one-token
//                            N:M selection table), shared: kernels run one at a time
//
// The module defines and exports its memory and one function, `run()`, that calls the
// kernels in schedule order with every address baked in. Weights up to a threshold are data
// segments; above it they go to a separate file the runtime copies to the same offset
// (binaryen holds several copies of a segment while emitting). A custom section 'sparsec'
// holds the JSON the runtime needs: input/output names, shapes and offsets, the weights'
// place. Identical inputs give identical bytes: kernel names are numbered in schedule order
// and the JSON is written with a fixed key order.

import { emitBsr } from './kernels/bsr.js';
import { packBsr, type BlockLabel } from './kernels/bsr-format.js';
import { packDense, emitDense } from './kernels/dense.js';
import { emitAdd, emitCopy, emitTranspose, emitUnary } from './kernels/elementwise.js';
import { epilogueKey } from './kernels/epilogue.js';
import { emitNM, nmPatternOf, nmScratchBytes, packNM, type NMPattern } from './kernels/nm.js';
import { sparseRows } from './kernels/sparse-format.js';
import { emitSpmm, packSpmm, type PackedSparse } from './kernels/spmm.js';
import { emitSpmv, packSpmv } from './kernels/spmv.js';
import { none, WasmModule, type ExprRef } from './module.js';
import type { MemoryPlan } from '../memory-plan.js';
import { kernelReads, type Kernel, type LinearKernel, type Schedule } from '../schedule.js';
import { tensorKernelKey } from '../tensor-kernels.js';
import { emitTensorKernel } from './tensor-emit.js';
import { cnnKernelKey } from '../cnn-kernels.js';
import { emitCnnKernel } from './cnn-emit.js';

export const WEIGHTS_BASE = 64;
const PART_ALIGN = 64;
const PAGE = 65536;
/** Weights above this many bytes go to `<name>.weights.bin` instead of data segments. */
export const DEFAULT_EXTERNAL_WEIGHTS_BYTES = 1 << 20;

export interface TensorPlace {
  readonly name: string;
  readonly shape: readonly number[];
  /** Byte offset in memory. */
  readonly offset: number;
  /** int64 inputs (token ids); float32 when absent. */
  readonly dtype?: 'int64';
}

/** What the runtime reads from the module's 'sparsec' custom section. */
export interface RuntimeMeta {
  readonly format: 1;
  readonly inputs: TensorPlace[];
  readonly outputs: TensorPlace[];
  readonly weights: { readonly offset: number; readonly bytes: number; readonly file?: string };
}

export interface EmitOptions {
  /** Weights larger than this go to a separate file (default 1 MiB). */
  externalWeightsBytes?: number;
  /** The external weights file's name, as the runtime will find it beside the module. */
  weightsFile?: string;
  relaxedSimd?: boolean;
  /** Also export `step0`, `step1`, ...: each calls one kernel of the schedule (profiling). */
  exportSteps?: boolean;
}

export interface EmittedModule {
  readonly wasm: Uint8Array;
  /** The external weights image, when the weights went out of the module. */
  readonly weights?: Uint8Array;
  readonly meta: RuntimeMeta;
  readonly weightBytes: number;
  readonly memoryBytes: number;
  /** Packed bytes per Linear node (weights, indices and bias). */
  readonly layerBytes: ReadonlyMap<string, number>;
}

/** The weights region under construction: parts at 64-byte aligned offsets from WEIGHTS_BASE. */
class WeightImage {
  private readonly parts: { at: number; bytes: Uint8Array }[] = [];
  private size = 0;

  add(data: ArrayBufferView): number {
    const at = this.size;
    this.parts.push({ at, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    this.size = Math.ceil((at + data.byteLength) / PART_ALIGN) * PART_ALIGN;
    return WEIGHTS_BASE + at;
  }

  get bytes(): number {
    return this.size;
  }

  build(): Uint8Array {
    const out = new Uint8Array(this.size);
    for (const p of this.parts) out.set(p.bytes, p.at);
    return out;
  }
}

export function emitModule(s: Schedule, plan: MemoryPlan, opts: EmitOptions = {}): EmittedModule {
  // Weights are packed first: the arena starts after them, and the memory size follows.
  const image = new WeightImage();
  const constAt = new Map<number, number>();
  // Only constants some kernel reads (fusion can leave a mask or a scale unread).
  const read = new Set(s.kernels.flatMap(kernelReads));
  for (const b of s.buffers) if (b.role === 'const' && read.has(b.id)) constAt.set(b.id, image.add(b.data!));
  const layerBytes = new Map<string, number>();
  // Dense convolutions keep their packed weight in a const buffer.
  for (const k of s.kernels) if (k.op === 'pointwise' || k.op === 'conv2d' || k.op === 'sparse-conv2d') layerBytes.set(k.node, s.buffers[k.ins[1]!]!.size * 4);
  const packed = s.kernels.map((k) => (k.op === 'linear' ? packLinear(k) : undefined));
  const weightAt = packed.map((p, i) => {
    if (!p) return 0;
    layerBytes.set((s.kernels[i] as LinearKernel).node, p.blob.length);
    return image.add(p.blob);
  });
  const arenaBase = Math.ceil((WEIGHTS_BASE + image.bytes) / PART_ALIGN) * PART_ALIGN;
  const scratch = Math.ceil((arenaBase + plan.peak) / PART_ALIGN) * PART_ALIGN;
  const scratchBytes = Math.max(0, ...s.kernels.map((k) => (k.op === 'linear' && k.layout === 'nm' ? nmScratchBytes({ name: '', M: k.M, K: k.K, N: k.N }, nmPattern(k)) : 0)));
  const memoryBytes = scratch + scratchBytes;
  const addr = (id: number): number => constAt.get(id) ?? arenaBase + plan.offsets.get(id)!;
  const weights = image.build();
  const external = weights.length > (opts.externalWeightsBytes ?? DEFAULT_EXTERNAL_WEIGHTS_BYTES);

  const pages = Math.max(1, Math.ceil(memoryBytes / PAGE));
  const m = new WasmModule({ relaxedSimd: opts.relaxedSimd ?? false, memory: { export: 'memory', pages } });
  try {
    const kernels = new KernelTable(m, scratch);
    const call = (k: Kernel, i: number): ExprRef => {
      const c = (n: number) => m.i32.const(n);
      const name = kernels.get(k, packed[i]);
      if (k.op === 'linear') return m.call(name, [c(addr(k.x)), c(weightAt[i]!), c(addr(k.y)), ...(k.residual === undefined ? [] : [c(addr(k.residual))])]);
      if (k.op === 'add') return m.call(name, [c(addr(k.a)), c(addr(k.b)), c(addr(k.y))]);
      if ('ins' in k) return m.call(name, [...k.ins.map((b) => c(addr(b))), c(addr(k.y))]);
      return m.call(name, [c(addr(k.x)), c(addr(k.y))]);
    };
    const calls = s.kernels.map(call);
    m.addFunction('run', [], none, () => (calls.length ? calls : [m.nop()]));
    if (opts.exportSteps) s.kernels.forEach((k, i) => m.addFunction(`step${i}`, [], none, () => [call(k, i)]));
    if (!external && weights.length > 0) m.addData(WEIGHTS_BASE, weights);
    const place = (io: Schedule['inputs'][number]): TensorPlace => ({ name: io.name, shape: [...io.shape], offset: addr(io.buffer), ...(io.dtype ? { dtype: io.dtype } : {}) });
    const meta: RuntimeMeta = {
      format: 1,
      inputs: s.inputs.map(place),
      outputs: s.outputs.map(place),
      weights: { offset: WEIGHTS_BASE, bytes: weights.length, ...(external ? { file: opts.weightsFile ?? 'weights.bin' } : {}) },
    };
    m.addCustomSection('sparsec', new TextEncoder().encode(JSON.stringify(meta)));
    if (!m.validate()) throw new Error('emitted module does not validate (a codegen bug)');
    const wasm = m.emitBinary();
    return { wasm, ...(external ? { weights } : {}), meta, weightBytes: weights.length, memoryBytes, layerBytes };
  } finally {
    m.dispose();
  }
}

function packLinear(k: LinearKernel): PackedSparse {
  const spec = { name: '', M: k.M, K: k.K, N: k.N, bias: k.bias !== undefined, epilogue: k.epilogue };
  if (k.layout === 'dense') {
    const blob = packDense(spec, k.weight, k.bias);
    return { blob: new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength), offsets: { values: 0, bias: 0, counts: 0, k: 0, kBytes: 2 } };
  }
  if (k.layout === 'nm') return packNM(spec, k.weight, nmPattern(k), k.bias);
  if (k.layout === 'bsr') return packBsr(spec, k.weight, k.bias, blockOf(k));
  const rows = sparseRows(k.weight, k.K, k.N);
  return k.M === 1 ? packSpmv(spec, rows, k.bias) : packSpmm(spec, rows, k.bias);
}

/** The N:M pattern of a weight laid out `nm` (the cost model chose it because one fits). */
function nmPattern(k: LinearKernel): NMPattern {
  const p = nmPatternOf(k.weight, k.K, k.N);
  if (!p) throw new Error(`weight '${k.weightName}' has layout nm but fits no N:M pattern (a codegen bug)`);
  return p;
}

/** The block shape of a weight laid out `bsr` (the layout choice carries it). */
function blockOf(k: LinearKernel): BlockLabel {
  if (!k.block) throw new Error(`weight '${k.weightName}' has layout bsr but no block shape (a codegen bug)`);
  return k.block;
}

/** One function per distinct kernel specialization, named k0, k1, ... in first-use order. */
class KernelTable {
  private readonly names = new Map<string, string>();

  constructor(private readonly m: WasmModule, private readonly scratch: number) {}

  get(k: Kernel, packed: PackedSparse | undefined): string {
    const key = kernelKey(k, packed);
    const known = this.names.get(key);
    if (known) return known;
    const name = `k${this.names.size}`;
    this.names.set(key, name);
    this.emit(name, k, packed);
    return name;
  }

  private emit(name: string, k: Kernel, packed: PackedSparse | undefined): void {
    const m = this.m;
    switch (k.op) {
      case 'linear': {
        const spec = { name, M: k.M, K: k.K, N: k.N, bias: k.bias !== undefined, epilogue: k.epilogue, scratch: this.scratch };
        if (k.layout === 'dense') emitDense(m, spec);
        else if (k.layout === 'nm') emitNM(m, spec, packed!.offsets, nmPattern(k));
        else if (k.layout === 'bsr') emitBsr(m, spec, packed!.offsets, blockOf(k));
        else if (k.M === 1) emitSpmv(m, spec, packed!.offsets);
        else emitSpmm(m, spec, packed!.offsets);
        return;
      }
      case 'unary': return emitUnary(m, name, k.size, k.fn);
      case 'add': return emitAdd(m, name, k.size);
      case 'copy': return emitCopy(m, name, k.size);
      case 'transpose': return emitTranspose(m, name, k.rows, k.cols);
      case 'pad2d': case 'conv2d': case 'sparse-conv2d': case 'pointwise': case 'activation': case 'channel-scale': case 'global-avg-pool': return emitCnnKernel(m, name, k);
      default: return emitTensorKernel(m, name, k);
    }
  }
}

function kernelKey(k: Kernel, packed: PackedSparse | undefined): string {
  switch (k.op) {
    case 'linear': {
      const o = packed!.offsets;
      // 2:4 and 4:8 weights (or two block shapes) of one shape can pack to the same offsets but need different code.
      const pattern = k.layout === 'nm' ? `:${nmPattern(k).n}of${nmPattern(k).m}` : k.layout === 'bsr' ? `:${blockOf(k)}` : '';
      return `linear:${k.layout}${pattern}:${k.M}:${k.K}:${k.N}:${k.bias !== undefined}:${epilogueKey(k.epilogue)}:${o.values}:${o.bias}:${o.counts}:${o.k}:${o.kBytes}`;
    }
    case 'unary': return `unary:${k.fn}:${k.size}`;
    case 'add': return `add:${k.size}`;
    case 'copy': return `copy:${k.size}`;
    case 'transpose': return `transpose:${k.rows}:${k.cols}`;
    case 'pad2d': case 'conv2d': case 'sparse-conv2d': case 'pointwise': case 'activation': case 'channel-scale': case 'global-avg-pool': return cnnKernelKey(k);
    default: return tensorKernelKey(k);
  }
}
