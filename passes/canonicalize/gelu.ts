// Gelu written out as arithmetic -> Gelu. Exporters associate the products differently
// (x * 0.5 * (1 + erf(x / sqrt2)), (x * (1 + erf(..))) * 0.5, 0.5 * x * (1 + tanh(..)), ...),
// so the rules flatten chains of single-use Muls into factor lists and match those:
//   erf:  {x, 0.5, 1 + Erf(x / sqrt(2))}           (or x * (1/sqrt(2)))
//   tanh: {x, 0.5, 1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))}   x^3 as Pow(x, 3) or x*x*x

import type { Attr, Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { interiorIsPrivate, isClose } from '../pattern.js';
import { matcher, rule, type Rewriter } from '../rewrite.js';
import { scalarOf, stringAttr } from './util.js';

interface GeluMatch {
  root: Node;
  x: Value;
  approximate: 'none' | 'tanh';
}

/** Leaves of a product: follows Mul nodes whose output is used once, recording them. */
function factors(v: Value, nodes: Node[], isRoot = false): Value[] {
  const p = v.producer;
  if (!p || p.op !== Op.Mul || (!isRoot && (v.uses.length !== 1 || v.isGraphOutput))) return [v];
  nodes.push(p);
  return [...factors(p.inputs[0]!, nodes), ...factors(p.inputs[1]!, nodes)];
}

/** Removes the one factor that is a constant close to `c`; false when there is none. */
function takeConstant(fs: Value[], c: number): boolean {
  const i = fs.findIndex((f) => isClose(scalarOf(f) ?? NaN, c));
  if (i < 0) return false;
  fs.splice(i, 1);
  return true;
}

/** For `1 + F(arg)` with F in `unary`: [arg], recording the nodes. */
function onePlus(v: Value, unary: Op, nodes: Node[]): Value | undefined {
  const add = v.producer;
  if (add?.op !== Op.Add) return undefined;
  const [a, b] = add.inputs;
  const fn = isClose(scalarOf(a) ?? NaN, 1) ? b : isClose(scalarOf(b) ?? NaN, 1) ? a : undefined;
  if (fn?.producer?.op !== unary) return undefined;
  nodes.push(add, fn.producer);
  return fn.producer.inputs[0];
}

/** The product pattern {x, 0.5, 1 + F(arg)}: returns x and arg. */
function halfXOnePlus(root: Node, unary: Op, nodes: Node[]): { x: Value; arg: Value } | undefined {
  const fs = factors(root.outputs[0]!, nodes, true);
  if (fs.length !== 3 || !takeConstant(fs, 0.5)) return undefined;
  for (const [i, j] of [[0, 1], [1, 0]] as const) {
    const arg = onePlus(fs[i]!, unary, nodes);
    if (arg) return { x: fs[j]!, arg };
  }
  return undefined;
}

function matchErf(root: Node): GeluMatch | undefined {
  const nodes: Node[] = [];
  const m = halfXOnePlus(root, Op.Erf, nodes);
  const scaling = m?.arg.producer;
  if (!m || !scaling) return undefined;
  const [a, b] = scaling.inputs;
  const ok =
    (scaling.op === Op.Div && a === m.x && isClose(scalarOf(b) ?? NaN, Math.SQRT2)) ||
    (scaling.op === Op.Mul && ((a === m.x && isClose(scalarOf(b) ?? NaN, Math.SQRT1_2)) || (b === m.x && isClose(scalarOf(a) ?? NaN, Math.SQRT1_2))));
  nodes.push(scaling);
  return ok && interiorIsPrivate(root, nodes) ? { root, x: m.x, approximate: 'none' } : undefined;
}

function isCube(fs: readonly Value[], x: Value): boolean {
  if (fs.length === 3) return fs.every((f) => f === x);
  const pow = fs.length === 1 ? fs[0]!.producer : undefined;
  return pow?.op === Op.Pow && pow.inputs[0] === x && isClose(scalarOf(pow.inputs[1]) ?? NaN, 3);
}

function matchTanh(root: Node): GeluMatch | undefined {
  const nodes: Node[] = [];
  const m = halfXOnePlus(root, Op.Tanh, nodes);
  if (!m) return undefined;
  const inner = factors(m.arg, nodes);
  if (inner.length !== 2 || !takeConstant(inner, Math.sqrt(2 / Math.PI))) return undefined;
  const sum = inner[0]!.producer;
  if (sum?.op !== Op.Add || inner[0]!.uses.length !== 1) return undefined;
  nodes.push(sum);
  const [a, b] = sum.inputs;
  const cubic = a === m.x ? b : b === m.x ? a : undefined;
  if (!cubic) return undefined;
  const cubicFactors = factors(cubic, nodes);
  if (!takeConstant(cubicFactors, 0.044715) || !isCube(cubicFactors, m.x)) return undefined;
  for (const f of cubicFactors) if (f.producer?.op === Op.Pow) nodes.push(f.producer);
  return interiorIsPrivate(root, nodes) ? { root, x: m.x, approximate: 'tanh' } : undefined;
}

function toGelu(m: GeluMatch, rw: Rewriter) {
  const out = m.root.outputs[0]!;
  const attrs: Record<string, Attr> = m.approximate === 'tanh' ? { approximate: stringAttr('tanh') } : {};
  return rw.op(Op.Gelu, [m.x], attrs, { dtype: out.dtype ?? m.x.dtype, shape: out.shape ?? m.x.shape });
}

export const geluRules = [
  rule('gelu-erf', matcher(Op.Mul, matchErf), toGelu, 10),
  rule('gelu-tanh', matcher(Op.Mul, matchTanh), toGelu, 10),
];
