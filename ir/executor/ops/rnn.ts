// Recurrent layers: RNN, GRU and LSTM (opset-14 form with `layout`; the same through opset 21).
// The three share everything but the cell (rnn-cells.ts): reading X, W, R, B, sequence_lens,
// initial_h/c and P in either layout, running each direction over each batch row for its own
// sequence length, and writing Y (zeros past a row's length), Y_h and Y_c. A reverse direction
// walks a row from its last valid step back to step 0. Everything computes in float64.

import { error } from '../../diagnostics.js';
import type { DType } from '../../dtype.js';
import type { Dim, Node } from '../../graph.js';
import type { OpDef, TypeInfo } from '../../opdef.js';
import { Op } from '../../ops.js';
import { Tensor } from '../../tensor.js';
import { gemmAccumulate, transpose2d } from '../gemm-kernel.js';
import { familyOf, floatData, fromFloats, unsupportedDtype } from '../numeric.js';
import { attrNumber, badAttribute, nodeLocation, shapeMismatch, typeMismatch } from '../util.js';
import { rnnActivations } from './rnn-activations.js';
import { gruStep, lstmStep, rnnStep, type CellParams, type CellStep } from './rnn-cells.js';

interface RnnKind {
  readonly op: Op;
  /** Gate blocks stacked in W, R and B. */
  readonly gates: number;
  /** Default activations of one direction. */
  readonly activations: readonly string[];
  readonly step: CellStep;
  /** LSTM also has a cell state (initial_c input, Y_c output) and peepholes. */
  readonly cell: boolean;
}

/** Input positions. */
const In = { X: 0, W: 1, R: 2, B: 3, SequenceLens: 4, InitialH: 5, InitialC: 6, P: 7 } as const;
type In = (typeof In)[keyof typeof In];

interface Attrs {
  readonly reverse: readonly boolean[];
  /** 0: X is [seq, batch, input]; 1: [batch, seq, input] (and the outputs batch-first too). */
  readonly batchFirst: boolean;
}

function readAttrs(kind: RnnKind, node: Node): Attrs {
  const direction = node.attrString('direction', 'forward');
  const reverse = direction === 'forward' ? [false] : direction === 'reverse' ? [true] : direction === 'bidirectional' ? [false, true] : undefined;
  if (!reverse) badAttribute(node, `direction must be 'forward', 'reverse' or 'bidirectional', not '${direction}'`);
  const layout = node.attrInt('layout', 0);
  if (layout !== 0 && layout !== 1) badAttribute(node, `layout must be 0 or 1, not ${layout}`);
  // Validates names and counts (UNSUPPORTED_OP for functions the executor does not know).
  rnnActivations(node, kind.activations, reverse.length);
  return { reverse, batchFirst: layout === 1 };
}

/** Y, Y_h (and Y_c) shapes for either layout. */
function outputShapes<D>(seq: D, batch: D, dirs: number, hidden: D, batchFirst: boolean): { y: (D | number)[]; state: (D | number)[] } {
  return batchFirst
    ? { y: [batch, seq, dirs, hidden], state: [batch, dirs, hidden] }
    : { y: [seq, dirs, batch, hidden], state: [dirs, batch, hidden] };
}

function inferRnn(kind: RnnKind, node: Node, inputs: readonly (TypeInfo | undefined)[]): TypeInfo[] {
  const { reverse, batchFirst } = readAttrs(kind, node);
  const x = inputs[In.X];
  if (x?.dtype !== undefined && familyOf(x.dtype) !== 'float') unsupportedDtype(node, x.dtype);
  if (x?.shape && x.shape.length !== 3) shapeMismatch(node, `X must have rank 3, got [${x.shape.join(',')}]`);
  const hidden: Dim | undefined = node.attrInt('hidden_size') ?? inputs[In.R]?.shape?.[2];
  const dtype = x?.dtype;
  let y: TypeInfo = { dtype };
  let state: TypeInfo = { dtype };
  if (x?.shape && hidden !== undefined) {
    const [seq, batch] = batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
    const shapes = outputShapes<Dim>(seq, batch, reverse.length, hidden, batchFirst);
    y = { dtype, shape: shapes.y };
    state = { dtype, shape: shapes.state };
  }
  return kind.cell ? [y, state, { ...state }] : [y, state];
}

/** A float input's elements as float64, after checking its dtype and shape. */
function operand(node: Node, t: Tensor, name: string, dtype: DType, shape: readonly number[]): Float64Array {
  if (t.dtype !== dtype) typeMismatch(node, `${name} has dtype ${t.dtype}, X has ${dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    shapeMismatch(node, `${name} must be [${shape.join(',')}], got [${t.shape.join(',')}]`);
  }
  return Float64Array.from(floatData(t));
}

/** Per-row sequence lengths, each within [0, seq]. */
function sequenceLengths(node: Node, t: Tensor | undefined, batch: number, seq: number): number[] {
  if (!t) return new Array<number>(batch).fill(seq);
  if (t.dtype !== 'int32') typeMismatch(node, `sequence_lens must be int32, not ${t.dtype}`);
  if (t.shape.length !== 1 || t.shape[0] !== batch) shapeMismatch(node, `sequence_lens must be [${batch}], got [${t.shape.join(',')}]`);
  const lens = t.toNumbers();
  for (const n of lens) {
    if (n < 0 || n > seq) throw error('BAD_INPUT', `sequence length ${n} is outside [0, ${seq}]`, nodeLocation(node));
  }
  return lens;
}

/** Reorder [a, b, rest] <-> [b, a, rest] (batch-first layout). */
function swapLeading(src: Float64Array, a: number, b: number, rest: number): Float64Array {
  const out = new Float64Array(src.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(src.subarray((i * b + j) * rest, (i * b + j + 1) * rest), (j * a + i) * rest);
  return out;
}

function toTensor(dtype: DType, shape: readonly number[], data: Float64Array): Tensor {
  return dtype === 'float32' ? new Tensor(dtype, shape, Float32Array.from(data)) : fromFloats(dtype, shape, data);
}

function runRnn(kind: RnnKind, node: Node, inputs: readonly (Tensor | undefined)[]): Tensor[] {
  const { reverse, batchFirst } = readAttrs(kind, node);
  const acts = rnnActivations(node, kind.activations, reverse.length);
  const x = inputs[In.X]!;
  const dtype = x.dtype;
  if (familyOf(dtype) !== 'float') unsupportedDtype(node, dtype);
  if (x.rank !== 3) shapeMismatch(node, `X must have rank 3, got [${x.shape.join(',')}]`);
  const dirs = reverse.length;
  const [seq, batch, inSize] = batchFirst ? [x.shape[1]!, x.shape[0]!, x.shape[2]!] : [x.shape[0]!, x.shape[1]!, x.shape[2]!];
  const hidden = node.attrInt('hidden_size') ?? inputs[In.R]?.shape[2];
  if (hidden === undefined) return badAttribute(node, 'hidden_size is required');
  const gh = kind.gates * hidden;
  const w = operand(node, inputs[In.W]!, 'W', dtype, [dirs, gh, inSize]);
  const r = operand(node, inputs[In.R]!, 'R', dtype, [dirs, gh, hidden]);
  const bias = inputs[In.B];
  const b = bias ? operand(node, bias, 'B', dtype, [dirs, 2 * gh]) : new Float64Array(dirs * 2 * gh);
  const lens = sequenceLengths(node, inputs[In.SequenceLens], batch, seq);
  const stateShape = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const readState = (i: In, name: string) => {
    const t = inputs[i];
    if (!t) return new Float64Array(dirs * batch * hidden);
    const s = operand(node, t, name, dtype, stateShape);
    return batchFirst ? swapLeading(s, batch, dirs, hidden) : s;
  };
  const h0 = readState(In.InitialH, 'initial_h');
  const c0 = kind.cell ? readState(In.InitialC, 'initial_c') : h0;
  const peepholes = kind.cell ? inputs[In.P] : undefined;
  const peep = peepholes ? operand(node, peepholes, 'P', dtype, [dirs, 3 * hidden]) : new Float64Array(dirs * 3 * hidden);
  const xs = Float64Array.from(floatData(x));
  const xSeqFirst = batchFirst ? swapLeading(xs, batch, seq, inSize) : xs;

  const y = new Float64Array(seq * dirs * batch * hidden);
  const yh = new Float64Array(dirs * batch * hidden);
  const yc = new Float64Array(dirs * batch * hidden);
  const clip = attrNumber(node, 'clip', Infinity);
  if (!(clip > 0)) badAttribute(node, `clip must be positive, not ${clip}`);
  for (let d = 0; d < dirs; d++) {
    // x_t W^T + Wb for every step and row at once: [seq * batch, inSize] x [inSize, gh].
    const wt = transpose2d(w.subarray(d * gh * inSize, (d + 1) * gh * inSize), 0, gh, inSize, new Float64Array(gh * inSize));
    const xw = new Float64Array(seq * batch * gh);
    for (let row = 0; row < seq * batch; row++) xw.set(b.subarray(d * 2 * gh, d * 2 * gh + gh), row * gh);
    gemmAccumulate(seq * batch, gh, inSize, xSeqFirst, 0, wt, 0, xw, 0);
    const params: CellParams = {
      hidden,
      r: r.subarray(d * gh * hidden, (d + 1) * gh * hidden),
      rb: b.subarray(d * 2 * gh + gh, (d + 1) * 2 * gh),
      p: peep.subarray(d * 3 * hidden, (d + 1) * 3 * hidden),
      acts: acts[d]!,
      clip,
      linearBeforeReset: node.attrInt('linear_before_reset', 0) !== 0,
      inputForget: node.attrInt('input_forget', 0) !== 0,
    };
    for (let row = 0; row < batch; row++) {
      const at = (d * batch + row) * hidden;
      const h = h0.slice(at, at + hidden);
      const c = c0.slice(at, at + hidden);
      const len = lens[row]!;
      for (let s = 0; s < len; s++) {
        const t = reverse[d] ? len - 1 - s : s;
        kind.step(params, xw, (t * batch + row) * gh, h, c);
        y.set(h, ((t * dirs + d) * batch + row) * hidden);
      }
      yh.set(h, at);
      yc.set(c, at);
    }
  }
  const shapes = outputShapes(seq, batch, dirs, hidden, batchFirst);
  // Batch-first Y is [batch, seq * dirs, hidden]: swap the leading batch and (seq, dirs) blocks.
  const yOut = batchFirst ? swapLeading(y, seq * dirs, batch, hidden) : y;
  const state = (s: Float64Array) => toTensor(dtype, shapes.state as number[], batchFirst ? swapLeading(s, dirs, batch, hidden) : s);
  const outs = [toTensor(dtype, shapes.y as number[], yOut), state(yh)];
  if (kind.cell) outs.push(state(yc));
  return outs;
}

function rnnDef(kind: RnnKind): OpDef {
  return {
    op: kind.op,
    infer: (node, inputs) => inferRnn(kind, node, inputs),
    run: (node, inputs) => runRnn(kind, node, inputs),
  };
}

export const rnnDefs: OpDef[] = [
  rnnDef({ op: Op.RNN, gates: 1, activations: ['Tanh'], step: rnnStep, cell: false }),
  rnnDef({ op: Op.GRU, gates: 3, activations: ['Sigmoid', 'Tanh'], step: gruStep, cell: false }),
  rnnDef({ op: Op.LSTM, gates: 4, activations: ['Sigmoid', 'Tanh', 'Tanh'], step: lstmStep, cell: true }),
];
