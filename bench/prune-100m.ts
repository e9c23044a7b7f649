// Pruning a 100M-parameter model end to end: `sparsec prune` (load, calibrate, prune, save) on
// a synthetic model of 12 residual MLP blocks (1024 -> 4096 -> 1024, random weights: 100.7M
// parameters, a 403 MB .onnx file), with magnitude and with Wanda, each in a fresh process so
// its peak memory is its own. The targets: under 2 minutes and under 4 GB each, on the
// project's 2-core machines.
//
//   npx tsc -p bench/tsconfig.json && node dist/bench/prune-100m.js [--pattern 2:4] [--keep dir]
//
// The parent writes the model and 128 calibration rows to a temporary folder, then runs the
// child (this file with --child) once per method and prints wall time and peak RSS.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../cli/main.js';
import { saveModel } from '../frontend/index.js';
import { GraphBuilder } from '../ir/builder.js';
import { Model } from '../ir/graph.js';
import { writeNpy } from '../ir/npy.js';
import { Tensor } from '../ir/tensor.js';

const WIDTH = 1024;
const HIDDEN = 4096;
const BLOCKS = 12;
const CALIB_ROWS = 128;
const TARGET_SECONDS = 120;
const TARGET_BYTES = 4 * 1024 ** 3;

/** Uniform weights in [-a, a] from a fast LCG (the values do not matter, only their count). */
function randomMatrix(rows: number, cols: number, seed: number): Tensor {
  const data = new Float32Array(rows * cols);
  const a = 1 / Math.sqrt(rows);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2147483648 - 1) * a;
  }
  return new Tensor('float32', [rows, cols], data);
}

function buildModel(): { model: Model; parameters: number } {
  const b = new GraphBuilder('mlp100m');
  let x = b.input('x', 'float32', ['batch', WIDTH]);
  let parameters = 0;
  for (let i = 0; i < BLOCKS; i++) {
    const up = b.constant(`block${i}.up`, randomMatrix(WIDTH, HIDDEN, 2 * i + 1));
    const down = b.constant(`block${i}.down`, randomMatrix(HIDDEN, WIDTH, 2 * i + 2));
    parameters += 2 * WIDTH * HIDDEN;
    const h = b.op('Relu', [b.op('MatMul', [x, up], { name: `block${i}.up_proj` })]);
    x = b.op('Add', [x, b.op('MatMul', [h, down], { name: `block${i}.down_proj` })], { name: `block${i}.residual` });
  }
  b.output(x);
  return { model: new Model(b.graph), parameters };
}

interface ChildResult {
  method: string;
  code: number;
  seconds: number;
  maxRssBytes: number;
}

/** In the child: run the CLI in-process, then report wall time and peak RSS on stderr. */
async function child(argv: string[]): Promise<void> {
  const t0 = performance.now();
  const code = await run(argv);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(`BENCH ${JSON.stringify({ code, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
  process.exitCode = code;
}

function runChild(method: string, args: string[]): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--child', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`child failed (${method}):\n${r.stderr}`);
  process.stdout.write(r.stdout.split('\n').slice(0, 3).join('\n') + '\n');
  return { method, ...(JSON.parse(line.slice(6)) as Omit<ChildResult, 'method'>) };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv.slice(1));
  const pattern = argv.includes('--pattern') ? argv[argv.indexOf('--pattern') + 1]! : '2:4';
  const keep = argv.includes('--keep') ? argv[argv.indexOf('--keep') + 1] : undefined;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'sparsec-prune-100m-'));
  try {
    const modelFile = join(dir, 'mlp100m.onnx');
    const calibFile = join(dir, 'calib.npy');
    const { model, parameters } = buildModel();
    await saveModel(model, modelFile);
    const calib = randomMatrix(CALIB_ROWS, WIDTH, 99);
    writeFileSync(calibFile, writeNpy(calib));
    console.log(`model: ${(parameters / 1e6).toFixed(1)}M parameters, ${(statSync(modelFile).size / 1e6).toFixed(0)} MB; ${cpus().length} cores; pattern ${pattern}`);

    const results = [
      runChild('magnitude', ['prune', modelFile, '-o', join(dir, 'magnitude.onnx'), '--pattern', pattern, '--method', 'magnitude']),
      runChild('wanda', ['prune', modelFile, '-o', join(dir, 'wanda.onnx'), '--pattern', pattern, '--method', 'wanda', '--calib', calibFile, '--calib-batch', '32']),
    ];
    for (const r of results) {
      const ok = r.code === 0 && r.seconds < TARGET_SECONDS && r.maxRssBytes < TARGET_BYTES;
      console.log(
        `${r.method.padEnd(9)} ${r.seconds.toFixed(1).padStart(6)} s  peak RSS ${(r.maxRssBytes / 1024 ** 3).toFixed(2)} GiB  ` +
          `(targets < ${TARGET_SECONDS} s, < 4 GiB: ${ok ? 'met' : 'MISSED'})`,
      );
    }
    if (results.some((r) => r.code !== 0)) process.exitCode = 1;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
