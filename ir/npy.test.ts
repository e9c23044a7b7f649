import { describe, expect, it } from 'vitest';
import { SparsecError } from './diagnostics.js';
import { allocData, type DType } from './dtype.js';
import { isNpy, readNpy, writeNpy } from './npy.js';
import { Tensor } from './tensor.js';

// Files written by numpy 1.x (np.lib.format.write_array), so the reader is checked against the
// real producer and not only against our own writer.
const fromNumpy = {
  f32: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBAAACAQAAAoEA=',
  fortranI2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGkyJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAMAAQAEAAIABQA=',
  bigEndianI4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAB/////gAAAAM=',
  v2Bool: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICd8YjEnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAA==',
  v3F8: 'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMSwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4Pw==',
  scalarI8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoHAAAAAAAAAA==',
  unicode: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPFUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAphAAAAYgAAAA==',
};
const bytesOf = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

function failure(f: () => unknown): SparsecError {
  try {
    f();
  } catch (e) {
    if (e instanceof SparsecError) return e;
    throw e;
  }
  throw new Error('expected a SparsecError');
}

describe('readNpy on numpy-written files', () => {
  it('reads a C-order float32 matrix', () => {
    const t = readNpy(bytesOf(fromNumpy.f32));
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 3]);
    expect([...t.toNumbers()]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('transposes Fortran-order data into row-major order', () => {
    const t = readNpy(bytesOf(fromNumpy.fortranI2));
    expect(t.dtype).toBe('int16');
    expect(t.shape).toEqual([2, 3]);
    expect(t.toNumbers()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('converts big-endian data', () => {
    const t = readNpy(bytesOf(fromNumpy.bigEndianI4));
    expect(t.dtype).toBe('int32');
    expect(t.toNumbers()).toEqual([1, -2, 3]);
  });

  it('reads version 2 and 3 headers, bool and scalars', () => {
    const b = readNpy(bytesOf(fromNumpy.v2Bool));
    expect(b.dtype).toBe('bool');
    expect([...(b.data as Uint8Array)]).toEqual([1, 0]);
    const f = readNpy(bytesOf(fromNumpy.v3F8));
    expect(f.dtype).toBe('float64');
    expect(f.toNumbers()).toEqual([1.5]);
    const s = readNpy(bytesOf(fromNumpy.scalarI8));
    expect(s.shape).toEqual([]);
    expect((s.data as BigInt64Array)[0]).toBe(7n);
  });

  it('writes byte-identical files to numpy for plain arrays', () => {
    for (const key of ['f32', 'scalarI8'] as const) {
      const t = readNpy(bytesOf(fromNumpy[key]));
      expect(Buffer.from(writeNpy(t)).toString('base64')).toBe(fromNumpy[key]);
    }
  });
});

describe('writeNpy/readNpy round trip', () => {
  const dtypes: DType[] = ['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'complex64'];
  for (const dtype of dtypes) {
    it(`round-trips ${dtype}`, () => {
      const t = Tensor.zeros(dtype, [2, 3, 2]);
      const data = t.data as unknown as { [i: number]: number | bigint; length: number };
      for (let i = 0; i < data.length; i++) {
        data[i] = typeof data[0] === 'bigint' ? BigInt(i * 3 + 1) : dtype === 'bool' ? i % 2 : i * 3 + 1;
      }
      const bytes = writeNpy(t);
      expect(isNpy(bytes)).toBe(true);
      // Header plus magic is a multiple of 64 bytes, as the format requires for alignment.
      expect((bytes.length - (t.data as Uint8Array).byteLength) % 64).toBe(0);
      const back = readNpy(bytes);
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual([2, 3, 2]);
      expect([...(back.data as Iterable<unknown>)]).toEqual([...(t.data as Iterable<unknown>)]);
    });
  }

  it('round-trips an empty tensor and a 1-D shape', () => {
    expect(readNpy(writeNpy(Tensor.zeros('float32', [0, 4]))).shape).toEqual([0, 4]);
    expect(readNpy(writeNpy(Tensor.float32([1, 2]))).shape).toEqual([2]);
  });

  it('accepts |i1 and |u1 descriptors', () => {
    const bytes = writeNpy(new Tensor('int8', [2], Int8Array.from([-1, 5])));
    const text = new TextDecoder().decode(bytes.subarray(0, 64));
    expect(text).toContain("'|i1'");
    expect(readNpy(bytes).toNumbers()).toEqual([-1, 5]);
  });
});

describe('readNpy errors name the file', () => {
  it('rejects files that are not .npy', () => {
    const e = failure(() => readNpy(new TextEncoder().encode('hello world'), 'x.npy'));
    expect(e.diagnostic.code).toBe('BAD_INPUT');
    expect(e.diagnostic.location?.file).toBe('x.npy');
    expect(e.message).toMatch(/not a \.npy file/);
  });

  it('rejects truncated data and headers', () => {
    const full = bytesOf(fromNumpy.f32);
    expect(failure(() => readNpy(full.subarray(0, full.length - 4), 'a.npy')).message).toMatch(/a\.npy.*truncated data.*needs 24 bytes but the file has 20/);
    expect(failure(() => readNpy(full.subarray(0, 40), 'a.npy')).message).toMatch(/truncated \.npy header/);
    expect(failure(() => readNpy(full.subarray(0, 8), 'a.npy')).message).toMatch(/truncated/);
  });

  it('rejects trailing bytes after the data', () => {
    const full = bytesOf(fromNumpy.f32);
    const longer = new Uint8Array(full.length + 4);
    longer.set(full);
    expect(failure(() => readNpy(longer, 'a.npy')).message).toMatch(/4 bytes after the data/);
  });

  it('rejects unsupported dtypes clearly', () => {
    expect(failure(() => readNpy(bytesOf(fromNumpy.unicode), 'u.npy')).message).toMatch(/u\.npy.*unsupported \.npy dtype '<U2'/);
  });

  it('rejects a malformed header', () => {
    const bytes = bytesOf(fromNumpy.f32);
    bytes.set(new TextEncoder().encode("{'descx'"), 10);
    expect(failure(() => readNpy(bytes, 'm.npy')).message).toMatch(/malformed \.npy header/);
  });

  it('refuses to write dtypes numpy has no type for', () => {
    const t = new Tensor('bfloat16', [1], allocData('bfloat16', 1));
    expect(failure(() => writeNpy(t)).diagnostic.code).toBe('UNSUPPORTED_DTYPE');
  });
});

describe('readNpy on a Node Buffer', () => {
  it('reads the bytes of the view, not of the pool behind it', () => {
    // Small Buffers share one pooled ArrayBuffer; a reader that ignores byteOffset reads
    // whatever else lives in the pool.
    const file = writeNpy(Tensor.float32([1, 2, 3]));
    const pooled = Buffer.concat([Buffer.from('padding-'), Buffer.from(file)]).subarray(8);
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(Array.from(readNpy(pooled).data as Float32Array)).toEqual([1, 2, 3]);
  });
});
