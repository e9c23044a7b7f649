// Elementwise work fused into a matrix kernel's store. The activation that follows a Linear
// (ReLU, GELU) and the residual add after it, y = act(x W + b) + r, are applied to the
// accumulators while they are still in registers, so neither makes its own pass over memory.
// Every matrix kernel (dense, unstructured, N:M, block) stores through an EpilogueStore.
//
// The fused result has the same bits as the unfused kernels: the activation is the same
// lane-for-lane code as the Gelu kernel's (vector-math.ts, elementwise.ts), and the residual
// is added after it, as the Add kernel would.
//
// A kernel with a residual takes it as a fourth argument laid out like y. It keeps the
// distance r - y in a local, so wherever the kernel stores y + offset it loads r from
// y + distance + offset, however its own pointer into y moves.

import { f32, i32, v128, type ExprRef, type FunctionScope, type Local, type TypeRef } from '../module.js';
import { geluErf, geluTanh } from './elementwise.js';
import { geluErfV, geluTanhV } from './vector-math.js';

export type Activation = 'none' | 'relu' | 'gelu' | 'gelu_tanh';

export interface Epilogue {
  readonly activation: Activation;
  /** Add the kernel's fourth argument (laid out like y) after the activation. */
  readonly residual: boolean;
}

export const NO_EPILOGUE: Epilogue = { activation: 'none', residual: false };

/** A short stable name for kernel keys: `none`, `relu`, `gelu+r`, ... */
export function epilogueKey(e: Epilogue = NO_EPILOGUE): string {
  return e.residual ? `${e.activation}+r` : e.activation;
}

/** The kernel's parameters: byte addresses (x, w, y), and r with a residual. */
export function matrixKernelParams(e: Epilogue = NO_EPILOGUE): TypeRef[] {
  return e.residual ? [i32, i32, i32, i32] : [i32, i32, i32];
}

export class EpilogueStore {
  private readonly distance?: Local;
  private vectorTemps?: [Local, Local];
  private scalarTemps?: [Local, Local];

  /** For a kernel whose parameters are matrixKernelParams(e): y is parameter 2, r parameter 3. */
  constructor(private readonly fn: FunctionScope, readonly epilogue: Epilogue = NO_EPILOGUE) {
    if (epilogue.residual) this.distance = fn.local(i32);
  }

  /** Statements for the kernel's entry, before any store. */
  setup(): ExprRef[] {
    const m = this.fn.m;
    if (!this.distance) return [];
    return [m.set(this.distance, m.i32.sub(m.get(this.fn.param(3)), m.get(this.fn.param(2))))];
  }

  /** Store the first `lanes` f32 lanes of `value` (four-lane accumulator) at y + offset, after the epilogue. */
  vector(value: ExprRef, y: Local, offset: number, lanes = 4): ExprRef[] {
    const m = this.fn.m;
    const { activation } = this.epilogue;
    const out: ExprRef[] = [];
    let result: ExprRef = value;
    if (activation === 'relu') result = m.f32x4.max(value, m.v128.zero());
    else if (activation !== 'none') {
      const [x, t] = (this.vectorTemps ??= [this.fn.local(v128), this.fn.local(v128)]);
      out.push(m.set(x, value), ...(activation === 'gelu' ? geluErfV(this.fn, x, t) : geluTanhV(this.fn, x, t)));
      result = m.get(t);
    }
    if (this.distance) result = m.f32x4.add(result, this.loadResidual(y, offset, lanes));
    return [...out, ...storeLanes(this.fn, y, result, offset, lanes)];
  }

  /** Store the f32 `value` at y + offset, after the epilogue. */
  scalar(value: ExprRef, y: Local, offset: number): ExprRef[] {
    const m = this.fn.m;
    const { activation } = this.epilogue;
    const out: ExprRef[] = [];
    let result: ExprRef = value;
    if (activation === 'relu') result = m.f32.max(value, m.f32.const(0));
    else if (activation !== 'none') {
      const [x, t] = (this.scalarTemps ??= [this.fn.local(f32), this.fn.local(f32)]);
      out.push(m.set(x, value), ...(activation === 'gelu' ? geluErf(this.fn, x, t) : geluTanh(this.fn, x, t)));
      result = m.get(t);
    }
    if (this.distance) result = m.f32.add(result, m.f32.load(this.residualAt(y), offset));
    return [...out, m.f32.store(m.get(y), result, offset)];
  }

  private residualAt(y: Local): ExprRef {
    return this.fn.m.i32.add(this.fn.m.get(y), this.fn.m.get(this.distance!));
  }

  /** The residual's lanes at y + offset; a partial vector reads only its own lanes (r may end the memory). */
  private loadResidual(y: Local, offset: number, lanes: number): ExprRef {
    const m = this.fn.m;
    switch (lanes) {
      case 4: return m.v128.load(this.residualAt(y), offset);
      case 3: return m.v128.load32Lane(this.residualAt(y), m.v128.load64Zero(this.residualAt(y), offset), 2, offset + 8);
      case 2: return m.v128.load64Zero(this.residualAt(y), offset);
      case 1: return m.v128.load32Zero(this.residualAt(y), offset);
      default: throw new Error(`cannot load ${lanes} residual lanes`);
    }
  }
}

/** Store the first `lanes` f32 lanes of `value` at y + offset. */
function storeLanes(fn: FunctionScope, y: Local, value: ExprRef, offset: number, lanes: number): ExprRef[] {
  const m = fn.m;
  if (lanes === 4) return [m.v128.store(m.get(y), value, offset)];
  // Partial stores read the value more than once: keep it in a local.
  const v = fn.local(v128);
  const stores: ExprRef[] = [m.set(v, value)];
  if (lanes >= 2) stores.push(m.v128.store64Lane(m.get(y), m.get(v), 0, offset));
  if (lanes === 1) stores.push(m.v128.store32Lane(m.get(y), m.get(v), 0, offset));
  if (lanes === 3) stores.push(m.v128.store32Lane(m.get(y), m.get(v), 2, offset + 8));
  return stores;
}
