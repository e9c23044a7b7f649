// Instantiate a kernel module over a fresh memory, place inputs, run, read outputs. Used by
// the kernel tests and the benchmarks; the shipping runtime (runtime/) is separate and
// dependency-free.

// The WebAssembly JS API, typed here: lib.dom has it but this project compiles against ES2022
// and @types/node, which do not declare it.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (desc: { initial: number }) => WasmMemory;
  instantiate(binary: Uint8Array, imports: object): Promise<{ instance: { exports: object } }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
const ALIGN = 64;
/**
 * Every instance keeps [KERNEL_SCRATCH, + KERNEL_SCRATCH_BYTES) for kernels that need scratch
 * memory (spec.scratch: the one-token N:M table), as a built module keeps its scratch region.
 */
export const KERNEL_SCRATCH = ALIGN;
export const KERNEL_SCRATCH_BYTES = 16384;

export class KernelInstance {
  private top = KERNEL_SCRATCH + KERNEL_SCRATCH_BYTES;

  private constructor(readonly memory: WasmMemory, readonly exports: Record<string, unknown>) {}

  static async create(binary: Uint8Array, bytesNeeded = PAGE): Promise<KernelInstance> {
    const memory = new wasm.Memory({ initial: Math.ceil((bytesNeeded + KERNEL_SCRATCH_BYTES + 2 * ALIGN) / PAGE) });
    const { instance } = await wasm.instantiate(binary, { env: { memory } });
    return new KernelInstance(memory, instance.exports as Record<string, unknown>);
  }

  /** Reserve `bytes` (64-byte aligned) and return the byte address; grows memory as needed. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + bytes) / ALIGN) * ALIGN;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE));
    return at;
  }

  /** Copy `data` into fresh memory and return its address. */
  put(data: ArrayBufferView): number {
    const at = this.alloc(data.byteLength);
    new Uint8Array(this.memory.buffer, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return at;
  }

  /** A live view of `count` floats at `at` (invalidated if memory grows). */
  f32(at: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, count);
  }

  fn(name: string): (...args: number[]) => unknown {
    const f = this.exports[name];
    if (typeof f !== 'function') throw new Error(`module exports no function '${name}'`);
    return f as (...args: number[]) => unknown;
  }
}
