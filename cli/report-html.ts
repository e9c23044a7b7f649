// The HTML report of `sparsec analyze --report`: one self-contained file (inline CSS, a few
// lines of inline script for sorting, images as PNG data URIs) that opens from disk.
//
// Each weight is drawn as a heat map of its nonzeros, rows = output channels top to bottom,
// columns = the reduction axis left to right (in the weight view's order), downsampled to at
// most 256x256 cells: a cell's shade is the fraction of nonzeros it covers (white = all zero).
// Beside it, one bar per cell row shows the density of those output rows.

import type { SparsityReport, LayerSparsity } from '../passes/analysis/sparsity.js';
import type { WeightView } from '../passes/analysis/weights.js';
import { pngDataUri } from './png.js';

const MAX_CELLS = 256;
const BAR_WIDTH = 64;
const DENSE: readonly [number, number, number] = [23, 55, 120];
const BAR: readonly [number, number, number] = [20, 140, 130];
const BAR_BACKGROUND: readonly [number, number, number] = [232, 232, 232];

interface LayerImages {
  heat: string;
  bars: string;
  width: number;
  height: number;
  /** Display scale: small matrices are drawn with several screen pixels per cell. */
  scale: number;
}

/** Nonzero fraction per cell of a cellsY x cellsX grid over the [rows, cols] matrix. */
function cellDensity(m: Float32Array, rows: number, cols: number, cellsY: number, cellsX: number): { cells: Float64Array; rowDensity: Float64Array } {
  const nz = new Float64Array(cellsY * cellsX);
  const total = new Float64Array(cellsY * cellsX);
  const rowNz = new Float64Array(cellsY);
  const rowTotal = new Float64Array(cellsY);
  const colCell = new Int32Array(cols);
  for (let c = 0; c < cols; c++) colCell[c] = Math.floor((c * cellsX) / cols);
  for (let r = 0; r < rows; r++) {
    const y = Math.floor((r * cellsY) / rows);
    const base = y * cellsX;
    for (let c = 0; c < cols; c++) {
      const isNz = m[r * cols + c] !== 0 ? 1 : 0;
      nz[base + colCell[c]!]! += isNz;
      total[base + colCell[c]!]!++;
      rowNz[y]! += isNz;
    }
    rowTotal[y]! += cols;
  }
  const cells = nz.map((n, i) => (total[i] ? n / total[i]! : 0));
  const rowDensity = rowNz.map((n, i) => (rowTotal[i] ? n / rowTotal[i]! : 0));
  return { cells, rowDensity };
}

function shade(d: number, out: Uint8Array, at: number): void {
  for (let k = 0; k < 3; k++) out[at + k] = Math.round(255 + (DENSE[k]! - 255) * d);
}

export function layerImages(view: WeightView): LayerImages {
  const { rows, cols } = view;
  const height = Math.max(1, Math.min(rows, MAX_CELLS));
  const width = Math.max(1, Math.min(cols, MAX_CELLS));
  const { cells, rowDensity } = cellDensity(view.read(), rows, cols, height, width);
  const heat = new Uint8Array(width * height * 3);
  for (let i = 0; i < cells.length; i++) shade(cells[i]!, heat, i * 3);
  const bars = new Uint8Array(BAR_WIDTH * height * 3);
  for (let y = 0; y < height; y++) {
    const filled = Math.round(rowDensity[y]! * BAR_WIDTH);
    for (let x = 0; x < BAR_WIDTH; x++) bars.set(x < filled ? BAR : BAR_BACKGROUND, (y * BAR_WIDTH + x) * 3);
  }
  const scale = Math.max(1, Math.min(8, Math.floor(MAX_CELLS / Math.max(width, height))));
  return { heat: pngDataUri(width, height, heat), bars: pngDataUri(BAR_WIDTH, height, bars), width, height, scale };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const nmOf = (l: LayerSparsity, p: string) => l.nm.find((x) => x.pattern === p)?.compliance ?? 0;

function listChannels(xs: readonly number[], max = 24): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')}, ... (${xs.length} in all)`;
}

export interface HtmlReportInput {
  title: string;
  report: SparsityReport;
  /** The views the report's layers were computed from, in the same order. */
  views: readonly WeightView[];
}

export function renderHtmlReport({ title, report, views }: HtmlReportInput): string {
  const images = views.map(layerImages);
  const s = report.summary;
  const rows = report.layers.map((l, i) => {
    const img = images[i]!;
    const thumbScale = 48 / Math.max(img.width, img.height);
    const cells: [string, string | number][] = [
      [String(i + 1), i],
      [`<a href="#layer-${i}">${escapeHtml(l.node)}</a>`, l.node],
      [l.op, l.op],
      [l.role, l.role],
      [`${l.rows}x${l.cols}`, l.params],
      [pct(l.density), l.density],
      [pct(nmOf(l, '2:4')), nmOf(l, '2:4')],
      [pct(nmOf(l, '4:8')), nmOf(l, '4:8')],
      [l.bestBlock ? `${l.bestBlock.shape} ${pct(l.bestBlock.zeroFraction)}` : '-', l.bestBlock?.zeroFraction ?? 0],
      [String(l.deadRows.length), l.deadRows.length],
      [String(l.deadCols.length), l.deadCols.length],
      [`<img class="thumb" src="${img.heat}" width="${Math.max(1, Math.round(img.width * thumbScale))}" height="${Math.max(1, Math.round(img.height * thumbScale))}" alt="">`, 0],
    ];
    return `<tr>${cells.map(([html, v]) => `<td data-v="${escapeHtml(String(v))}">${html}</td>`).join('')}</tr>`;
  });
  const cards = report.layers.map((l, i) => layerCard(l, i, images[i]!));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}: sparsity</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 24px}
th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;vertical-align:middle}
td:nth-child(2),th:nth-child(2){text-align:left}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
img{image-rendering:pixelated;border:1px solid #ccc;background:#fff}
.layer{display:inline-block;vertical-align:top;margin:0 24px 24px 0}
.layer h3{font-size:13px;margin:0 0 4px;max-width:520px;overflow-wrap:anywhere}
.meta{font-size:12px;color:#555;max-width:520px}
.imgs{display:flex;gap:6px;align-items:flex-start}
.bar{display:inline-block;height:10px;background:#148c82}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${s.layers} weights, ${s.params.toLocaleString('en-US')} parameters, ${s.nonzeros.toLocaleString('en-US')} nonzero (density ${pct(s.density)});
2:4 compliance ${pct(s.compliance24)} of groups (${s.layers24} layers fully 2:4); dead rows ${s.deadRows}, dead input channels ${s.deadCols};
${s.removableChannels} channels removable through the graph; ${s.zeroHeads} zero attention heads${s.activationZeroFraction !== undefined ? `; mean exact-zero fraction of layer inputs ${pct(s.activationZeroFraction)}` : ''}.</p>
<p class="meta">Heat maps: rows are output channels, columns the reduction axis (Conv: kernel taps by input channel, channel innermost), at most 256x256 cells; darker = more nonzeros, white = all zero. Bars: density of each row. Click a column header to sort.</p>
<table id="layers"><thead><tr>${['#', 'layer', 'op', 'role', 'shape', 'density', '2:4', '4:8', 'best block', 'dead rows', 'dead cols', 'nonzeros'].map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
${removableSection(report)}${headsSection(report)}${activationSection(report)}${routingSection(report)}
<h2>Layers</h2>
${cards.join('\n')}
<script>
document.querySelectorAll('#layers th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const dir = th.dataset.dir === 'asc' ? -1 : 1;
  th.dataset.dir = dir === 1 ? 'asc' : 'desc';
  const key = (r) => r.cells[col].dataset.v;
  [...body.rows].sort((a, b) => {
    const x = key(a), y = key(b), nx = Number(x), ny = Number(y);
    return dir * (Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny);
  }).forEach((r) => body.appendChild(r));
}));
</script>
</body></html>
`;
}

function layerCard(l: LayerSparsity, i: number, img: LayerImages): string {
  const nm = l.nm.map((p) => `${p.pattern} ${pct(p.compliance)}`).join(', ');
  const blocks = l.blocks.map((b) => `${b.shape} ${pct(b.zeroFraction)}`).join(', ');
  const dead = [
    l.deadRows.length ? `dead rows: ${listChannels(l.deadRows)}` : '',
    l.deadCols.length ? `dead input channels: ${listChannels(l.deadCols)}` : '',
  ].filter(Boolean).join('<br>');
  const h = img.height * img.scale;
  return `<section class="layer" id="layer-${i}"><h3>${i + 1}. ${escapeHtml(l.node)}</h3>
<div class="imgs"><img class="heat" src="${img.heat}" width="${img.width * img.scale}" height="${h}" alt="nonzeros of ${escapeHtml(l.name)}"><img class="bars" src="${img.bars}" width="${BAR_WIDTH}" height="${h}" alt="row density"></div>
<div class="meta">${escapeHtml(l.name)} · ${l.op} · ${l.role} · ${l.rows}x${l.cols} · density ${pct(l.density)}<br>N:M groups: ${nm}<br>zero blocks: ${blocks}${dead ? `<br>${dead}` : ''}</div></section>`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function removableSection(r: SparsityReport): string {
  if (r.removable.length === 0) return '';
  return `<h2>Removable channels</h2>${table(
    ['layer', 'axis', 'channels', 'why'],
    r.removable.map((x) => [escapeHtml(x.node), x.axis === 'rows' ? 'output rows' : 'input channels', listChannels(x.channels), escapeHtml(x.reason)]),
  )}`;
}

function headsSection(r: SparsityReport): string {
  const h = r.heads;
  if (h.projections.length === 0) return h.note ? `<h2>Attention heads</h2><p>${escapeHtml(h.note)}</p>` : '';
  return `<h2>Attention heads</h2>${table(
    ['projection', 'part', 'heads', 'head dim', 'zero heads'],
    h.projections.map((p) => [escapeHtml(p.node), p.part === undefined ? '' : String(p.part), String(p.heads), String(p.headDim), p.zeroHeads.length ? p.zeroHeads.join(', ') : 'none']),
  )}`;
}

function activationSection(r: SparsityReport): string {
  if (!r.activations) return '';
  return `<h2>Activation sparsity (${r.calibrationBatches} calibration batches)</h2>${table(
    ['layer input', 'elements', 'exact zeros', '|x| &lt; 1e-3 max', 'max |x|'],
    r.activations.map((a, i) => [escapeHtml(r.layers[i]?.node ?? a.layer), String(a.elements), pct(a.zeroFraction), pct(a.nearZeroFraction), a.maxAbs.toPrecision(4)]),
  )}`;
}

function routingSection(r: SparsityReport): string {
  if (!r.routing || r.routing.length === 0) return '';
  return `<h2>Expert routing</h2>${r.routing
    .map((x) => `<h3>${escapeHtml(x.node)} (top-${x.k} of ${x.experts}, ${x.tokens} tokens)</h3>${table(
      ['expert', 'chosen', '', 'mean gate'],
      x.selectedFraction.map((f, e) => [String(e), pct(f), `<span class="bar" style="width:${Math.round(f * 200)}px"></span>`, x.gateMass ? x.gateMass[e]!.toFixed(3) : '-']),
    )}`)
    .join('\n')}`;
}
