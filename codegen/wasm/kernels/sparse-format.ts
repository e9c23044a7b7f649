// Sparse weight layouts built at compile time from a dense W [K,N] (y = x @ W). All of them
// list the nonzeros per output channel n (a row of W^T), the order the sparse kernels walk.

export interface SparseRows {
  K: number;
  N: number;
  /** Nonzeros of output channel n: entries start[n] .. start[n+1]-1. */
  start: Int32Array;
  /** Input channel k of each nonzero, ascending within a channel. */
  k: Int32Array;
  values: Float32Array;
}

/** The nonzeros of W [K,N] grouped by output channel (CSR of W^T). */
export function sparseRows(W: Float32Array, K: number, N: number): SparseRows {
  const start = new Int32Array(N + 1);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) if (W[k * N + n] !== 0) start[n + 1]!++;
  for (let n = 0; n < N; n++) start[n + 1]! += start[n]!;
  const nnz = start[N]!;
  const ks = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  const fill = start.slice(0, N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const v = W[k * N + n]!;
      if (v === 0) continue;
      const at = fill[n]!++;
      ks[at] = k;
      values[at] = v;
    }
  }
  return { K, N, start, k: ks, values };
}

/** Bytes in `parts` laid out one after another, each aligned to 16 bytes. */
export class BlobBuilder {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  /** Append a typed array; returns its byte offset in the blob. */
  add(data: ArrayBufferView): number {
    const at = this.size;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.parts.push(bytes);
    this.size = Math.ceil((at + bytes.length) / 16) * 16;
    this.offsets.push(at);
    return at;
  }

  private readonly offsets: number[] = [];

  build(): Uint8Array {
    const out = new Uint8Array(this.size);
    this.parts.forEach((p, i) => out.set(p, this.offsets[i]!));
    return out;
  }
}
