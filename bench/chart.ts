// bench/results.svg from bench/results.json: one horizontal bar per contender, grouped by
// product shape, its length the speed relative to onnxruntime-web's dense WASM (the dashed 1x
// line). Self-made SVG, no dependencies. `node dist/bench/chart.js` regenerates the chart from
// the JSON without rerunning the benchmark; bench/kernels.ts calls `writeChart` after a run.

import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The fields of a bench/results.json row the chart reads. */
export interface ChartRow {
  shape: string;
  name: string;
  /** ort-web dense time / this time; null (NaN in JSON) where ort-web was not timed. */
  vsOrtWeb: number | null;
  /** The relaxed-SIMD build's ratio, where it was measured. */
  relaxedVsOrtWeb?: number | null;
}

export interface ChartInput {
  date?: string;
  cpu?: string;
  rows: ChartRow[];
}

const WIDTH = 960;
const LABEL_W = 290;
const PLOT_W = WIDTH - LABEL_W - 90;
const BAR_H = 16;
const BAR_GAP = 6;
const GROUP_GAP = 34;
const TOP = 70;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const ortWeb = (name: string) => name.startsWith('onnxruntime-web');

/** Colour by contender family, so dense, unstructured, N:M and blocks read apart. */
function colour(name: string): string {
  if (ortWeb(name)) return '#9e9e9e';
  if (name.startsWith('onnxruntime-node')) return '#616161';
  if (name.includes('dense')) return '#1f77b4';
  if (name.includes('unstructured') || name.includes('baked')) return '#2ca02c';
  if (/\d:\d/.test(name)) return '#ff7f0e';
  return '#9467bd';
}

/** A tick step of 1, 2 or 5 times a power of ten giving about six ticks up to `max`. */
function tickStep(max: number): number {
  const raw = max / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/** The SVG text of the chart (groups without an onnxruntime-web ratio are left out). */
export function chartSvg(input: ChartInput): string {
  const rows = input.rows.filter((r) => finite(r.vsOrtWeb));
  const shapes = [...new Set(rows.map((r) => r.shape))];
  const max = Math.max(1, ...rows.flatMap((r) => [r.vsOrtWeb!, ...(finite(r.relaxedVsOrtWeb) ? [r.relaxedVsOrtWeb] : [])]));
  const step = tickStep(max);
  const top = Math.ceil(max / step) * step;
  const x = (v: number) => LABEL_W + (v / top) * PLOT_W;
  const out: string[] = [];
  let y = TOP;
  for (const shape of shapes) {
    const [M, K, N] = shape.split('x');
    out.push(`<text x="30" y="${y + 12}" font-weight="bold">${escape(`${shape}: ${M} token${M === '1' ? '' : 's'} x [${K}, ${N}]`)}</text>`);
    y += 22;
    for (const r of rows.filter((row) => row.shape === shape)) {
      const bars: [number, string, string][] = [[r.vsOrtWeb!, colour(r.name), r.name]];
      if (finite(r.relaxedVsOrtWeb)) bars.push([r.relaxedVsOrtWeb, '#d62728', `${r.name} (relaxed SIMD)`]);
      for (const [v, fill, label] of bars) {
        out.push(
          `<text x="${LABEL_W - 8}" y="${y + BAR_H - 4}" text-anchor="end">${escape(label)}</text>`,
          `<rect x="${LABEL_W}" y="${y}" width="${(x(v) - LABEL_W).toFixed(1)}" height="${BAR_H}" fill="${fill}"><title>${escape(`${label}: ${v.toFixed(2)}x`)}</title></rect>`,
          `<text x="${(x(v) + 4).toFixed(1)}" y="${y + BAR_H - 4}">${v.toFixed(2)}x</text>`,
        );
        y += BAR_H + BAR_GAP;
      }
    }
    y += GROUP_GAP - BAR_GAP;
  }
  const axisY = y - GROUP_GAP + 14;
  const ticks: string[] = [];
  for (let t = 0; t <= top + 1e-9; t += step) {
    const tx = x(t).toFixed(1);
    ticks.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${axisY}" stroke="#e0e0e0"/>`, `<text x="${tx}" y="${axisY + 16}" text-anchor="middle">${Number(t.toFixed(6))}x</text>`);
  }
  const height = axisY + 60;
  const subtitle = [input.cpu, input.date?.slice(0, 10)].filter(Boolean).join(', ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">sparsec WASM kernels vs onnxruntime-web dense (1 thread)</text>`,
    `<text x="${WIDTH / 2}" y="44" text-anchor="middle" fill="#555">speed-up over onnxruntime-web's dense WASM, higher is faster (medians of interleaved runs${subtitle ? `; ${escape(subtitle)}` : ''})</text>`,
    ...ticks,
    ...out,
    `<line x1="${x(1).toFixed(1)}" y1="${TOP - 6}" x2="${x(1).toFixed(1)}" y2="${axisY}" stroke="#333" stroke-dasharray="4 3"/>`,
    `<line x1="${LABEL_W}" y1="${axisY}" x2="${LABEL_W + PLOT_W}" y2="${axisY}" stroke="#333"/>`,
    `<text x="${LABEL_W + PLOT_W / 2}" y="${axisY + 40}" text-anchor="middle">speed relative to onnxruntime-web dense (x; dashed line: 1x)</text>`,
    `<text transform="translate(14 ${(TOP + axisY) / 2}) rotate(-90)" text-anchor="middle">product and contender</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** bench/<file> in the source tree, also when running from dist/bench/. */
export function benchPath(file: string): string {
  return new URL(`./${file}`, import.meta.url).pathname.replace('/dist/bench/', '/bench/');
}

/** Write bench/results.svg from the results object (what bench/kernels.ts wrote to results.json). */
export function writeChart(results: ChartInput, path = benchPath('results.svg')): void {
  writeFileSync(path, chartSvg(results));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeChart(JSON.parse(readFileSync(benchPath('results.json'), 'utf8')) as ChartInput);
  process.stdout.write(`wrote ${benchPath('results.svg')}\n`);
}
