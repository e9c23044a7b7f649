// The grouped-query repeat of key/value heads, as torch exports repeat_kv: Unsqueeze a new axis
// after the head axis, Expand it to the repeat count, Reshape the two into the query head
// axis. Query head h reads kv head h / repeat. Removing query heads in whole groups removes
// their kv head; any removal turns the three nodes into one Gather over the kv heads that maps
// each kept query head to its (renumbered) kv head, which also serves uneven groups.

import type { Graph, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import type { Rule } from './coupling-rules.js';

const union = (...sets: (ReadonlySet<number> | undefined)[]) => new Set(sets.flatMap((s) => (s ? [...s] : [])));
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** A grouped-query repeat of kv heads: Unsqueeze(axis h+1) -> Expand -> Reshape merging (h, h+1). */
export interface RepeatChain {
  readonly unsqueeze: Node;
  readonly expand: Node;
  readonly reshape: Node;
  /** The kv tensor being repeated, and its head axis. */
  readonly source: Value;
  readonly axis: number;
  readonly groups: number;
  readonly repeat: number;
}

/** The kv repeat: query heads removed in whole groups remove their kv head; a Gather replaces it. */
export const repeatRule: Rule = {
  links(walk, node) {
    const chain = walk.repeats.get(node)!;
    if (node !== chain.reshape) return [];
    const y = chain.reshape.outputs[0]!;
    const ms = walk.member(chain.source);
    const my = walk.member(y);
    if ((ms && ms.axis !== chain.axis) || (my && my.axis !== chain.axis)) return 'channels on an axis the kv repeat does not pair with heads';
    const queries = union(my?.removed);
    const kv = union(ms?.removed);
    for (const g of kv) for (let r = 0; r < chain.repeat; r++) queries.add(g * chain.repeat + r);
    for (let g = 0; g < chain.groups; g++) {
      let all = true;
      for (let r = 0; r < chain.repeat && all; r++) all = queries.has(g * chain.repeat + r);
      if (all) kv.add(g);
    }
    return [{ value: chain.source, axis: chain.axis, removed: kv }, { value: y, axis: chain.axis, removed: queries }];
  },
  edits(walk, node) {
    const chain = walk.repeats.get(node)!;
    const my = walk.member(chain.reshape.outputs[0]);
    if (node !== chain.reshape || !my || my.removed.size === 0) return [];
    const kvRemoved = walk.member(chain.source)?.removed ?? new Set<number>();
    const newIndex = new Map<number, number>();
    for (let g = 0; g < chain.groups; g++) if (!kvRemoved.has(g)) newIndex.set(g, newIndex.size);
    const indices: number[] = [];
    for (let h = 0; h < chain.groups * chain.repeat; h++) {
      if (!my.removed.has(h)) indices.push(newIndex.get(Math.floor(h / chain.repeat))!);
    }
    return [{ kind: 'repeat-to-gather', reshape: chain.reshape, source: chain.source, axis: chain.axis, indices }];
  },
};

/** Every grouped-query repeat in `graph`, keyed by each of its three nodes. */
export function repeatChains(graph: Graph, dims: (v: Value) => number[] | undefined): Map<Node, RepeatChain> {
  const out = new Map<Node, RepeatChain>();
  for (const reshape of graph.nodes) {
    if (reshape.op !== Op.Reshape) continue;
    const expanded = reshape.inputs[0]!;
    const e = expanded.producer;
    if (!e || e.op !== Op.Expand || expanded.uses.length !== 1) continue;
    const unsqueezed = e.inputs[0]!;
    const u = unsqueezed.producer;
    if (!u || u.op !== Op.Unsqueeze || unsqueezed.uses.length !== 1 || u.inputs[1]?.const?.size !== 1) continue;
    const [S, E, R] = [dims(u.inputs[0]!), dims(expanded), dims(reshape.outputs[0]!)];
    if (!S || !E || !R || E.length !== S.length + 1 || R.length !== S.length) continue;
    const at = normAxis(u.inputs[1].const.get(0), E.length);
    const h = at - 1;
    if (h < 0) continue;
    const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same([...E.slice(0, at), ...E.slice(at + 1)], S)) continue;
    if (R[h] !== S[h]! * E[at]! || !same([...R.slice(0, h), ...R.slice(h + 1)], [...S.slice(0, h), ...S.slice(h + 1)])) continue;
    const chain: RepeatChain = { unsqueeze: u, expand: e, reshape, source: u.inputs[0]!, axis: h, groups: S[h]!, repeat: E[at]! };
    for (const n of [u, e, reshape]) out.set(n, chain);
  }
  return out;
}
