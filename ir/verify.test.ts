import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { SparsecError } from './diagnostics.js';
import { Graph } from './graph.js';
import { Tensor } from './tensor.js';
import { verify, verifyProblems } from './verify.js';

/** x -> Relu -> Add(relu, c) -> y, a graph that passes every check. */
function goodGraph() {
  const b = new GraphBuilder('main');
  const x = b.input('x', 'float32', ['batch', 4]);
  const c = b.constant('c', Tensor.float32([1, 2, 3, 4]));
  const r = b.node('Relu', [x], { name: 'relu' });
  const a = b.node('Add', [r.outputs[0]!, c], { name: 'add' });
  b.output(a.outputs[0]!);
  return { g: b.graph, x, c, r, a };
}

const texts = (g: Graph) => verifyProblems(g, 'm.onnx').map((d) => d.text);

describe('verify', () => {
  it('accepts a well-formed graph', () => {
    expect(() => verify(goodGraph().g)).not.toThrow();
  });

  it('throws VERIFY_FAILED naming the file and listing every problem', () => {
    const { g, r, a } = goodGraph();
    g.nodes.reverse(); // add before relu
    a.attrs.set('extra', { kind: 'int', value: 1 }); // harmless: unknown attributes are allowed
    r.setInputs([]); // and Relu now has no input
    let err: unknown;
    try {
      verify(g, 'm.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SparsecError);
    const ds = (err as SparsecError).diagnostics;
    expect(ds.every((d) => d.code === 'VERIFY_FAILED' && d.location?.file === 'm.onnx')).toBe(true);
    expect(ds.map((d) => d.text)).toEqual([
      'input 0 is used before it is produced (nodes are out of topological order)',
      'has 0 inputs but Relu takes 1',
    ]);
    expect(ds[0]!.location).toMatchObject({ node: 'add', opType: 'Add', value: 'relu_out' });
  });

  it('detects dangling inputs (a value of no graph)', () => {
    const { g, a } = goodGraph();
    const stray = new Graph('other').addInput('stray', 'float32', [4]);
    a.setInput(1, stray);
    expect(texts(g)).toContain('input 1 is a value of no graph (dangling: its producer was removed or it was never added)');
  });

  it('detects a node removed from the list while its output is still used', () => {
    const { g, r } = goodGraph();
    g.nodes.splice(g.nodes.indexOf(r), 1);
    const t = texts(g);
    expect(t).toContain('input 0 is a value of no graph (dangling: its producer was removed or it was never added)');
    // Relu's use of x is now stale too.
    expect(t).toContain("use list names Relu 'relu', which is not in the graph");
  });

  it('detects use lists that do not match node inputs', () => {
    const { g, x, c, a } = goodGraph();
    c.uses.push({ node: a, index: 1 }); // recorded twice
    x.uses.push({ node: a, index: 0 }); // a does not read x
    const t = texts(g);
    expect(t).toContain("input 1 is recorded 2 times in the value's use list (expected once)");
    expect(t).toContain("use list says Add 'add' reads it as input 0, but it does not");
  });

  it('detects a missing use', () => {
    const { g, c } = goodGraph();
    c.uses.length = 0;
    expect(texts(g)).toEqual(["input 1 is recorded 0 times in the value's use list (expected once)"]);
  });

  it('detects duplicate value names', () => {
    const { g, r } = goodGraph();
    r.outputs[0]!.name = 'x';
    expect(texts(g)).toContain("value name 'x' is used by two values");
  });

  it('detects graph outputs that are not produced in the graph', () => {
    const { g } = goodGraph();
    g.outputs.push(new Graph('elsewhere').addInput('ghost', 'float32', [1]));
    expect(texts(g)).toContain('graph output 1 is a value of no graph (dangling)');
  });

  it('checks arity, attribute kinds and required attributes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    b.output(b.op('Transpose', [x], { attrs: { perm: 1 } }));
    b.output(b.op('Concat', [x, x]));
    b.output(b.op('Cast', [x], { attrs: { to: 1.5 } }));
    const t = texts(b.graph);
    expect(t).toEqual([
      "attribute 'perm' is int but must be ints",
      "required attribute 'axis' is missing",
      "attribute 'to' is float but must be string",
    ]);
  });

  it('checks constant types and a few dtype rules', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4]);
    const i = b.input('i', 'int64', [4]);
    const c = b.constant('c', Tensor.float32([1, 2, 3, 4]));
    c.dtype = 'float16';
    c.shape = [2, 2];
    b.output(b.op('Add', [x, i]));
    b.output(b.op('Less', [x, c], { types: [{ dtype: 'float32' }] }));
    expect(texts(b.graph)).toEqual([
      'declared dtype float16 differs from its tensor\'s float32',
      "declared shape [2,2] differs from its tensor's [4]",
      'operands have different dtypes (float32 and int64)',
      'comparison result has dtype float32, not bool',
    ]);
  });

  it('requires Linear weights to be 2-D constants', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 4]);
    const w = b.input('w', 'float32', [4, 4]);
    b.output(b.op('Linear', [x, w]));
    expect(texts(b.graph)).toEqual(['Linear weight must be a constant']);
  });

  it('recurses into subgraphs and lets them read enclosing values', () => {
    const b = new GraphBuilder();
    const cond = b.input('cond', 'bool', []);
    const x = b.input('x', 'float32', [2]);
    const then = b.subgraph('then');
    then.output(then.op('Relu', [x]));
    const els = b.subgraph('else');
    els.output(els.op('Neg', [x]));
    b.output(b.op('If', [cond], { attrs: { then_branch: then.graph, else_branch: els.graph } }));
    expect(texts(b.graph)).toEqual([]);

    // A value of the sibling branch is not visible.
    const thenOut = then.graph.outputs[0]!;
    els.graph.nodes[0]!.setInput(0, thenOut);
    expect(texts(b.graph)).toEqual(["input 0 belongs to graph 'then', which does not enclose this use (in subgraph 'else')"]);
  });

  it('reports a subgraph use of a value produced after the enclosing node', () => {
    const b = new GraphBuilder();
    const cond = b.input('cond', 'bool', []);
    const x = b.input('x', 'float32', [2]);
    const body = b.subgraph('then');
    const els = b.subgraph('else');
    els.output(els.op('Identity', [x]));
    const ifNode = b.node('If', [cond], { attrs: { then_branch: body.graph, else_branch: els.graph } });
    const late = b.op('Neg', [x]);
    body.output(body.op('Relu', [late]));
    b.output(ifNode.outputs[0]!);
    expect(texts(b.graph)).toEqual([
      "input 0 is produced in enclosing graph 'main' only after the node holding this subgraph (out of topological order) (in subgraph 'then')",
    ]);
  });
});
