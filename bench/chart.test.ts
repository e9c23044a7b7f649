import { describe, expect, test } from 'vitest';
import { chartSvg, type ChartInput } from './chart.js';

const input: ChartInput = {
  date: '2026-11-24T03:03:10.695Z',
  cpu: 'AMD EPYC',
  rows: [
    { shape: '64x768x3072', name: 'sparsec dense', vsOrtWeb: 1.5 },
    { shape: '64x768x3072', name: 'onnxruntime-web (wasm, 1 thread)', vsOrtWeb: 1 },
    { shape: '64x768x3072', name: 'sparsec unstructured 90% <x>', vsOrtWeb: 10, relaxedVsOrtWeb: 11 },
    { shape: '1x768x3072', name: 'sparsec 2:4', vsOrtWeb: 0.8 },
    { shape: '64x128x256', name: 'sparsec baked 90%', vsOrtWeb: null },
  ],
};

const bars = (svg: string) => [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => ({ width: Number(m[2]), title: m[3]! }));

describe('bench chart', () => {
  test('one bar per contender with a ratio (and its relaxed twin), widths proportional to the ratio', () => {
    const svg = chartSvg(input);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const b = bars(svg);
    expect(b.map((x) => x.title)).toEqual([
      'sparsec dense: 1.50x', 'onnxruntime-web (wasm, 1 thread): 1.00x', 'sparsec unstructured 90% &lt;x&gt;: 10.00x',
      'sparsec unstructured 90% &lt;x&gt; (relaxed SIMD): 11.00x', 'sparsec 2:4: 0.80x',
    ]);
    expect(b[2]!.width / b[1]!.width).toBeCloseTo(10, 1);
    expect(b[4]!.width / b[1]!.width).toBeCloseTo(0.8, 1);
    expect(svg).not.toContain('baked');
  });

  test('has a title, axis labels, ticks reaching past the largest ratio, and a group heading per product', () => {
    const svg = chartSvg(input);
    expect(svg).toContain('sparsec WASM kernels vs onnxruntime-web dense');
    expect(svg).toContain('speed relative to onnxruntime-web dense');
    expect(svg).toContain('product and contender');
    expect(svg).toContain('64x768x3072: 64 tokens x [768, 3072]');
    expect(svg).toContain('1x768x3072: 1 token x [768, 3072]');
    expect(svg).toContain('>12x</text>');
    expect(svg).toContain('AMD EPYC, 2026-11-24');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
});
