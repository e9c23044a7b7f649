// The runtime in a real browser: examples/tiny-lm (pruned 90%, so sparse layouts run too) is
// built with its relaxed-SIMD twin and external weights, served from 127.0.0.1, and loaded in
// headless Chromium through the generated <name>.js loader, the way a user's page would. Its
// outputs must match the reference executor in Node (1e-4 relative); misuse must give the
// runtime's own errors. Chromium validates relaxed SIMD, so the loader must take the relaxed
// build there; a page whose engine refuses relaxed opcodes must get the plain one.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildArtifacts, writeArtifacts } from '../codegen/artifacts.js';
import { maxRelError, pruneUnstructured } from '../codegen/wasm/kernels/reference.js';
import { loadModel } from '../frontend/index.js';
import { execute } from '../ir/executor/index.js';
import type { Model } from '../ir/graph.js';
import { readNpy } from '../ir/npy.js';
import type { Model as RuntimeModel } from './index.js';
import { launchChromium } from './test/chromium.js';
import { serveFolder, type StaticServer } from './test/static-server.js';

const EXAMPLE = new URL('../examples/tiny-lm/', import.meta.url).pathname;
const ids = readNpy(readFileSync(join(EXAMPLE, 'input_ids.npy')));

/** tiny-lm with every 2-D float32 weight magnitude-pruned to 90%. */
async function prunedModel(): Promise<Model> {
  const m = await loadModel(join(EXAMPLE, 'model.onnx'));
  for (const v of m.graph.constants.values()) {
    const t = v.const;
    if (t?.dtype === 'float32' && t.shape.length === 2) (t.data as Float32Array).set(pruneUnstructured(t.data as Float32Array, 0.9));
  }
  return m;
}

/** tiny.js's exports, as the page's module script leaves them (the default export is the loader). */
interface Loader {
  default(options?: object): Promise<RuntimeModel>;
  load(source: unknown, options?: object): Promise<RuntimeModel>;
  hasRelaxedSimd(): boolean;
  RuntimeError: new () => Error;
}

/** What a page reports back: plain JSON (typed arrays and bigints do not cross). */
interface PageRun {
  simd: string;
  output: string;
  shape: number[];
  data: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'sparsec-browser-'));
let server: StaticServer;
let browser: Browser;
let outputName: string;
let reference: Float32Array;

beforeAll(async () => {
  // A missing browser fails here, before the build, with the install command in the message.
  browser = await launchChromium();
  // Weights above 0 bytes go to tiny.weights.bin, so the page fetches that file too.
  const built = await buildArtifacts(await prunedModel(), {
    name: 'tiny', compilerVersion: 'test', shapes: { input_ids: [...ids.shape] }, relaxedSimd: true, externalWeightsBytes: 0,
  });
  await writeArtifacts(dir, built.files);
  outputName = built.manifest.outputs[0]!.name;
  reference = execute((await prunedModel()).graph, { input_ids: ids }).get(outputName)!.data as Float32Array;
  // The user's page: imports the generated loader (which carries the runtime) as a module.
  server = await serveFolder(dir, '<!doctype html><link rel="icon" href="data:,"><script type="module">import * as tiny from "./tiny.js"; globalThis.tiny = tiny;</script>');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const idList = () => [...(ids.data as BigInt64Array)].map(Number);

/** A fresh page at the server's root; `engineWithoutRelaxedSimd` makes WebAssembly.validate refuse relaxed_madd. */
async function openPage(engineWithoutRelaxedSimd = false): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  // Count the compile paths the runtime takes (the spies call through to the real ones).
  await page.addInitScript((withoutRelaxed) => {
    // The project compiles without lib.dom: the page's WebAssembly is typed by hand.
    type Fn = (...a: unknown[]) => unknown;
    const wasm = (globalThis as unknown as { WebAssembly: Record<string, Fn> }).WebAssembly;
    const calls: Record<string, number> = { compile: 0, compileStreaming: 0 };
    (globalThis as unknown as { compileCalls: typeof calls }).compileCalls = calls;
    for (const name of ['compile', 'compileStreaming']) {
      const real = wasm[name]!.bind(wasm);
      wasm[name] = (...a: unknown[]) => (calls[name]!++, real(...a));
    }
    if (!withoutRelaxed) return;
    // An engine without relaxed SIMD rejects any module holding f32x4.relaxed_madd (0xfd 0x85 0x02).
    const validate = wasm.validate!.bind(wasm);
    wasm.validate = (bytes: unknown) => {
      const b = bytes as Uint8Array;
      for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xfd && b[i + 1] === 0x85 && b[i + 2] === 0x02) return false;
      return validate(bytes);
    };
  }, engineWithoutRelaxedSimd);
  await page.goto(`${server.origin}/`);
  server.requests.length = 0;
  return page;
}

/** Load with the generated loader (URLs beside tiny.js, streaming compile) and run once. */
function runGeneratedLoader(page: Page): Promise<PageRun & { hasRelaxed: boolean; calls: Record<string, number> }> {
  return page.evaluate(async (list) => {
    const mod = (globalThis as unknown as { tiny: Loader }).tiny;
    const model = await mod.default();
    const out = model.run({ input_ids: BigInt64Array.from(list.map(BigInt)) });
    const output = model.outputs[0]!.name;
    const calls = (globalThis as unknown as { compileCalls: Record<string, number> }).compileCalls;
    return { hasRelaxed: mod.hasRelaxedSimd(), simd: model.simd, output, shape: [...out[output]!.shape], data: [...out[output]!.data], calls: { ...calls } };
  }, idList());
}

function expectReference(run: PageRun): void {
  expect(run.output).toBe(outputName);
  expect(run.shape).toEqual([...ids.shape, 256]);
  expect(maxRelError(Float32Array.from(run.data), reference)).toBeLessThan(1e-4);
}

describe('the runtime in headless Chromium', () => {
  test('the generated loader streams the relaxed build and its weights from URLs and matches the reference executor', async () => {
    const page = await openPage();
    const run = await runGeneratedLoader(page);
    expect(run.hasRelaxed).toBe(true);
    expect(run.simd).toBe('relaxed');
    expect(run.calls).toEqual({ compileStreaming: 1, compile: 0 });
    expect(server.requests).toEqual(['/tiny.relaxed.wasm', '/tiny.weights.bin']);
    expectReference(run);
  });

  test('an engine without relaxed SIMD gets the plain SIMD128 build, with the same results', async () => {
    const page = await openPage(true);
    const run = await runGeneratedLoader(page);
    expect(run.hasRelaxed).toBe(false);
    expect(run.simd).toBe('simd128');
    expect(server.requests).toEqual(['/tiny.wasm', '/tiny.weights.bin']);
    expectReference(run);
  });

  test('load() from bytes: the plain module alone, and with its relaxed twin', async () => {
    const page = await openPage();
    const runs: PageRun[] = await page.evaluate(async ([origin, list]) => {
      const mod = (globalThis as unknown as { tiny: Loader }).tiny;
      const bytes = async (file: string) => (await fetch(`${origin}/${file}`)).arrayBuffer();
      const [wasm, relaxed, weights] = await Promise.all(['tiny.wasm', 'tiny.relaxed.wasm', 'tiny.weights.bin'].map(bytes));
      const results = [];
      for (const options of [{ weights: new Uint8Array(weights!) }, { weights: weights!, relaxed: new Uint8Array(relaxed!) }]) {
        const model = await mod.load(new Uint8Array(wasm!), options);
        const output = model.outputs[0]!.name;
        const out = model.run({ input_ids: { data: BigInt64Array.from(list.map(BigInt)), shape: [1, list.length] } });
        results.push({ simd: model.simd, output, shape: [...out[output]!.shape], data: [...out[output]!.data] });
      }
      return results;
    }, [server.origin, idList()] as const);
    expect(runs.map((r) => r.simd)).toEqual(['simd128', 'relaxed']);
    runs.forEach(expectReference);
  });

  test('a wrong input name, shape or dtype, and a missing input, are the runtime errors', async () => {
    const page = await openPage();
    const errors = await page.evaluate(async (n) => {
      const mod = (globalThis as unknown as { tiny: Loader }).tiny;
      const model = await mod.default();
      const ok = new BigInt64Array(n);
      const attempt = (feeds: object) => {
        try {
          model.run(feeds as never);
          return 'no error';
        } catch (e) {
          return `${e instanceof mod.RuntimeError ? 'RuntimeError' : 'other'} ${(e as Error).name}: ${(e as Error).message}`;
        }
      };
      return [
        attempt({ input_ids: ok, tokens: ok }),
        attempt({ input_ids: { data: ok, shape: [n, 1] } }),
        attempt({ input_ids: new Float32Array(n) }),
        attempt({ input_ids: new BigInt64Array(n + 1) }),
        attempt({}),
      ];
    }, idList().length);
    const shape = `[${ids.shape.join(',')}]`;
    expect(errors).toEqual([
      `RuntimeError SparsecRuntimeError: sparsec: unknown input 'tokens'; the inputs are 'input_ids' ${shape}`,
      `RuntimeError SparsecRuntimeError: sparsec: input 'input_ids' has shape [${ids.shape[1]},1], the model was built for ${shape}`,
      "RuntimeError SparsecRuntimeError: sparsec: input 'input_ids' must be a BigInt64Array, not Float32Array",
      `RuntimeError SparsecRuntimeError: sparsec: input 'input_ids' has ${ids.shape[1]! + 1} elements, the model was built for ${shape} (${ids.shape[1]})`,
      `RuntimeError SparsecRuntimeError: sparsec: missing input 'input_ids' ${shape}`,
    ]);
  });
});
