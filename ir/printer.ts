// A readable text form of the IR, for --ir, --dump-after and test snapshots. MLIR-like:
//
//   graph main(%x: float32[batch,64]) {
//     %w: float32[64,64] = const <4096 values, 23% zeros>
//     %y: float32[batch,64] = Linear(%x, %w)  // fc1
//     return %y
//   }
//
// Output is deterministic (attributes sorted by name) so snapshots only change when the IR does.

import type { Attr, Graph, Node, TypeDesc, Value } from './graph.js';
import type { Tensor } from './tensor.js';

/** Constants with at most this many elements are printed in full. */
const INLINE_ELEMENTS = 8;

export function printGraph(graph: Graph): string {
  const lines: string[] = [];
  printInto(graph, '', lines);
  return lines.join('\n') + '\n';
}

function printInto(g: Graph, indent: string, lines: string[], label = ''): void {
  const inner = indent + '  ';
  lines.push(`${indent}${label}graph ${g.name}(${g.inputs.map(typed).join(', ')}) {`);
  for (const c of g.constants.values()) lines.push(`${inner}${typed(c)} = const ${printTensor(c.const!)}`);
  for (const node of g.nodes) printNode(node, inner, lines);
  lines.push(`${inner}return ${g.outputs.map(valueRef).join(', ')}`);
  lines.push(`${indent}}`);
}

function printNode(node: Node, indent: string, lines: string[]): void {
  const results = node.outputs.map(typed).join(', ');
  const args = node.inputs.map((v) => (v ? valueRef(v) : 'none')).join(', ');
  const attrs = [...node.attrs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const attrText = attrs.length ? ` {${attrs.map(([k, a]) => `${k} = ${printAttr(a)}`).join(', ')}}` : '';
  const lhs = results ? `${results} = ` : '';
  lines.push(`${indent}${lhs}${opName(node)}(${args})${attrText}  // ${node.name}`);
  for (const [key, a] of attrs) {
    const graphs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
    graphs.forEach((sub, i) => printInto(sub, indent + '  ', lines, `${key}${a.kind === 'graphs' ? `[${i}]` : ''}: `));
  }
}

function opName(node: Node): string {
  if (node.op === 'Opaque') return `Opaque<${node.domain ? `${node.domain}.` : ''}${node.opType}>`;
  return node.domain && node.domain !== 'ai.onnx' && node.op !== node.opType ? `${node.domain}.${node.op}` : node.op;
}

/** `%name`, quoted when the name has characters that would make the text ambiguous. */
export function valueRef(v: Value): string {
  return /^[A-Za-z0-9_.:/\-]+$/.test(v.name) ? `%${v.name}` : `%${JSON.stringify(v.name)}`;
}

function typed(v: Value): string {
  return `${valueRef(v)}: ${printType(v)}`;
}

/** `float32[batch,64]`; `?` for an unknown dtype or dim list; `seq<float32>` for sequences. */
export function printType(v: Value): string {
  if (v.kind === 'sequence') return `seq<${v.elemDtype ?? '?'}>`;
  if (v.kind === 'optional') return `opt<${v.elemDtype ?? '?'}>`;
  const shape = v.shape ? `[${v.shape.join(',')}]` : '[?]';
  return `${v.dtype ?? '?'}${shape}`;
}

function printAttr(a: Attr): string {
  switch (a.kind) {
    case 'int':
      return String(a.value);
    case 'float':
      return printFloat(a.value);
    case 'string':
      return JSON.stringify(a.value);
    case 'ints':
      return `[${a.value.join(', ')}]`;
    case 'floats':
      return `[${a.value.map(printFloat).join(', ')}]`;
    case 'strings':
      return `[${a.value.map((s) => JSON.stringify(s)).join(', ')}]`;
    case 'tensor':
      return `${a.value.dtype}[${a.value.shape.join(',')}] ${printTensor(a.value)}`;
    case 'tensors':
      return `[${a.value.map((t) => `${t.dtype}[${t.shape.join(',')}] ${printTensor(t)}`).join(', ')}]`;
    case 'graph':
      return `graph ${a.value.name}`;
    case 'graphs':
      return `[${a.value.map((g) => `graph ${g.name}`).join(', ')}]`;
    case 'type':
      return `type ${printTypeDesc(a.value)}`;
    case 'types':
      return `[${a.value.map((t) => `type ${printTypeDesc(t)}`).join(', ')}]`;
  }
}

/** The notation of printType, nested: `opt<seq<float32[?]>>`. */
function printTypeDesc(t: TypeDesc): string {
  if (t.kind === 'sequence') return `seq<${printTypeDesc(t.elem)}>`;
  if (t.kind === 'optional') return `opt<${printTypeDesc(t.elem)}>`;
  return `${t.dtype ?? '?'}${t.shape ? `[${t.shape.join(',')}]` : '[?]'}`;
}

/** Floats always show a fraction or exponent, so `1.0` (float) and `1` (int) differ. */
function printFloat(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const s = String(Number(x.toPrecision(7)));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Small tensors in full (`[0, 2, 1]`, a scalar as `3`); large ones summarized. */
export function printTensor(t: Tensor): string {
  const n = t.size;
  if (t.dtype === 'string') {
    const items = (t.data as string[]).slice(0, INLINE_ELEMENTS).map((s) => JSON.stringify(s));
    return n <= INLINE_ELEMENTS ? (t.shape.length === 0 ? items[0]! : `[${items.join(', ')}]`) : `<${n} strings>`;
  }
  if (t.dtype === 'complex64' || t.dtype === 'complex128') return `<${n} complex values>`;
  if (n <= INLINE_ELEMENTS) {
    const items = t.toNumbers().map((x) => (t.dtype === 'bool' ? String(x !== 0) : isFloatDtype(t) ? printFloat(x) : String(x)));
    return t.shape.length === 0 ? items[0]! : `[${items.join(', ')}]`;
  }
  let zeros = 0;
  for (let i = 0; i < n; i++) if (t.get(i) === 0) zeros++;
  return `<${n} values, ${percent(zeros, n)} zeros>`;
}

function isFloatDtype(t: Tensor): boolean {
  return t.dtype.startsWith('float') || t.dtype === 'bfloat16';
}

/** Whole percent, never rounding a nonzero share to 0% or a partial one to 100%. */
function percent(part: number, whole: number): string {
  if (part === 0) return '0%';
  if (part === whole) return '100%';
  const p = Math.round((100 * part) / whole);
  if (p === 0) return '<1%';
  if (p === 100) return '>99%';
  return `${p}%`;
}
