// Einsum: parse the equation into labels per operand, then evaluate by plain index loops over
// every output label (outer) and every summed label (inner). Slow but general: repeated labels
// (diagonals), ellipses with broadcasting, implicit output ('ij,jk' = 'ij,jk->ik').

import type { Dim, Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { sizeOf, stridesOf, type Tensor } from '../../tensor.js';
import { floatData, fromFloats, familyOf, unsupportedDtype } from '../numeric.js';
import { badAttribute, commonDtype, shapeMismatch } from '../util.js';

/** A label: a letter, or `...k` for the k-th ellipsis dim counted from the right. */
type Label = string;

interface Equation {
  readonly inputs: Label[][];
  readonly output: Label[];
}

function parseTerm(node: Node, term: string, rank: number | undefined, ellipsisRank: number): Label[] {
  const labels: Label[] = [];
  const body = term.trim();
  const dots = body.indexOf('...');
  if (dots < 0) {
    for (const ch of body) labels.push(letter(node, ch));
    return labels;
  }
  const before = [...body.slice(0, dots)].map((ch) => letter(node, ch));
  const after = [...body.slice(dots + 3)].map((ch) => letter(node, ch));
  const n = rank === undefined ? ellipsisRank : rank - before.length - after.length;
  const ell = Array.from({ length: n }, (_, k) => `...${n - 1 - k}`);
  return [...before, ...ell, ...after];
}

function letter(node: Node, ch: string): Label {
  if (!/^[a-zA-Z]$/.test(ch)) badAttribute(node, `bad Einsum label '${ch}'`);
  return ch;
}

function parseEquation(node: Node, ranks: readonly (number | undefined)[]): Equation {
  const eq = node.attrString('equation');
  if (eq === undefined) return badAttribute(node, 'Einsum needs an equation');
  const [lhs, rhs] = eq.replace(/\s+/g, '').split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) badAttribute(node, `equation '${eq}' has ${terms.length} operands but the node has ${ranks.length} inputs`);
  const explicitCount = (t: string) => t.replace('...', '').length;
  const ellipsisRank = Math.max(0, ...terms.map((t, i) => (t.includes('...') && ranks[i] !== undefined ? ranks[i]! - explicitCount(t) : 0)));
  const inputs = terms.map((t, i) => parseTerm(node, t, ranks[i], ellipsisRank));
  inputs.forEach((labels, i) => {
    if (ranks[i] !== undefined && labels.length !== ranks[i]) badAttribute(node, `operand ${i} has rank ${ranks[i]} but term '${terms[i]}'`);
  });
  let output: Label[];
  if (rhs !== undefined) output = parseTerm(node, rhs, undefined, ellipsisRank);
  else {
    // Implicit mode: ellipsis dims first, then the letters used exactly once, alphabetically.
    const counts = new Map<Label, number>();
    for (const l of inputs.flat()) counts.set(l, (counts.get(l) ?? 0) + 1);
    const ell = Array.from({ length: ellipsisRank }, (_, k) => `...${ellipsisRank - 1 - k}`);
    const once = [...counts].filter(([l, c]) => c === 1 && !l.startsWith('...')).map(([l]) => l).sort();
    output = [...ell, ...once];
  }
  return { inputs, output };
}

/** Size of every label; ellipsis dims broadcast (size 1 gives way). */
function labelSizes<D extends Dim>(node: Node, eq: Equation, shapes: readonly (readonly D[])[]): Map<Label, D> {
  const sizes = new Map<Label, D>();
  eq.inputs.forEach((labels, i) => {
    labels.forEach((l, k) => {
      const d = shapes[i]![k]!;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
      else if (d !== 1 && typeof prev === 'number' && typeof d === 'number' && prev !== d) {
        shapeMismatch(node, `Einsum label '${l}' has sizes ${prev} and ${d}`);
      }
    });
  });
  return sizes;
}

const einsumDef: OpDef = {
  op: Op.Einsum,
  infer(node, inputs) {
    const dtype = commonDtype(node, inputs);
    const shapes = inputs.map((t: TypeInfo | undefined) => t?.shape);
    if (shapes.some((s) => !s)) return [{ dtype }];
    const eq = parseEquation(node, shapes.map((s) => s!.length));
    const sizes = labelSizes(node, eq, shapes as Dim[][]);
    return [{ dtype, shape: eq.output.map((l) => sizes.get(l) ?? 1) }];
  },
  run(node, inputs) {
    const xs = inputs as Tensor[];
    for (const x of xs) {
      const f = familyOf(x.dtype);
      if (f !== 'float' && f !== 'int' && f !== 'bigint') unsupportedDtype(node, x.dtype);
    }
    const eq = parseEquation(node, xs.map((x) => x.rank));
    const sizes = labelSizes(node, eq, xs.map((x) => x.shape));
    const summed = [...sizes.keys()].filter((l) => !eq.output.includes(l));
    const loop = [...eq.output, ...summed];
    const dims = loop.map((l) => sizes.get(l) ?? 1);
    // Per operand, the stride each loop label moves it by (repeated labels add up: diagonals).
    const strides = xs.map((x, i) => {
      const s = stridesOf(x.shape);
      return loop.map((l) => eq.inputs[i]!.reduce((acc, li, k) => acc + (li === l && x.shape[k] !== 1 ? s[k]! : 0), 0));
    });
    const data = xs.map((x) => floatData(x));
    const outShape = eq.output.map((l) => sizes.get(l) ?? 1);
    const out = new Float64Array(sizeOf(outShape));
    const inner = sizeOf(dims.slice(eq.output.length));
    const counter = new Array<number>(loop.length).fill(0);
    const offsets = new Array<number>(xs.length).fill(0);
    const total = sizeOf(dims);
    for (let step = 0; step < total; step++) {
      let prod = 1;
      for (let i = 0; i < xs.length; i++) prod *= data[i]![offsets[i]!]!;
      out[Math.floor(step / inner)] += prod;
      for (let ax = loop.length - 1; ax >= 0; ax--) {
        counter[ax]!++;
        for (let i = 0; i < xs.length; i++) offsets[i] += strides[i]![ax]!;
        if (counter[ax]! < dims[ax]!) break;
        for (let i = 0; i < xs.length; i++) offsets[i] -= strides[i]![ax]! * dims[ax]!;
        counter[ax] = 0;
      }
    }
    return [fromFloats(xs[0]!.dtype, outShape, out)];
  },
};

export const einsumDefs: OpDef[] = [einsumDef];
