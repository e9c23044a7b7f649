// Numeric kernels of the windowed ops: float views of tensors, a blocked matrix product,
// and im2col / col2im through gather maps (conv-geometry.ts).

import { Tensor } from '../../tensor.js';

/** What the kernels compute on: float32 (also for float16/bfloat16/ints) or float64. */
export type FloatArray = Float32Array | Float64Array;

/** A tensor's elements as floats. float32 and float64 data are returned as is, not copied. */
export function floatView(t: Tensor): FloatArray {
  if (t.dtype === 'float64') return t.data as Float64Array;
  return t.toFloat32();
}

/** A zeroed work array of the precision that `dtype` computes in. */
export function workArray(dtype: string, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** Wrap computed floats as a tensor of `dtype`, converting (and rounding) when needed. */
export function tensorFromFloats(dtype: Tensor['dtype'], shape: readonly number[], data: FloatArray): Tensor {
  if ((dtype === 'float32' && data instanceof Float32Array) || (dtype === 'float64' && data instanceof Float64Array)) {
    return new Tensor(dtype, shape, data);
  }
  const t = Tensor.zeros(dtype, shape);
  for (let i = 0; i < data.length; i++) t.set(i, data[i]!);
  return t;
}

/** Columns of the product processed together, so a block of B rows stays in cache. */
const P_BLOCK = 512;

/**
 * out[m, p] += sum_k A[m, k] * B[k, p] for m < M, k < K, p < P. A is addressed with strides
 * (so a transposed A needs no copy); B and out are row-major with row length P. Four rows of
 * out are updated per pass over B, which quarters the traffic on B.
 */
export function gemmAccumulate(
  M: number, K: number, P: number,
  a: FloatArray, aOff: number, aStrideM: number, aStrideK: number,
  b: FloatArray, bOff: number,
  out: FloatArray, outOff: number,
): void {
  for (let p0 = 0; p0 < P; p0 += P_BLOCK) {
    const p1 = Math.min(P, p0 + P_BLOCK);
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const o0 = outOff + m * P;
      const o1 = o0 + P;
      const o2 = o1 + P;
      const o3 = o2 + P;
      const a0 = aOff + m * aStrideM;
      let k = 0;
      // Two reduction steps per pass halve the loads and stores of out per multiply-add.
      for (; k + 2 <= K; k += 2) {
        const ak = a0 + k * aStrideK;
        const ak1 = ak + aStrideK;
        const w00 = a[ak]!;
        const w10 = a[ak + aStrideM]!;
        const w20 = a[ak + 2 * aStrideM]!;
        const w30 = a[ak + 3 * aStrideM]!;
        const w01 = a[ak1]!;
        const w11 = a[ak1 + aStrideM]!;
        const w21 = a[ak1 + 2 * aStrideM]!;
        const w31 = a[ak1 + 3 * aStrideM]!;
        const bk = bOff + k * P;
        const bk1 = bk + P;
        for (let p = p0; p < p1; p++) {
          const v0 = b[bk + p]!;
          const v1 = b[bk1 + p]!;
          out[o0 + p] += w00 * v0 + w01 * v1;
          out[o1 + p] += w10 * v0 + w11 * v1;
          out[o2 + p] += w20 * v0 + w21 * v1;
          out[o3 + p] += w30 * v0 + w31 * v1;
        }
      }
      for (; k < K; k++) {
        const ak = a0 + k * aStrideK;
        const w0 = a[ak]!;
        const w1 = a[ak + aStrideM]!;
        const w2 = a[ak + 2 * aStrideM]!;
        const w3 = a[ak + 3 * aStrideM]!;
        const bk = bOff + k * P;
        for (let p = p0; p < p1; p++) {
          const v = b[bk + p]!;
          out[o0 + p] += w0 * v;
          out[o1 + p] += w1 * v;
          out[o2 + p] += w2 * v;
          out[o3 + p] += w3 * v;
        }
      }
    }
    for (; m < M; m++) {
      const o = outOff + m * P;
      for (let k = 0; k < K; k++) {
        const w = a[aOff + m * aStrideM + k * aStrideK]!;
        if (w === 0) continue;
        const bk = bOff + k * P;
        for (let p = p0; p < p1; p++) out[o + p] += w * b[bk + p]!;
      }
    }
  }
}

/**
 * Gather `channels` input channels (each `inSize` long, starting at `xOff`) into columns:
 * col[(c * K + k) * P + p] = x[c][map[k * P + p]], zero where the map says padding.
 */
export function im2col(x: FloatArray, xOff: number, channels: number, inSize: number, map: Int32Array, col: FloatArray): void {
  const n = map.length;
  for (let c = 0; c < channels; c++) {
    const base = xOff + c * inSize;
    const cOff = c * n;
    for (let i = 0; i < n; i++) {
      const m = map[i]!;
      col[cOff + i] = m >= 0 ? x[base + m]! : 0;
    }
  }
}

/** The adjoint of im2col: y[c][map[k * P + p]] += col[(c * K + k) * P + p]. */
export function col2im(col: FloatArray, channels: number, map: Int32Array, y: FloatArray, yOff: number, outSize: number): void {
  const n = map.length;
  for (let c = 0; c < channels; c++) {
    const base = yOff + c * outSize;
    const cOff = c * n;
    for (let i = 0; i < n; i++) {
      const m = map[i]!;
      if (m >= 0) y[base + m] += col[cOff + i]!;
    }
  }
}
