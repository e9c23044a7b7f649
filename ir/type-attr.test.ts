// Attributes holding types (ONNX TypeProto, e.g. Optional's `type`): printing, verification
// and the inference that reads them.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import type { Attr } from './graph.js';
import { inferTypes } from './infer.js';
import { printGraph } from './printer.js';
import { verifyProblems } from './verify.js';

const floatVector: Attr = { kind: 'type', value: { kind: 'tensor', dtype: 'float32', shape: [3] } };

function emptyOptional(type?: Attr) {
  const b = new GraphBuilder('main');
  const opt = b.op('Optional', [], { name: 'opt', attrs: type ? { type } : {} });
  const y = b.op('OptionalGetElement', [opt], { name: 'get' });
  b.output(y);
  return { g: b.graph, opt, y };
}

describe('type attributes', () => {
  it('print nested, and lists print each type', () => {
    const b = new GraphBuilder('main');
    b.op('Optional', [], {
      name: 'opt',
      attrs: { type: { kind: 'type', value: { kind: 'sequence', elem: { kind: 'tensor', dtype: 'int64', shape: ['n', 2] } } } },
    });
    b.op('Opaque', [], {
      name: 'custom',
      attrs: { ts: { kind: 'types', value: [{ kind: 'optional', elem: { kind: 'tensor' } }, { kind: 'tensor', dtype: 'bool', shape: [] }] } },
    });
    const text = printGraph(b.graph);
    expect(text).toContain('{type = type seq<int64[n,2]>}');
    expect(text).toContain('{ts = [type opt<?[?]>, type bool[]]}');
  });

  it('give an Optional without input the element type of its type attribute', () => {
    const { g, opt, y } = emptyOptional(floatVector);
    inferTypes(g);
    expect([opt.dtype, opt.shape]).toEqual(['float32', [3]]);
    expect([y.dtype, y.shape]).toEqual(['float32', [3]]);
  });

  it('verify requires an input or a type on Optional, and the type to be a type', () => {
    expect(verifyProblems(emptyOptional(floatVector).g)).toEqual([]);
    expect(verifyProblems(emptyOptional().g).map((d) => d.text)).toEqual([expect.stringContaining('Optional needs an input or a type attribute')]);
    const wrongKind = verifyProblems(emptyOptional({ kind: 'string', value: 'float' }).g).map((d) => d.text);
    expect(wrongKind).toEqual([expect.stringContaining("attribute 'type' is string but must be type")]);
  });
});
