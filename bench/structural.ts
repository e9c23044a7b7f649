// The structural commands on the fixture language models, against the targets: each
// command runs in-process exactly as a user would run it (calibration on calib_tokens.npy,
// perplexity on the held-out eval_tokens.npy, the WASM speed check on), and its --json report
// is collected. Prints a table; writes bench/structural-results.json.
//
//   npx tsc -p bench && node dist/bench/structural.js [--only slice|prune-heads|...]
//
// Targets (issue "Structural compression"): slice 25% -> perplexity +25% at most with 20% fewer
// parameters; 25% of heads -> +10% at most; 8 -> 6 experts -> +10% at most; every result
// faster in the WASM backend by at least (parameters before / after) - 0.1.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../cli/main.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Case {
  command: string;
  model: string;
  args: string[];
  /** The bound on the perplexity increase, if it names one. */
  maxIncrease?: number;
  /** The bound on the parameters left (after / before), if it names one. */
  maxParameterRatio?: number;
}

const CASES: Case[] = [
  ...['gpt2', 'llama', 'moe'].map((model) => ({ command: 'slice', model, args: ['--ratio', '0.25'], maxIncrease: 0.25, maxParameterRatio: 0.8 })),
  ...['gpt2', 'llama', 'moe'].map((model) => ({ command: 'prune-heads', model, args: ['--ratio', '0.25'], maxIncrease: 0.1 })),
  ...['gpt2', 'llama'].map((model) => ({ command: 'prune-neurons', model, args: ['--ratio', '0.25'] })),
  { command: 'prune-experts', model: 'moe', args: ['--keep', '6'], maxIncrease: 0.1 },
  { command: 'prune-experts', model: 'moe', args: ['--keep', '6', '--merge'], maxIncrease: 0.1 },
];

interface Report {
  parameters: { before: number; after: number };
  quality: { before: { perplexity: number }; after: { perplexity: number }; increase: number };
  speed: { beforeMs: number; afterMs: number; speedup: number } | { skipped: string };
}

interface Row {
  command: string;
  model: string;
  args: string[];
  parameters: { before: number; after: number; ratio: number };
  perplexity: { before: number; after: number; increase: number };
  speed: { beforeMs: number; afterMs: number; speedup: number; target: number } | { skipped: string };
  met: { quality: boolean | null; parameters: boolean | null; speed: boolean | null };
}

async function runCase(c: Case, dir: string): Promise<Row> {
  const fixture = `${ROOT}fixtures/${c.model}`;
  let stdout = '';
  let stderr = '';
  const argv = [c.command, `${fixture}/model.onnx`, '-o', join(dir, `${c.command}-${c.model}.onnx`), ...c.args,
    '--calib', `${fixture}/calib_tokens.npy`, '--eval', `${fixture}/eval_tokens.npy`, '--json'];
  const code = await run(argv, { stdout: { write: (s) => (stdout += s) }, stderr: { write: (s) => (stderr += s) }, isTTY: false, env: {} });
  if (code !== 0) throw new Error(`sparsec ${argv.join(' ')} failed (${code}): ${stderr}`);
  const r = JSON.parse(stdout) as Report;
  const ratio = r.parameters.after / r.parameters.before;
  const speedTarget = 1 / ratio - 0.1;
  const speed = 'skipped' in r.speed ? r.speed : { ...r.speed, target: speedTarget };
  return {
    command: c.command,
    model: c.model,
    args: c.args,
    parameters: { ...r.parameters, ratio },
    perplexity: { before: r.quality.before.perplexity, after: r.quality.after.perplexity, increase: r.quality.increase },
    speed,
    met: {
      quality: c.maxIncrease !== undefined ? r.quality.increase <= c.maxIncrease : null,
      parameters: c.maxParameterRatio !== undefined ? ratio <= c.maxParameterRatio : null,
      speed: 'skipped' in speed ? null : speed.speedup >= speedTarget,
    },
  };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
const mark = (m: boolean | null) => (m === null ? '' : m ? ' (met)' : ' (MISSED)');

async function main(): Promise<void> {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sparsec-structural-'));
  const rows: Row[] = [];
  try {
    for (const c of CASES.filter((c) => only === undefined || c.command === only)) {
      process.stderr.write(`sparsec ${c.command} ${c.model} ${c.args.join(' ')}\n`);
      rows.push(await runCase(c, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = ['| command | model | parameters | perplexity | WASM speed (target) |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const speed = 'skipped' in r.speed ? `not measured: ${r.speed.skipped}` : `${r.speed.speedup.toFixed(2)}x (${r.speed.target.toFixed(2)}x)${mark(r.met.speed)}`;
    lines.push(`| ${r.command} ${r.args.join(' ')} | ${r.model} | ${r.parameters.before.toLocaleString('en-US')} -> ${r.parameters.after.toLocaleString('en-US')} (${pct(r.parameters.ratio - 1)})${mark(r.met.parameters)} | ${r.perplexity.before.toFixed(3)} -> ${r.perplexity.after.toFixed(3)} (${pct(r.perplexity.increase)})${mark(r.met.quality)} | ${speed} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadavg: loadavg() };
  writeFileSync(`${ROOT}bench/structural-results.json`, `${JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2)}\n`);
}

await main();
