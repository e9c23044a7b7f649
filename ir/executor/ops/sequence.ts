// Sequence and optional ops. A sequence is a Tensor[] at run time (never mutated: each op
// returns a new array) and an empty optional is null. TypeInfo has no notion of sequences, so
// inference only describes the tensor outputs (SequenceLength, ConcatFromSequence, ...).

import type { Node } from '../../graph.js';
import type { OpDef, RuntimeValue } from '../../opdef.js';
import { Tensor } from '../../tensor.js';
import { normalizeAxis } from '../util.js';
import { badInput, scalarOf } from './layout.js';
import { concatAlong, splitAlong } from './slicing.js';

function sequenceArg(node: Node, v: RuntimeValue | undefined): Tensor[] {
  if (!Array.isArray(v)) badInput(node, 'input must be a sequence');
  return v;
}

function tensorArg(node: Node, v: RuntimeValue | undefined, what: string): Tensor {
  if (!(v instanceof Tensor)) badInput(node, `${what} must be a tensor`);
  return v;
}

/** A position into a sequence of n elements; `inclusiveEnd` allows n (insertion at the back). */
function positionIn(node: Node, p: Tensor | undefined, n: number, fallback: number, inclusiveEnd: boolean): number {
  const raw = p ? scalarOf(p, node, 'position') : fallback;
  const i = raw < 0 ? raw + n : raw;
  if (i < 0 || i > n || (i === n && !inclusiveEnd)) badInput(node, `position ${raw} is out of range for a sequence of ${n}`);
  return i;
}

const noTypes = (node: Node) => node.outputs.map(() => ({}));

const sequenceEmpty: OpDef = { op: 'SequenceEmpty', infer: noTypes, runValues: () => [[]] };

const sequenceConstruct: OpDef = {
  op: 'SequenceConstruct',
  infer: noTypes,
  runValues(node, inputs) {
    return [inputs.map((v, i) => tensorArg(node, v, `input ${i}`))];
  },
};

const sequenceInsert: OpDef = {
  op: 'SequenceInsert',
  infer: noTypes,
  runValues(node, [seq, tensor, position]) {
    const s = sequenceArg(node, seq);
    const at = positionIn(node, position ? tensorArg(node, position, 'position') : undefined, s.length, s.length, true);
    const out = [...s];
    out.splice(at, 0, tensorArg(node, tensor, 'tensor'));
    return [out];
  },
};

const sequenceAt: OpDef = {
  op: 'SequenceAt',
  infer: noTypes,
  runValues(node, [seq, position]) {
    const s = sequenceArg(node, seq);
    return [s[positionIn(node, tensorArg(node, position, 'position'), s.length, 0, false)]!];
  },
};

const sequenceErase: OpDef = {
  op: 'SequenceErase',
  infer: noTypes,
  runValues(node, [seq, position]) {
    const s = sequenceArg(node, seq);
    const at = positionIn(node, position ? tensorArg(node, position, 'position') : undefined, s.length, -1, false);
    return [s.filter((_, i) => i !== at)];
  },
};

const sequenceLength: OpDef = {
  op: 'SequenceLength',
  infer: () => [{ dtype: 'int64', shape: [] }],
  runValues(node, [seq]) {
    return [Tensor.int64([sequenceArg(node, seq).length], [])];
  },
};

const splitToSequence: OpDef = {
  op: 'SplitToSequence',
  infer: noTypes,
  runValues(node, [input, split]) {
    const x = tensorArg(node, input, 'input');
    const axis = normalizeAxis(node.attrInt('axis', 0), x.rank, node);
    const dim = x.shape[axis]!;
    let sizes: number[];
    let squeeze = false;
    if (split === undefined) {
      sizes = new Array<number>(dim).fill(1);
      squeeze = node.attrInt('keepdims', 1) === 0;
    } else {
      const s = tensorArg(node, split, 'split');
      if (s.rank === 0) {
        const chunk = s.get(0);
        if (chunk <= 0) badInput(node, `split size ${chunk} must be positive`);
        sizes = Array.from({ length: Math.ceil(dim / chunk) }, (_, i) => Math.min(chunk, dim - i * chunk));
      } else sizes = s.toNumbers();
    }
    if (sizes.reduce((a, b) => a + b, 0) !== dim) badInput(node, `split [${sizes.join(',')}] does not cover a dim of ${dim}`);
    const parts = splitAlong(x, axis, sizes);
    return [squeeze ? parts.map((p) => p.reshape(p.shape.filter((_, i) => i !== axis))) : parts];
  },
};

const concatFromSequence: OpDef = {
  op: 'ConcatFromSequence',
  infer: noTypes,
  runValues(node, [seq]) {
    const s = sequenceArg(node, seq);
    if (s.length === 0) badInput(node, 'cannot concatenate an empty sequence');
    const newAxis = node.attrInt('new_axis', 0) === 1;
    const rank = s[0]!.rank;
    const axisAttr = node.attrInt('axis');
    if (axisAttr === undefined) badInput(node, 'missing attribute axis');
    const axis = normalizeAxis(axisAttr, newAxis ? rank + 1 : rank, node);
    const parts = newAxis ? s.map((t) => t.reshape([...t.shape.slice(0, axis), 1, ...t.shape.slice(axis)])) : s;
    return [concatAlong(node, parts, axis)];
  },
};

// ---- Optional ----

const optional: OpDef = {
  op: 'Optional',
  // Without an input the `type` attribute says what the optional would hold.
  infer(node, [x]) {
    const declared = node.attrType('type');
    if (x || declared?.kind !== 'tensor') return [{ ...x }];
    return [{ dtype: declared.dtype, shape: declared.shape }];
  },
  runValues: (_node, [x]) => [x ?? null],
};

const optionalHasElement: OpDef = {
  op: 'OptionalHasElement',
  infer: () => [{ dtype: 'bool', shape: [] }],
  runValues: (_node, [x]) => [Tensor.scalar('bool', x !== undefined && x !== null)],
};

const optionalGetElement: OpDef = {
  op: 'OptionalGetElement',
  infer: (_node, [x]) => [{ ...x }],
  runValues(node, [x]) {
    if (x === undefined || x === null) badInput(node, 'the optional is empty');
    return [x];
  },
};

export const sequenceDefs: OpDef[] = [
  sequenceEmpty, sequenceConstruct, sequenceInsert, sequenceAt, sequenceErase, sequenceLength, splitToSequence,
  concatFromSequence, optional, optionalHasElement, optionalGetElement,
];
