// What a built artifact costs to ship apart from its weights: the .wasm without its data
// segments (the weights, when they stay inside the module) plus the generated .js loader,
// which carries the whole runtime. Both gzipped, as a web server would send them.

import { gzipSync } from 'node:zlib';

const DATA_SECTION = 11;
const DATA_COUNT_SECTION = 12;

/** Read an unsigned LEB128 at `at`; returns the value and the offset after it. */
function readU32(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && shift < 35; i++, shift += 7) {
    value += (bytes[i]! & 0x7f) * 2 ** shift;
    if ((bytes[i]! & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new Error('truncated LEB128 in the wasm module');
}

/** The module's bytes with the data and data-count sections left out (everything else kept). */
export function wasmWithoutData(wasm: Uint8Array): Uint8Array {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) throw new Error('not a wasm module');
  const kept: Uint8Array[] = [wasm.subarray(0, 8)];
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at]!;
    const { value: size, next } = readU32(wasm, at + 1);
    const end = next + size;
    if (end > wasm.length) throw new Error('a wasm section runs past the end of the module');
    if (id !== DATA_SECTION && id !== DATA_COUNT_SECTION) kept.push(wasm.subarray(at, end));
    at = end;
  }
  const out = new Uint8Array(kept.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of kept) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface CodeSize {
  /** gzip bytes of the .wasm without data segments. */
  wasmGzip: number;
  /** gzip bytes of the generated loader (runtime included). */
  jsGzip: number;
  /** Their sum: code plus runtime, weights excluded. */
  totalGzip: number;
}

const gzipBytes = (b: Uint8Array): number => gzipSync(b, { level: 9 }).length;

/** Code size of a built artifact from its files (names ending in .wasm and .js). */
export function codeSize(files: readonly { name: string; bytes: Uint8Array }[]): CodeSize {
  const find = (suffix: string) => {
    const f = files.find((x) => x.name.endsWith(suffix));
    if (!f) throw new Error(`the artifact has no ${suffix} file`);
    return f.bytes;
  };
  const wasmGzip = gzipBytes(wasmWithoutData(find('.wasm')));
  const jsGzip = gzipBytes(find('.js'));
  return { wasmGzip, jsGzip, totalGzip: wasmGzip + jsGzip };
}
