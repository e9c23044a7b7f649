import { describe, expect, test } from 'vitest';
import { KernelInstance } from './harness.js';
import { f32, i32, v128, WasmModule } from './module.js';

describe('WasmModule', () => {
  test('a new module has SIMD128 on and relaxed SIMD only when asked', () => {
    for (const relaxedSimd of [false, true]) {
      const m = new WasmModule({ relaxedSimd });
      m.addFunction('fma', [v128, v128, v128], v128, (fn) => m.madd(m.get(fn.param(0)), m.get(fn.param(1)), m.get(fn.param(2))));
      expect(m.validate()).toBe(true);
      expect(m.emitText().includes('relaxed_madd')).toBe(relaxedSimd);
      m.dispose();
    }
  });

  test('memory is imported as env.memory; data segments land at their offsets', async () => {
    const m = new WasmModule();
    m.addData(128, new Uint8Array(new Float32Array([1.5, 2.5]).buffer));
    m.addFunction('sum', [], f32, () => m.f32.add(m.f32.load(m.i32.const(128)), m.f32.load(m.i32.const(0), 132)));
    expect(m.emitText()).toContain('(import "env" "memory"');
    const inst = await KernelInstance.create(m.emitBinary());
    m.dispose();
    expect(inst.fn('sum')()).toBe(4);
  });

  test('an exported memory can be defined instead', async () => {
    const m = new WasmModule({ memory: { export: 'mem', pages: 2 } });
    m.addFunction('peek', [i32], i32, (fn) => m.i32.load8U(m.get(fn.param(0))));
    const text = m.emitText();
    expect(text).toContain('(export "mem" (memory');
    expect(m.validate()).toBe(true);
    m.dispose();
  });

  test('a body whose type does not match the result fails validation', () => {
    const m = new WasmModule();
    m.addFunction('bad', [], i32, () => m.f32.const(1));
    expect(m.validate()).toBe(false);
    m.dispose();
  });
});
