// Which heads or channels to remove, from scores: the lowest-scoring ones. Heads are ranked
// across layers with each layer's scores divided by their mean (layers differ in scale), and
// every layer keeps at least one head. Channels are chosen per layer, the same fraction in each.

/** The round(ratio * total) lowest-scoring heads, per layer; each layer keeps at least `minKeep`. */
export function lowestAcrossLayers(scores: readonly Float64Array[], ratio: number, minKeep = 1): number[][] {
  const total = scores.reduce((n, s) => n + s.length, 0);
  let budget = Math.round(ratio * total);
  const ranked: { layer: number; index: number; score: number }[] = [];
  scores.forEach((s, layer) => {
    const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
    s.forEach((x, index) => ranked.push({ layer, index, score: mean > 0 ? x / mean : 0 }));
  });
  ranked.sort((a, b) => a.score - b.score || a.layer - b.layer || a.index - b.index);
  const removed = scores.map(() => [] as number[]);
  for (const r of ranked) {
    if (budget === 0) break;
    if (scores[r.layer]!.length - removed[r.layer]!.length <= minKeep) continue;
    removed[r.layer]!.push(r.index);
    budget--;
  }
  return removed.map((l) => l.sort((a, b) => a - b));
}

/** The round(ratio * n) lowest-scoring indices of each layer (at least `minKeep` kept). */
export function lowestPerLayer(scores: readonly Float64Array[], ratio: number, minKeep = 1): number[][] {
  return scores.map((s) => {
    const n = Math.min(Math.round(ratio * s.length), s.length - minKeep);
    const order = [...s.keys()].sort((a, b) => s[a]! - s[b]! || a - b);
    return order.slice(0, Math.max(0, n)).sort((a, b) => a - b);
  });
}

/** `layer:head,...` (e.g. `0:1,3:0`) as heads per layer; throws a message on a bad entry. */
export function parseHeadList(text: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^(\d+):(\d+)$/.exec(item);
    if (!m) throw new Error(`'${item}' is not layer:head (two non-negative integers)`);
    const [layer, head] = [Number(m[1]), Number(m[2])];
    const list = out.get(layer) ?? [];
    if (!list.includes(head)) list.push(head);
    out.set(layer, list.sort((a, b) => a - b));
  }
  return out;
}
