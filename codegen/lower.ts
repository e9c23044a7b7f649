// Lowering, read top to bottom: a model with bound input shapes becomes a kernel schedule with
// a static memory plan. Each step is named; the names drive timings (`onStep`).

import { error, type Diagnostic } from '../ir/diagnostics.js';
import type { Model, Node, Value } from '../ir/graph.js';
import { Op } from '../ir/ops.js';
import { PassManager } from '../passes/manager.js';
import { specializeShapes } from '../passes/specialize.js';
import { ALIAS_OPS, buildSchedule, WASM_OPS } from './build-schedule.js';
import { isBroadcastAdd, TENSOR_OPS, tensorOpReason } from './build-tensor-ops.js';
import { cnnOpReason, handlesCnnOp } from './build-cnn-ops.js';
import { fuseSoftmax } from './fuse-softmax.js';
import { liveIntervals, planMemory, type MemoryPlan } from './memory-plan.js';
import { kernelReads, type FormatOption, type Kernel, type LinearKernel, type Schedule, type WeightLayout } from './schedule.js';

export interface LowerOptions {
  /** Input shapes to bind (inputs already static may be left out). */
  shapes?: Record<string, number[]>;
  /** Weight layouts: chosen by the cost model ('auto'), or one for every weight. */
  format?: FormatOption;
  /** Layouts decided beforehand by Linear node name (build --tune): they replace `format`'s pick for those weights. */
  layouts?: ReadonlyMap<string, WeightLayout>;
  /** Called after each step with its name and duration. */
  onStep?: (name: string, ms: number) => void;
}

export interface Lowered {
  readonly schedule: Schedule;
  readonly plan: MemoryPlan;
  readonly warnings: Diagnostic[];
}

export function lower(model: Model, opts: LowerOptions = {}): Lowered {
  const step = <T>(name: string, run: () => T): T => {
    const start = performance.now();
    const out = run();
    opts.onStep?.(name, performance.now() - start);
    return out;
  };
  let m = model;
  m = step('specialize', () => specializeShapes(m, opts.shapes ?? {}));
  // infer-shapes, fold-constants, canonicalize (MatMul/Gemm + bias -> Linear, Gelu), dce;
  // then BatchNormalization into its Conv.
  const warnings = step('canonicalize', () => new PassManager('default,fold-batchnorm,dce').run(m).warnings);
  step('check-supported', () => checkSupported(m));
  let s = step('schedule', () => buildSchedule(m, opts.format ?? 'auto', opts.layouts));
  s = step('fuse-epilogues', () => fuseSoftmax(fuseEpilogues(s)));
  const plan = step('plan-memory', () => planMemory(liveIntervals(s)));
  return { schedule: s, plan, warnings: [...warnings, ...s.warnings] };
}

/** Why the wasm backend cannot lower `node`, or undefined when it can. */
function unsupportedReason(node: Node): string | undefined {
  if (handlesCnnOp(node)) return cnnOpReason(node);
  if (TENSOR_OPS.has(node.op) || isBroadcastAdd(node)) return tensorOpReason(node);
  if (!WASM_OPS.has(node.op)) return node.op === Op.MatMul ? 'MatMul of two computed tensors' : 'op not lowered yet';
  // Shape-only ops carry shapes, axes or a ratio beside the data: only the data must be f32.
  const data = ALIAS_OPS.has(node.op) ? [node.inputs[0], node.outputs[0]] : [...node.inputs, ...node.outputs];
  // int64 ids and masks pass through shape-only ops (the buffer keeps its dtype), but the
  // runtime returns float32 outputs only.
  const passesInt64 = (v: Value) => ALIAS_OPS.has(node.op) && v.dtype === 'int64' && !v.const && !v.isGraphOutput;
  const bad = data.find((v) => v !== undefined && v.dtype !== 'float32' && !passesInt64(v));
  if (bad?.isGraphOutput && bad.dtype === 'int64') return `int64 graph output '${bad.name}', outputs are float32`;
  if (bad) return `${bad.dtype ?? 'unknown'} tensor '${bad.name}', only float32 is lowered`;
  const mask = node.op === Op.Dropout ? node.outputs[1] : undefined;
  if (mask && (mask.uses.length > 0 || mask.isGraphOutput)) return 'Dropout mask output';
  if (node.op === Op.Linear && (!node.inputs[1]?.const || (node.inputs[2] && !node.inputs[2].const))) return 'weight or bias not constant';
  if (node.op === Op.Add) {
    const [a, b] = node.inputs;
    const same = a!.staticShape!.join() === b!.staticShape!.join();
    if (!same && !a!.const && !b!.const) return 'Add of two computed tensors of different shapes (broadcast)';
  }
  return undefined;
}

/** UNSUPPORTED_OP naming every node the backend cannot lower, grouped by op and reason, in one diagnostic. */
function checkSupported(model: Model): void {
  const groups = new Map<string, string[]>();
  let count = 0;
  for (const node of model.graph.nodes) {
    const reason = unsupportedReason(node);
    if (!reason) continue;
    const key = `${node.opType} (${reason})`;
    groups.set(key, [...(groups.get(key) ?? []), `'${node.name}'`]);
    count++;
  }
  if (count === 0) return;
  const list = [...groups].map(([key, names]) => `${names.length} ${key}: ${names.join(', ')}`).join('; ');
  throw error(
    'UNSUPPORTED_OP',
    `the wasm backend cannot lower ${count} node${count > 1 ? 's' : ''}: ${list}`,
    { file: model.sourcePath },
    'Supported: MatMul/Gemm (Linear or batched), Relu, Gelu, Add, Sub, Mul, Div, Neg, Sigmoid, Where, LayerNormalization, RMSNorm, Softmax, '
      + 'Gather, Split, Slice, Concat, Transpose, Expand, Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout.'
      + ' CNNs: Conv (BatchNormalization folded in), Clip, HardSigmoid, HardSwish, GlobalAveragePool, Mul by a per-channel scale.',
  );
}

/**
 * Fold the elementwise kernels that follow a Linear into its store (wasm/kernels/epilogue.ts):
 * first an activation (Relu, Gelu) that only the Linear feeds, then an Add of another tensor
 * of the same layout (the residual stream). Each fold saves a pass over the Linear's output.
 * The kernel folded in must come right after the Linear, so the Add's other operand already
 * exists when the Linear runs.
 */
export function fuseEpilogues(s: Schedule): Schedule {
  const readers = new Map<number, number>();
  for (const k of s.kernels) for (const b of kernelReads(k)) readers.set(b, (readers.get(b) ?? 0) + 1);
  const layout = (b: number) => s.buffers[b]!.transposed;
  /** The Linear's output feeds only `k`: folding `k` in leaves no other reader without it. */
  const feedsOnly = (linear: LinearKernel, k: Kernel): boolean =>
    readers.get(linear.y) === 1 && s.buffers[linear.y]!.role === 'temp' && layout(linear.y) === layout(k.y);
  const out: Kernel[] = [];
  for (const k of s.kernels) {
    const prev = out[out.length - 1];
    if (prev?.op === 'linear' && feedsOnly(prev, k) && !prev.epilogue.residual) {
      if (k.op === 'unary' && k.x === prev.y && prev.epilogue.activation === 'none') {
        prev.epilogue = { activation: k.fn, residual: false };
        prev.y = k.y;
        continue;
      }
      const residual = k.op === 'add' ? (k.a === prev.y ? k.b : k.b === prev.y ? k.a : undefined) : undefined;
      if (residual !== undefined && residual !== prev.y && layout(residual) === layout(prev.y)) {
        prev.epilogue = { activation: prev.epilogue.activation, residual: true };
        prev.residual = residual;
        prev.y = k.y;
        continue;
      }
    }
    out.push(k);
  }
  s.kernels = out;
  return s;
}
