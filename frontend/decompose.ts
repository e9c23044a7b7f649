// sparsec's own ops written as standard ONNX ops on export, so any ONNX runtime can run a
// transformed model:
//   Linear(x, W[, b])   -> MatMul(x, W) [-> Add(., b)]
//   RMSNorm(x, scale)   -> Mul(x, x) -> ReduceMean(axes = axis..-1, keepdims) -> Add(eps)
//                          -> Sqrt -> Div(x, .) -> Mul(., scale)

import type { Node, Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import type { NodeProtoMsg } from './schema.js';

/** Where a decomposition writes: fresh names, new initializers, new nodes (in order). */
export interface NodeSink {
  fresh(base: string): string;
  constant(name: string, t: Tensor): void;
  node(n: NodeProtoMsg): void;
}

/** Write `n` as standard ops if it is a sparsec op; false when it is not one. */
export function decomposeNode(n: Node, sink: NodeSink): boolean {
  if (n.op === 'Linear') {
    linear(n, sink);
    return true;
  }
  if (n.op === 'RMSNorm') {
    rmsNorm(n, sink);
    return true;
  }
  return false;
}

const nameOf = (v: Value | undefined): string => v?.name ?? '';

function emitter(n: Node, sink: NodeSink) {
  return (opType: string, inputs: string[], output?: string, attribute: NodeProtoMsg['attribute'] = []): string => {
    const out = output ?? sink.fresh(`${n.name}/${opType}_out`);
    sink.node({ name: sink.fresh(`${n.name}/${opType}`), opType, domain: '', input: inputs, output: [out], attribute });
    return out;
  };
}

function linear(n: Node, sink: NodeSink): void {
  const emit = emitter(n, sink);
  const [x, w, b] = n.inputs;
  const y = nameOf(n.outputs[0]);
  if (!b) {
    emit('MatMul', [nameOf(x), nameOf(w)], y);
    return;
  }
  const product = emit('MatMul', [nameOf(x), nameOf(w)]);
  emit('Add', [product, nameOf(b)], y);
}

function rmsNorm(n: Node, sink: NodeSink): void {
  const emit = emitter(n, sink);
  const [x, scale] = n.inputs;
  const xs = nameOf(x);
  const axis = n.attrInt('axis', -1);
  const epsilon = n.attrFloat('epsilon', 1e-5);
  const constant = (base: string, t: Tensor): string => {
    const name = sink.fresh(`${n.name}/${base}`);
    sink.constant(name, t);
    return name;
  };

  const rank = x?.rank;
  let axes: string;
  if (axis < 0 || rank !== undefined) {
    const first = axis < 0 ? axis : axis - rank!;
    axes = constant('axes', Tensor.int64(Array.from({ length: -first }, (_, i) => first + i)));
  } else {
    // axis counted from the front and rank unknown: axes = range(axis, rank(x)).
    const r = emit('Size', [emit('Shape', [xs])]);
    axes = emit('Range', [constant('axis', Tensor.int64([axis], [])), r, constant('one', Tensor.int64([1], []))]);
  }
  const dtype = x?.dtype;
  let eps: string;
  if (dtype === 'float32' || dtype === undefined) {
    eps = constant('epsilon', Tensor.float32([epsilon], []));
    if (dtype === undefined) eps = emit('CastLike', [eps, xs]);
  } else {
    const t = Tensor.zeros(dtype, []);
    t.set(0, epsilon);
    eps = constant('epsilon', t);
  }
  const meanSquare = emit('ReduceMean', [emit('Mul', [xs, xs]), axes], undefined, [{ name: 'keepdims', type: 2, i: 1 }]);
  const rms = emit('Sqrt', [emit('Add', [meanSquare, eps])]);
  emit('Mul', [emit('Div', [xs, rms]), nameOf(scale)], nameOf(n.outputs[0]));
}
