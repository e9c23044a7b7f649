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

/** Largest input step one record holds; a longer gap takes padding records (value 0, step 255). */
export const MAX_STEP = 255;

/**
 * The compact "step" form of SparseRows, 5 bytes per nonzero instead of 6 (value + u16
 * channel), as nm.ts's row steps do. Records come in groups of `group` per output channel:
 * a group's first record holds a one-byte step, the distance in input channels from the
 * previous group's first record (from input 0 for the channel's first group); its other
 * records hold their one-byte offset from the group's first record, so a kernel finds every
 * lane's input with one add after a single dependent step. A gap of 256 or more before a
 * group takes padding groups (values 0, step 255, offsets 0); a nonzero more than 255 inputs
 * past its group's first one starts a new group. Unused records are (0, offset 0). With
 * `group` 1 every record is a plain step from the previous nonzero.
 */
export interface StepRows {
  values: Float32Array;
  steps: Uint8Array;
  /** Records (a multiple of `group`, padding included) per output channel. */
  counts: Int32Array;
}

export function stepRows(rows: SparseRows, group = 1): StepRows {
  // Each channel's groups as lists of sparse indices j; null marks a padding group.
  const channels: (number[] | null)[][] = [];
  for (let n = 0; n < rows.N; n++) {
    const groups: (number[] | null)[] = [];
    let base = 0;
    let open: number[] | undefined;
    for (let j = rows.start[n]!; j < rows.start[n + 1]!; j++) {
      const k = rows.k[j]!;
      if (open && open.length < group && k - rows.k[open[0]!]! <= MAX_STEP) { open.push(j); continue; }
      for (; k - base > MAX_STEP; base += MAX_STEP) groups.push(null);
      base = k;
      groups.push((open = [j]));
    }
    channels.push(groups);
  }
  const counts = Int32Array.from(channels, (g) => g.length * group);
  const total = counts.reduce((s, c) => s + c, 0);
  const values = new Float32Array(total);
  const steps = new Uint8Array(total);
  let at = 0;
  for (const groups of channels) {
    let base = 0;
    for (const g of groups) {
      if (g === null) {
        steps[at] = MAX_STEP;
        base += MAX_STEP;
      } else {
        const first = rows.k[g[0]!]!;
        steps[at] = first - base;
        base = first;
        g.forEach((j, lane) => {
          values[at + lane] = rows.values[j]!;
          if (lane > 0) steps[at + lane] = rows.k[j]! - first;
        });
      }
      at += group;
    }
  }
  return { values, steps, counts };
}

/** Bytes of one group of the one-token form: four f32 values, then their four one-byte offsets. */
export const OFFSET_GROUP_BYTES = 20;

/** Largest offset one lane holds, in input channels. */
const MAX_OFFSET = 255;

/**
 * The one-token kernel's form of SparseRows (spmv.ts): each output channel's nonzeros in groups
 * of 4, each group 20 bytes in one stream (four f32 values, then four one-byte input offsets:
 * 5 bytes per nonzero). Every offset counts inputs from the previous group's last lane (from
 * input 0 for a channel's first group), so a kernel finds all four inputs with one add each
 * from one running position and then moves that position to lane 3: no lane waits on another.
 * A group ends early when its channel ends or the next nonzero lies more than 255 inputs past
 * that position; its unfilled lanes repeat the last filled lane's offset with value 0. A gap
 * past 255 takes groups of four 255 offsets (values 0) that only move the position on.
 */
export interface OffsetGroups {
  records: Uint8Array;
  /** Groups per output channel. */
  groups: Int32Array;
}

export function offsetGroups(rows: SparseRows): OffsetGroups {
  const values: number[] = [];
  const offsets: number[] = [];
  const groups = new Int32Array(rows.N);
  const put = (offset: number, value: number): void => { offsets.push(offset); values.push(value); };
  for (let n = 0; n < rows.N; n++) {
    const end = rows.start[n + 1]!;
    let last = 0;
    for (let j = rows.start[n]!; j < end; groups[n]!++) {
      if (rows.k[j]! - last > MAX_OFFSET) {
        for (let lane = 0; lane < 4; lane++) put(MAX_OFFSET, 0);
      } else {
        let lane = 0;
        for (; lane < 4 && j < end && rows.k[j]! - last <= MAX_OFFSET; lane++, j++) put(rows.k[j]! - last, rows.values[j]!);
        for (; lane < 4; lane++) put(offsets[offsets.length - 1]!, 0);
      }
      last += offsets[offsets.length - 1]!;
    }
  }
  const records = new Uint8Array((values.length / 4) * OFFSET_GROUP_BYTES);
  const f32 = new Float32Array(records.buffer);
  for (let i = 0; i < values.length; i++) {
    const [group, lane] = [Math.floor(i / 4), i % 4];
    f32[(group * OFFSET_GROUP_BYTES) / 4 + lane] = values[i]!;
    records[group * OFFSET_GROUP_BYTES + 16 + lane] = offsets[i]!;
  }
  return { records, groups };
}
