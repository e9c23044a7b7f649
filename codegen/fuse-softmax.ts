// Attention's score epilogue as one kernel: `softmax(where(mask, -inf, x * scale))` (the
// scale a scalar constant, the mask a constant whose kept elements form a prefix of every row,
// as a causal mask does) becomes one softmax that scales while it reads and only walks each
// row's kept prefix (the masked tail is exp(-inf) = 0). Saves two passes over the scores and
// the exp of the masked half. Either step may be absent; anything else is left alone. With a
// causal mask over square scores, the products on either side skip the masked triangle too.

import type { Kernel, Schedule } from './schedule.js';
import { kernelReads } from './schedule.js';
import type { BatchMatMulKernel, BinaryKernel, SoftmaxKernel, WhereKernel } from './tensor-kernels.js';

export function fuseSoftmax(s: Schedule): Schedule {
  const readers = new Map<number, number>();
  for (const k of s.kernels) for (const b of kernelReads(k)) readers.set(b, (readers.get(b) ?? 0) + 1);
  const outputs = new Set(s.outputs.map((o) => o.buffer));
  /** The kernel writing `buffer` is fusable into its one reader. */
  const private_ = (buffer: number) => readers.get(buffer) === 1 && s.buffers[buffer]!.role === 'temp' && !outputs.has(buffer);
  const producer = new Map<number, Kernel>();
  for (const k of s.kernels) producer.set(k.y, k);
  const removed = new Set<Kernel>();
  const replaced = new Map<Kernel, Kernel>();
  for (const k of s.kernels) {
    if (k.op !== 'softmax' || k.scale !== undefined || k.prefix) continue;
    let x = k.ins[0]!;
    let prefix: Float32Array | undefined;
    const where = producer.get(x);
    if (where?.op === 'where' && private_(x)) {
      prefix = causalPrefix(s, where, k.rows, k.cols);
      if (prefix) {
        removed.add(where);
        x = where.ins[2]!;
      }
    }
    let scale: number | undefined;
    const mul = producer.get(x);
    if (mul?.op === 'binary' && private_(x) && scalarOf(s, mul) !== undefined) {
      scale = scalarOf(s, mul)!;
      removed.add(mul);
      x = mul.ins[0]!;
    }
    if (scale === undefined && !prefix) continue;
    const ins = [x];
    if (prefix) {
      const id = s.buffers.length;
      s.buffers.push({ id, name: `${s.buffers[k.y]!.name}_prefix`, shape: [k.rows], size: k.rows, role: 'const', transposed: false, data: prefix });
      ins.push(id);
    }
    const fused: SoftmaxKernel = { op: 'softmax', ins, y: k.y, rows: k.rows, cols: k.cols, ...(scale !== undefined ? { scale } : {}), ...(prefix ? { prefix: true } : {}) };
    replaced.set(k, fused);
    if (prefix && isCausal(prefix, k.cols)) markCausalProducts(s, fused, x, producer, private_, replaced);
  }
  s.kernels = s.kernels.filter((k) => !removed.has(k)).map((k) => replaced.get(k) ?? k);
  return s;
}

/** Row r keeps r mod cols + 1 elements: the causal mask of square score matrices. */
function isCausal(prefix: Float32Array, cols: number): boolean {
  return prefix.every((len, r) => len === (r % cols) + 1);
}

/**
 * Around a causal softmax over square [cols, cols] score matrices: the product computing the
 * scores need not compute what the mask hides, and the product reading the probabilities
 * can skip their zero tail (batch-matmul's `causal`).
 */
function markCausalProducts(
  s: Schedule, softmax: SoftmaxKernel, scores: number, producer: Map<number, Kernel>,
  private_: (buffer: number) => boolean, replaced: Map<Kernel, Kernel>,
): void {
  const n = softmax.cols;
  const square = (k: BatchMatMulKernel) => k.batch * k.M === softmax.rows && k.M === n;
  const qk = producer.get(scores);
  if (qk?.op === 'batch-matmul' && private_(scores) && square(qk) && qk.N === n) replaced.set(qk, { ...qk, causal: 'scores' });
  const readers = s.kernels.filter((k) => kernelReads(k).includes(softmax.y));
  const av = readers[0];
  if (readers.length === 1 && av?.op === 'batch-matmul' && av.ins[0] === softmax.y && av.ins[1] !== softmax.y && square(av) && av.K === n && av.aStride === n * n) {
    replaced.set(av, { ...av, causal: 'probs' });
  }
}

/** The constant scalar of `x * c` (not swapped, c one element), or undefined. */
function scalarOf(s: Schedule, k: BinaryKernel): number | undefined {
  const c = s.buffers[k.ins[1]!]!;
  return k.fn === 'mul' && k.bSize === 1 && !k.swap && c.role === 'const' && c.data!.length === 1 ? c.data![0] : undefined;
}

/**
 * Per row, the length of the kept prefix when `where` keeps its computed operand (the third)
 * on a prefix of at least one element of every row and puts -Infinity everywhere else.
 */
function causalPrefix(s: Schedule, k: WhereKernel, rows: number, cols: number): Float32Array | undefined {
  const [cond, fill] = [s.buffers[k.ins[0]!]!, s.buffers[k.ins[1]!]!];
  if (cond.role !== 'const' || fill.role !== 'const' || k.size !== rows * cols) return undefined;
  // The kernel tests the condition's bits, not its value.
  const bits = new Uint32Array(cond.data!.buffer, cond.data!.byteOffset, cond.data!.length);
  const lengths = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let len = 0;
    while (len < cols && bits[r * cols + len] === 0) len++;
    if (len === 0) return undefined;
    for (let c = len; c < cols; c++) if (bits[r * cols + c] === 0 || fill.data![r * cols + c] !== -Infinity) return undefined;
    lengths[r] = len;
  }
  return lengths;
}
