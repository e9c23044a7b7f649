import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SparsecError } from '../ir/diagnostics.js';
import { outputFileName, writeAllOrNothing } from './tensor-files.js';

const tmp = mkdtempSync(join(tmpdir(), 'sparsec-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('outputFileName', () => {
  it('keeps output files inside the folder and unique', () => {
    const taken = new Set<string>();
    expect(outputFileName('logits', 'npy', taken)).toBe('logits.npy');
    expect(outputFileName('../../etc/passwd', 'npy', taken)).toBe('.._.._etc_passwd.npy');
    expect(outputFileName('..', 'npy', taken)).toBe('_...npy');
    expect(outputFileName('', 'npy', taken)).toBe('_.npy');
    expect(outputFileName('a/b', 'npy', taken)).toBe('a_b.npy');
    expect(outputFileName('a:b', 'npy', taken)).toBe('a_b_1.npy');
    expect(outputFileName('LOGITS', 'npy', taken)).toBe('LOGITS_1.npy');
  });
});

describe('writeAllOrNothing', () => {
  it('writes every file and leaves no temporary files', async () => {
    const dir = join(tmp, 'a', 'b');
    await writeAllOrNothing(dir, [
      { name: 'x.npy', bytes: new Uint8Array([1]) },
      { name: 'y.npy', bytes: new Uint8Array([2]) },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['x.npy', 'y.npy']);
  });

  it('fails with WRITE_FAILED when the folder cannot be made', async () => {
    const file = join(tmp, 'plain-file');
    writeFileSync(file, '');
    const err = await writeAllOrNothing(join(file, 'sub'), [{ name: 'x.npy', bytes: new Uint8Array([1]) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SparsecError);
    expect((err as SparsecError).diagnostic.code).toBe('WRITE_FAILED');
    expect(existsSync(join(file, 'sub'))).toBe(false);
  });
});
