// Plain-JS oracles and seeded data for the kernel tests and benchmarks.

import { NO_EPILOGUE, type Activation, type Epilogue } from './epilogue.js';

/**
 * Y[M,N] = X[M,K] @ W[K,N] (+ bias), then the epilogue's activation and residual (R [M,N]),
 * accumulated in float64.
 */
export function matmulRef(
  X: Float32Array, W: Float32Array, M: number, K: number, N: number, bias?: Float32Array, epilogue: Epilogue = NO_EPILOGUE, residual?: Float32Array,
): Float32Array {
  if (epilogue.residual && residual?.length !== M * N) throw new Error(`the residual must have ${M}x${N} values`);
  const Y = new Float32Array(M * N);
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const xv = X[i * K + k]!;
      if (xv === 0) continue;
      for (let j = 0; j < N; j++) row[j]! += xv * W[k * N + j]!;
    }
    for (let j = 0; j < N; j++) {
      const v = activate(epilogue.activation, row[j]! + (bias ? bias[j]! : 0));
      Y[i * N + j] = epilogue.residual ? v + residual![i * N + j]! : v;
    }
  }
  return Y;
}

function activate(a: Activation, x: number): number {
  switch (a) {
    case 'none': return x;
    case 'relu': return Math.max(0, x);
    case 'gelu': return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_tanh': return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  }
}

/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7): an oracle independent of the kernels' fit. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

/** The ReLU epilogue when `on` (the kernel tests' shorthand). */
export function reluIf(on: boolean): Epilogue {
  return on ? { activation: 'relu', residual: false } : NO_EPILOGUE;
}

/** x [C, H, W] inside a zero border of `pad` pixels. */
export function padded(x: Float32Array, C: number, H: number, W: number, pad: number): Float32Array {
  const [Hp, Wp] = [H + 2 * pad, W + 2 * pad];
  const out = new Float32Array(C * Hp * Wp);
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) out.set(x.subarray((c * H + h) * W, (c * H + h + 1) * W), (c * Hp + h + pad) * Wp + pad);
  return out;
}

/** A [R,C] row-major matrix transposed to [C,R]. */
export function transpose(A: Float32Array, R: number, C: number): Float32Array {
  const T = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) T[c * R + r] = A[r * C + c]!;
  return T;
}

/** Deterministic uniform floats in [-1, 1) (mulberry32). */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** Zero the smallest-magnitude fraction `sparsity` of W (unstructured magnitude pruning). */
export function pruneUnstructured(W: Float32Array, sparsity: number): Float32Array {
  const out = Float32Array.from(W);
  const drop = Math.floor(W.length * sparsity);
  if (drop <= 0) return out;
  const order = Array.from(W.keys()).sort((a, b) => Math.abs(W[a]!) - Math.abs(W[b]!));
  for (let i = 0; i < drop; i++) out[order[i]!] = 0;
  return out;
}

/** Keep the 2 largest-magnitude of every 4 consecutive weights along K of W [K,N] (K % 4 == 0). */
export function prune2of4(W: Float32Array, K: number, N: number): Float32Array {
  const out = Float32Array.from(W);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < K; g += 4) {
      const ks = [g, g + 1, g + 2, g + 3].sort((a, b) => Math.abs(W[a * N + n]!) - Math.abs(W[b * N + n]!));
      out[ks[0]! * N + n] = 0;
      out[ks[1]! * N + n] = 0;
    }
  }
  return out;
}

/** Keep the n largest-magnitude of every m consecutive weights along K of W [K,N] (K % m == 0). */
export function pruneNM(W: Float32Array, K: number, N: number, n: number, m: number): Float32Array {
  const out = Float32Array.from(W);
  for (let col = 0; col < N; col++) {
    for (let g = 0; g < K; g += m) {
      const ks = Array.from({ length: m }, (_, i) => g + i).sort((a, b) => Math.abs(W[a * N + col]!) - Math.abs(W[b * N + col]!));
      for (const k of ks.slice(0, m - n)) out[k * N + col] = 0;
    }
  }
  return out;
}

/**
 * Zero the fraction `sparsity` of W [K,N]'s blocks of `rows` consecutive output channels x
 * `cols` consecutive inputs (ragged edge blocks are smaller) with the smallest summed magnitude.
 */
export function pruneBlocks(W: Float32Array, K: number, N: number, rows: number, cols: number, sparsity: number): Float32Array {
  const out = Float32Array.from(W);
  const blockRows = Math.ceil(N / rows);
  const score = new Float64Array(Math.ceil(K / cols) * blockRows);
  const blockOf = (k: number, n: number) => Math.floor(k / cols) * blockRows + Math.floor(n / rows);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) score[blockOf(k, n)]! += Math.abs(W[k * N + n]!);
  const order = Array.from(score.keys()).sort((a, b) => score[a]! - score[b]!);
  const dropped = new Uint8Array(score.length);
  for (let i = 0; i < Math.floor(order.length * sparsity); i++) dropped[order[i]!] = 1;
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) if (dropped[blockOf(k, n)]) out[k * N + n] = 0;
  return out;
}

/** Largest |a-b| / max(1, |b|) over the arrays (relative error with an absolute floor). */
export function maxRelError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}
