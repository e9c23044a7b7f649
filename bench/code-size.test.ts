import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { WasmModule, none } from '../codegen/wasm/module.js';
import { codeSize, wasmWithoutData } from './code-size.js';

/** A module with one function and `dataBytes` of data segment. */
function moduleWithData(dataBytes: number): Uint8Array {
  const m = new WasmModule({ memory: { export: 'memory', pages: 2 } });
  m.addFunction('run', [], none, () => [m.nop()]);
  if (dataBytes > 0) m.addData(64, new Uint8Array(dataBytes).map((_, i) => (i * 7919) & 255));
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

describe('code size of an artifact', () => {
  test('stripping the data section leaves exactly the module without data', async () => {
    const plain = moduleWithData(0);
    const heavy = moduleWithData(50_000);
    expect(heavy.length).toBeGreaterThan(50_000);
    const stripped = wasmWithoutData(heavy);
    expect(stripped.length).toBeLessThan(plain.length + 16);
    // Still a valid module with the same export.
    const wasm = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;
    const { instance } = await wasm.instantiate(stripped);
    expect(typeof instance.exports.run).toBe('function');
  });

  test('the total is the gzip of the code-only wasm plus the gzip of the loader', () => {
    const wasm = moduleWithData(10_000);
    const js = new TextEncoder().encode('export const x = 1;\n'.repeat(100));
    const size = codeSize([{ name: 'm.wasm', bytes: wasm }, { name: 'm.d.ts', bytes: new Uint8Array(5000) }, { name: 'm.js', bytes: js }]);
    expect(size.jsGzip).toBe(gzipSync(js, { level: 9 }).length);
    expect(size.wasmGzip).toBe(gzipSync(wasmWithoutData(wasm), { level: 9 }).length);
    expect(size.wasmGzip).toBeLessThan(200);
    expect(size.totalGzip).toBe(size.wasmGzip + size.jsGzip);
    expect(() => codeSize([{ name: 'm.js', bytes: js }])).toThrow(/no .wasm/);
  });
});
