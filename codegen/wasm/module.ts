// The one place that talks to binaryen. Kernels build WebAssembly through this typed layer:
// branded refs keep expressions and types apart, memory ops get natural alignment and a zero
// offset by default, the target's features are fixed when the module is created, and
// pseudo-ops (`madd`) resolve to the best instruction the target allows, so each kernel is
// written once for the plain SIMD128 build and the relaxed-SIMD build alike.
//
// Memory convention: a module works on one linear memory, `env.memory`, imported by default so
// the runtime owns (and can grow) the arena; `memory: {export: ...}` defines and exports one
// instead. Kernels take byte addresses as i32 parameters. Data segments are placed at fixed
// byte offsets (`addData`).

import binaryen from 'binaryen';

export type ExprRef = number & { readonly __brand: 'ExprRef' };
export type TypeRef = number & { readonly __brand: 'TypeRef' };

export const i32 = binaryen.i32 as TypeRef;
export const f32 = binaryen.f32 as TypeRef;
export const v128 = binaryen.v128 as TypeRef;
export const none = binaryen.none as TypeRef;

export interface ModuleOptions {
  /** Emit f32x4.relaxed_madd for `madd` (Node 20 needs --experimental-wasm-relaxed-simd to load it). */
  relaxedSimd?: boolean;
  /** Import `env.memory` (default) or define and export a memory of `pages` 64 KiB pages. */
  memory?: { import: true } | { export: string; pages: number };
}

/** A function's local variable (parameters included), typed at allocation. */
export interface Local {
  readonly index: number;
  readonly type: TypeRef;
}

const MEMORY = 'memory';
const V128_ALIGN = 16;

const e = (r: number): ExprRef => r as ExprRef;

export class WasmModule {
  readonly relaxedSimd: boolean;
  private readonly mod = new binaryen.Module();
  private readonly segments: { offset: number; data: Uint8Array }[] = [];
  private readonly memory: NonNullable<ModuleOptions['memory']>;
  private disposed = false;

  constructor(opts: ModuleOptions = {}) {
    this.relaxedSimd = opts.relaxedSimd ?? false;
    this.memory = opts.memory ?? { import: true };
    const F = binaryen.Features;
    let features = F.MVP | F.SIMD128 | F.BulkMemory | F.SignExt | F.NontrappingFPToInt | F.MutableGlobals;
    if (this.relaxedSimd) features |= F.RelaxedSIMD;
    this.mod.setFeatures(features);
  }

  // ---- functions and module structure ----

  /**
   * Add a function, exported unless `exported` is false; `build` receives a scope to allocate
   * locals and returns the body.
   */
  addFunction(
    name: string, params: readonly TypeRef[], result: TypeRef, build: (fn: FunctionScope) => ExprRef | ExprRef[], exported = true,
  ): void {
    const scope = new FunctionScope(this, params);
    const body = build(scope);
    const block = Array.isArray(body) ? this.block(null, body, result) : body;
    this.mod.addFunction(name, binaryen.createType([...params]), result, scope.varTypes(), block);
    if (exported) this.mod.addFunctionExport(name, name);
  }

  /** Call function `name` (which returns nothing) with i32 arguments. */
  call(name: string, args: readonly ExprRef[]): ExprRef {
    return e(this.mod.call(name, args as unknown as number[], none));
  }

  /** Place bytes at a fixed byte offset of the memory when the module is instantiated. */
  addData(offset: number, data: Uint8Array): void {
    this.segments.push({ offset, data });
  }

  /** A custom section (metadata the runtime reads with WebAssembly.Module.customSections). */
  addCustomSection(name: string, contents: Uint8Array): void {
    this.mod.addCustomSection(name, contents);
  }

  /** True when binaryen's validator accepts the module. */
  validate(): boolean {
    this.finishMemory();
    return this.mod.validate() === 1;
  }

  /** The module as text (for debugging and tests). */
  emitText(): string {
    this.finishMemory();
    return this.mod.emitText();
  }

  /** The binary. `optimize` runs binaryen's default pipeline first (level 2). */
  emitBinary(opts: { optimize?: boolean } = {}): Uint8Array {
    this.finishMemory();
    if (opts.optimize) {
      binaryen.setOptimizeLevel(2);
      binaryen.setShrinkLevel(0);
      this.mod.optimize();
    }
    return this.mod.emitBinary();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.mod.dispose();
  }

  private memoryDone = false;
  private finishMemory(): void {
    if (this.memoryDone) return;
    this.memoryDone = true;
    const segs = this.segments.map((s) => ({ offset: this.mod.i32.const(s.offset), data: s.data, passive: false }));
    if ('import' in this.memory) {
      // -1: no maximum, so any memory the runtime passes in links.
      this.mod.setMemory(1, -1, null, segs, false, false, MEMORY);
      this.mod.addMemoryImport(MEMORY, 'env', 'memory');
    } else {
      this.mod.setMemory(this.memory.pages, -1, this.memory.export, segs, false, false, MEMORY);
    }
  }

  // ---- control flow ----

  block(label: string | null, children: readonly ExprRef[], result: TypeRef = none): ExprRef {
    return e(this.mod.block(label, children as unknown as number[], result));
  }
  loop(label: string, body: ExprRef): ExprRef {
    return e(this.mod.loop(label, body));
  }
  br(label: string, condition?: ExprRef): ExprRef {
    return e(this.mod.br(label, condition));
  }
  if(condition: ExprRef, then: ExprRef, otherwise?: ExprRef): ExprRef {
    return e(this.mod.if(condition, then, otherwise));
  }
  drop(value: ExprRef): ExprRef {
    return e(this.mod.drop(value));
  }
  nop(): ExprRef {
    return e(this.mod.nop());
  }
  /** `ifTrue` when the i32 `condition` is non-zero, else `ifFalse` (both evaluated). */
  select(condition: ExprRef, ifTrue: ExprRef, ifFalse: ExprRef): ExprRef {
    return e(this.mod.select(condition, ifTrue, ifFalse));
  }

  // ---- locals ----

  get(local: Local): ExprRef {
    return e(this.mod.local.get(local.index, local.type));
  }
  set(local: Local, value: ExprRef): ExprRef {
    return e(this.mod.local.set(local.index, value));
  }
  tee(local: Local, value: ExprRef): ExprRef {
    return e(this.mod.local.tee(local.index, value, local.type));
  }

  // ---- scalar ops ----

  readonly i32 = {
    const: (n: number): ExprRef => e(this.mod.i32.const(n | 0)),
    add: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.add(a, b)),
    sub: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.sub(a, b)),
    mul: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.mul(a, b)),
    and: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.and(a, b)),
    shl: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.shl(a, b)),
    shrU: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.shr_u(a, b)),
    ltU: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.lt_u(a, b)),
    ltS: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.lt_s(a, b)),
    gtS: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.gt_s(a, b)),
    or: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.or(a, b)),
    ne: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32.ne(a, b)),
    eqz: (a: ExprRef): ExprRef => e(this.mod.i32.eqz(a)),
    load: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.i32.load(offset, 4, ptr, MEMORY)),
    load8U: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.i32.load8_u(offset, 1, ptr, MEMORY)),
    load16U: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.i32.load16_u(offset, 2, ptr, MEMORY)),
    store: (ptr: ExprRef, value: ExprRef, offset = 0): ExprRef => e(this.mod.i32.store(offset, 4, ptr, value, MEMORY)),
    /** f32 -> i32 toward zero, saturating (no trap on NaN or overflow). */
    truncF32: (a: ExprRef): ExprRef => e(this.mod.i32.trunc_s_sat.f32(a)),
  };

  readonly f32 = {
    const: (x: number): ExprRef => e(this.mod.f32.const(x)),
    add: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.add(a, b)),
    mul: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.mul(a, b)),
    max: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.max(a, b)),
    sub: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.sub(a, b)),
    div: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.div(a, b)),
    min: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.min(a, b)),
    abs: (a: ExprRef): ExprRef => e(this.mod.f32.abs(a)),
    copysign: (a: ExprRef, sign: ExprRef): ExprRef => e(this.mod.f32.copysign(a, sign)),
    sqrt: (a: ExprRef): ExprRef => e(this.mod.f32.sqrt(a)),
    lt: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.lt(a, b)),
    gt: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.gt(a, b)),
    eq: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32.eq(a, b)),
    neg: (a: ExprRef): ExprRef => e(this.mod.f32.neg(a)),
    nearest: (a: ExprRef): ExprRef => e(this.mod.f32.nearest(a)),
    /** i32 (signed) -> f32. */
    fromI32: (a: ExprRef): ExprRef => e(this.mod.f32.convert_s.i32(a)),
    /** The f32 whose bits are the i32 `a`. */
    fromBits: (a: ExprRef): ExprRef => e(this.mod.f32.reinterpret(a)),
    load: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.f32.load(offset, 4, ptr, MEMORY)),
    store: (ptr: ExprRef, value: ExprRef, offset = 0): ExprRef => e(this.mod.f32.store(offset, 4, ptr, value, MEMORY)),
  };

  // ---- SIMD128 ----

  readonly v128 = {
    load: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.v128.load(offset, V128_ALIGN, ptr, MEMORY)),
    store: (ptr: ExprRef, value: ExprRef, offset = 0): ExprRef => e(this.mod.v128.store(offset, V128_ALIGN, ptr, value, MEMORY)),
    /** Load one f32/i32 and broadcast it to all four lanes. */
    load32Splat: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.v128.load32_splat(offset, 4, ptr, MEMORY)),
    /** Load one 32-bit value into lane 0, zeroing the others. */
    load32Zero: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.v128.load32_zero(offset, 4, ptr, MEMORY)),
    load64Zero: (ptr: ExprRef, offset = 0): ExprRef => e(this.mod.v128.load64_zero(offset, 8, ptr, MEMORY)),
    load32Lane: (ptr: ExprRef, vec: ExprRef, lane: number, offset = 0): ExprRef =>
      e(this.mod.v128.load32_lane(offset, 4, lane, ptr, vec, MEMORY)),
    store32Lane: (ptr: ExprRef, vec: ExprRef, lane: number, offset = 0): ExprRef =>
      e(this.mod.v128.store32_lane(offset, 4, lane, ptr, vec, MEMORY)),
    store64Lane: (ptr: ExprRef, vec: ExprRef, lane: number, offset = 0): ExprRef =>
      e(this.mod.v128.store64_lane(offset, 8, lane, ptr, vec, MEMORY)),
    zero: (): ExprRef => e(this.mod.v128.const([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
  };

  readonly f32x4 = {
    splat: (x: ExprRef): ExprRef => e(this.mod.f32x4.splat(x)),
    /** A constant vector with `x` in every lane. */
    splatConst: (x: number): ExprRef => {
      const bytes = new Uint8Array(new Float32Array([x, x, x, x]).buffer);
      return e(this.mod.v128.const(bytes));
    },
    add: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.add(a, b)),
    mul: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.mul(a, b)),
    max: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.max(a, b)),
    sub: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.sub(a, b)),
    div: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.div(a, b)),
    extractLane: (v: ExprRef, lane: number): ExprRef => e(this.mod.f32x4.extract_lane(v, lane)),
    /** b < a ? b : a (one instruction on x64; `min` adds NaN and -0 fix-ups). */
    pmin: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.pmin(a, b)),
    /** a < b ? b : a. */
    pmax: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.f32x4.pmax(a, b)),
    abs: (a: ExprRef): ExprRef => e(this.mod.f32x4.abs(a)),
  };

  /** Bitwise v128 ops and i32x4 lane arithmetic (the vector math works on float bits). */
  readonly bits = {
    and: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.v128.and(a, b)),
    or: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.v128.or(a, b)),
    /** Per bit: mask ? a : b. */
    select: (a: ExprRef, b: ExprRef, mask: ExprRef): ExprRef => e(this.mod.v128.bitselect(a, b, mask)),
    i32Add: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32x4.add(a, b)),
    i32Sub: (a: ExprRef, b: ExprRef): ExprRef => e(this.mod.i32x4.sub(a, b)),
    i32Shl: (a: ExprRef, by: number): ExprRef => e(this.mod.i32x4.shl(a, this.mod.i32.const(by))),
    /** 32-bit lanes `lanes` (0-3 from a, 4-7 from b). */
    shuffle32: (a: ExprRef, b: ExprRef, lanes: readonly number[]): ExprRef =>
      e(this.mod.i8x16.shuffle(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]))),
    /** A constant vector with the i32 `lane` in every lane. */
    splatConst: (lane: number): ExprRef => e(this.mod.v128.const(new Uint8Array(new Int32Array([lane, lane, lane, lane]).buffer))),
  };

  /** a * b + c on f32x4: relaxed fused multiply-add when the target has it, else mul + add. */
  madd(a: ExprRef, b: ExprRef, c: ExprRef): ExprRef {
    if (!this.relaxedSimd) return this.f32x4.add(this.f32x4.mul(a, b), c);
    // binaryen.js has no wrapper for relaxed ternaries; the C entry point is exported beside them.
    const api = binaryen as unknown as { _BinaryenSIMDTernary(m: number, op: number, a: number, b: number, c: number): number };
    return e(api._BinaryenSIMDTernary(this.mod.ptr, binaryen.RelaxedMaddVecF32x4, a, b, c));
  }

  /** Horizontal sum of the four f32 lanes. */
  sumLanes(v: Local): ExprRef {
    const lane = (i: number) => this.f32x4.extractLane(this.get(v), i);
    return this.f32.add(this.f32.add(lane(0), lane(1)), this.f32.add(lane(2), lane(3)));
  }
}

/** Locals of one function under construction: parameters first, then allocated vars. */
export class FunctionScope {
  private readonly vars: TypeRef[] = [];
  private labels = 0;

  constructor(readonly m: WasmModule, private readonly params: readonly TypeRef[]) {}

  param(i: number): Local {
    const type = this.params[i];
    if (type === undefined) throw new Error(`no parameter ${i}`);
    return { index: i, type };
  }

  local(type: TypeRef): Local {
    this.vars.push(type);
    return { index: this.params.length + this.vars.length - 1, type };
  }

  /** A label unique within the function. */
  label(hint: string): string {
    return `${hint}${this.labels++}`;
  }

  varTypes(): TypeRef[] {
    return [...this.vars];
  }
}
