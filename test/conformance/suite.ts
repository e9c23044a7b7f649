// Discovery of the ONNX backend conformance tests on disk.
//
// Layout (ONNX's backend test data, shipped by Debian's libonnx-testdata):
//   <root>/<group>/<test>/model.onnx
//   <root>/<group>/<test>/test_data_set_<N>/input_<K>.pb, output_<K>.pb
// Groups 'node', 'pytorch-converted', 'pytorch-operator' and 'simple' hold small models.
// 'real' holds only data.json files pointing at large models to download, so those folders are
// reported as skipped (with the reason) rather than silently ignored.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_TESTDATA_ROOT = '/usr/share/libonnx-testdata/data';

/** The groups run by default, in the order they are reported. */
export const DEFAULT_GROUPS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple', 'real'] as const;

export interface DataSet {
  /** Folder of the data set, e.g. .../test_abs/test_data_set_0 */
  readonly dir: string;
  /** input_K.pb paths, in K order. */
  readonly inputs: string[];
  /** output_K.pb paths, in K order. */
  readonly outputs: string[];
}

export interface ConformanceTest {
  /** The test's folder name, e.g. 'test_abs'. */
  readonly name: string;
  /** The group folder, e.g. 'node'. */
  readonly group: string;
  /** `group/name`: unique across groups. */
  readonly id: string;
  readonly dir: string;
  readonly modelPath: string;
  readonly dataSets: DataSet[];
}

export interface SkippedTest {
  readonly id: string;
  readonly reason: string;
}

export interface Discovery {
  readonly root: string;
  readonly tests: ConformanceTest[];
  readonly skipped: SkippedTest[];
}

export interface DiscoverOptions {
  /** Defaults to $SPARSEC_ONNX_TESTDATA, then DEFAULT_TESTDATA_ROOT. */
  root?: string;
  groups?: readonly string[];
  /** Keep only tests whose name or id matches. */
  filter?: RegExp;
}

export function testdataRoot(): string {
  return process.env['SPARSEC_ONNX_TESTDATA'] || DEFAULT_TESTDATA_ROOT;
}

/** True when the conformance data is installed (tests skip themselves otherwise). */
export function hasTestdata(root = testdataRoot()): boolean {
  return existsSync(root) && statSync(root).isDirectory();
}

/** Every test under the root, sorted by group order then name. A missing group is no error. */
export function discoverTests(opts: DiscoverOptions = {}): Discovery {
  const root = opts.root ?? testdataRoot();
  const tests: ConformanceTest[] = [];
  const skipped: SkippedTest[] = [];
  for (const group of opts.groups ?? DEFAULT_GROUPS) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const name of listDirs(groupDir)) {
      const id = `${group}/${name}`;
      if (opts.filter && !opts.filter.test(name) && !opts.filter.test(id)) continue;
      const dir = join(groupDir, name);
      const modelPath = join(dir, 'model.onnx');
      if (!existsSync(modelPath)) {
        skipped.push({ id, reason: existsSync(join(dir, 'data.json')) ? 'model not shipped (download-only)' : 'no model.onnx' });
        continue;
      }
      const dataSets = listDirs(dir)
        .filter((d) => d.startsWith('test_data_set_'))
        .sort(byTrailingNumber)
        .map((d) => readDataSet(join(dir, d)));
      if (dataSets.length === 0) {
        skipped.push({ id, reason: 'no test_data_set_* folder' });
        continue;
      }
      tests.push({ name, group, id, dir, modelPath, dataSets });
    }
  }
  return { root, tests, skipped };
}

function readDataSet(dir: string): DataSet {
  const files = readdirSync(dir);
  const pick = (prefix: string) =>
    files.filter((f) => f.startsWith(prefix) && f.endsWith('.pb')).sort(byTrailingNumber).map((f) => join(dir, f));
  return { dir, inputs: pick('input_'), outputs: pick('output_') };
}

function listDirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** input_10 after input_9: names sort by their last number, then lexically. */
function byTrailingNumber(a: string, b: string): number {
  const na = Number(/(\d+)(?:\.pb)?$/.exec(a)?.[1] ?? -1);
  const nb = Number(/(\d+)(?:\.pb)?$/.exec(b)?.[1] ?? -1);
  return na - nb || (a < b ? -1 : a > b ? 1 : 0);
}
