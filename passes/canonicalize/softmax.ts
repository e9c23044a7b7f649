// The frontend imports an opset < 13 Softmax (which coerces its input to 2-D at `axis`) as
// Reshape(Softmax(Flatten(x, axis), axis=-1), Shape(x)). When `axis` is the last axis the
// coercion changes nothing: it is Softmax(x, axis=-1). Same for LogSoftmax and Hardmax.

import type { Node, Value } from '../../ir/graph.js';
import { Op } from '../../ir/ops.js';
import { any, op, pattern, type Match } from '../pattern.js';
import { rule, type Rewriter } from '../rewrite.js';
import { intAttr } from './util.js';

const normalizers = [Op.Softmax, Op.LogSoftmax, Op.Hardmax] as const;
const lastAxisOf2d = (n: Node) => {
  const a = n.attrInt('axis', -1);
  return a === -1 || a === 1;
};

const flattened = op(Op.Flatten, [any('x')], { name: 'flatten' });
const unflattened = op(Op.Reshape, [op(normalizers, [flattened], { name: 'norm', where: lastAxisOf2d }), any('shape')]);

/** Whether `shape` is Shape(x) or a constant equal to x's static shape. */
function isShapeOf(shape: Value, x: Value): boolean {
  const p = shape.producer;
  if (p?.op === Op.Shape) return p.inputs[0] === x && p.attrInt('start', 0) === 0 && p.attr('end') === undefined;
  const dims = x.staticShape;
  const c = shape.const?.toNumbers();
  return !!dims && !!c && c.length === dims.length && c.every((d, i) => d === dims[i]);
}

function toSoftmax(m: Match, rw: Rewriter) {
  const x = m.v.x!;
  const rank = x.rank;
  if (rank === undefined || rank === 0 || !isShapeOf(m.v.shape!, x)) return undefined;
  const axis = m.n.flatten!.attrInt('axis', 1);
  if ((axis < 0 ? axis + rank : axis) !== rank - 1) return undefined;
  const out = m.root.outputs[0]!;
  return rw.op(m.n.norm!.op, [x], { axis: intAttr(-1) }, { dtype: out.dtype ?? x.dtype, shape: out.shape ?? x.shape });
}

export const softmaxRules = [rule('softmax-unflatten', pattern(unflattened), toSoftmax, 5)];
