// One time step of the RNN, GRU and LSTM cells for one batch row, in float64 (ONNX's equations;
// gate orders: GRU z, r, h; LSTM i, o, f, c). The input projection x_t W^T + Wb is computed for
// all steps beforehand (rnn.ts); a step adds the recurrence h_{t-1} R^T + Rb and the gates.

import type { Activation } from './rnn-activations.js';

/** One direction's recurrence weights and settings. */
export interface CellParams {
  readonly hidden: number;
  /** R of this direction, [gates * hidden, hidden] row-major. */
  readonly r: Float64Array;
  /** Rb of this direction, [gates * hidden]. */
  readonly rb: Float64Array;
  /** LSTM peepholes [3 * hidden] (i, o, f); zeros when absent. */
  readonly p: Float64Array;
  /** The direction's activation functions (f, g, h). */
  readonly acts: readonly Activation[];
  /** Bounds the inputs of the activation functions; Infinity when there is no `clip`. */
  readonly clip: number;
  readonly linearBeforeReset: boolean;
  readonly inputForget: boolean;
}

/**
 * Advance one row: `xw` holds x_t W^T + Wb at `off` (gates * hidden values); `h` and `c` (LSTM
 * only) hold the previous state and receive the new one.
 */
export type CellStep = (p: CellParams, xw: Float64Array, off: number, h: Float64Array, c: Float64Array) => void;

/** (R h)[row] + Rb[row] for one row of R. */
function recur(p: CellParams, row: number, h: Float64Array): number {
  const n = p.hidden;
  const base = row * n;
  let s = p.rb[row]!;
  for (let k = 0; k < n; k++) s += p.r[base + k]! * h[k]!;
  return s;
}

const bound = (p: CellParams, x: number) => (x > p.clip ? p.clip : x < -p.clip ? -p.clip : x);

/** H_t = f(x W^T + Wb + H R^T + Rb). */
export const rnnStep: CellStep = (p, xw, off, h) => {
  const n = p.hidden;
  const f = p.acts[0]!;
  const next = new Float64Array(n);
  for (let j = 0; j < n; j++) next[j] = f(bound(p, xw[off + j]! + recur(p, j, h)));
  h.set(next);
};

/**
 * z = f(..z), r = f(..r); candidate g(x Wh + (r * H) Rh + Rbh + Wbh), or with
 * linear_before_reset g(x Wh + Wbh + r * (H Rh + Rbh)); H_t = (1 - z) * candidate + z * H.
 */
export const gruStep: CellStep = (p, xw, off, h) => {
  const n = p.hidden;
  const [f, g] = p.acts as [Activation, Activation];
  const z = new Float64Array(n);
  const r = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    z[j] = f(bound(p, xw[off + j]! + recur(p, j, h)));
    r[j] = f(bound(p, xw[off + n + j]! + recur(p, n + j, h)));
  }
  const next = new Float64Array(n);
  const reset = p.linearBeforeReset ? undefined : h.map((v, k) => v * r[k]!);
  for (let j = 0; j < n; j++) {
    const row = 2 * n + j;
    const rec = reset ? recur(p, row, reset) : r[j]! * recur(p, row, h);
    const cand = g(bound(p, xw[off + row]! + rec));
    next[j] = (1 - z[j]!) * cand + z[j]! * h[j]!;
  }
  h.set(next);
};

/**
 * i = f(.. + Pi * C), f = f(.. + Pf * C) (or 1 - i with input_forget), c~ = g(..),
 * C_t = f * C + i * c~, o = f(.. + Po * C_t), H_t = o * h(C_t).
 */
export const lstmStep: CellStep = (p, xw, off, h, c) => {
  const n = p.hidden;
  const [f, g, act] = p.acts as [Activation, Activation, Activation];
  const nextH = new Float64Array(n);
  const nextC = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const cPrev = c[j]!;
    const i = f(bound(p, xw[off + j]! + recur(p, j, h) + p.p[j]! * cPrev));
    const fg = p.inputForget ? 1 - i : f(bound(p, xw[off + 2 * n + j]! + recur(p, 2 * n + j, h) + p.p[2 * n + j]! * cPrev));
    const cand = g(bound(p, xw[off + 3 * n + j]! + recur(p, 3 * n + j, h)));
    const cNew = fg * cPrev + i * cand;
    const o = f(bound(p, xw[off + n + j]! + recur(p, n + j, h) + p.p[n + j]! * cNew));
    nextC[j] = cNew;
    nextH[j] = o * act(cNew);
  }
  h.set(nextH);
  c.set(nextC);
};
