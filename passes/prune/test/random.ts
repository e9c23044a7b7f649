// Deterministic random matrices for the pruning tests.

/** A small linear congruential generator: the same numbers on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Standard normal samples (Box-Muller). */
export function gaussian(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return out;
}

/**
 * Correlated inputs X [samples, cols] (a random mixing of independent features, with per-column
 * scales spread over two orders of magnitude, like real activations) and H = X^T X.
 */
export function correlatedInputs(samples: number, cols: number, seed: number): { x: Float32Array; hessian: Float64Array; colSqNorm: Float64Array } {
  const z = gaussian(samples * cols, seed);
  const mix = gaussian(cols * cols, seed + 1);
  const scale = Float32Array.from({ length: cols }, (_, j) => Math.pow(10, (2 * ((j * 7919) % cols)) / cols - 1));
  const x = new Float32Array(samples * cols);
  for (let s = 0; s < samples; s++) {
    for (let j = 0; j < cols; j++) {
      let v = z[s * cols + j]!;
      for (let k = 0; k < cols; k += 5) v += 0.6 * z[s * cols + k]! * mix[k * cols + j]!;
      x[s * cols + j] = v * scale[j]!;
    }
  }
  const hessian = new Float64Array(cols * cols);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < cols; i++) {
      const xi = x[s * cols + i]!;
      for (let j = 0; j < cols; j++) hessian[i * cols + j]! += xi * x[s * cols + j]!;
    }
  }
  const colSqNorm = Float64Array.from({ length: cols }, (_, j) => hessian[j * cols + j]!);
  return { x, hessian, colSqNorm };
}
