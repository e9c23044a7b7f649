// Scalar functions JavaScript's Math lacks, accurate to double precision so float64 ops and
// the float32 rounding after them both match numpy.

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*...*(2n+1)). Every term is positive,
 * so unlike the Taylor series there is no cancellation; beyond |x| = 6 erf is 1 in float64.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  const x2 = ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

/** Round to nearest, ties to even (ONNX Round, numpy.round). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  // Math.round sends ties up; a tie sent to an odd integer goes back down by one.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

export function sigmoid(x: number): number {
  // Split by sign so exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + exp(x)) without overflow for large x. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Shortest decimal text that reads back as the same float32 (numpy's str of a float32). */
export function float32ToString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'INF' : '-INF';
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

/** Parse a number as ONNX Cast from string does: decimal text, NaN, INF, +INF, -INF. */
export function parseNumber(s: string): number {
  const t = s.trim();
  const u = t.toUpperCase();
  if (u === 'NAN' || u === '+NAN' || u === '-NAN') return NaN;
  if (u === 'INF' || u === '+INF' || u === 'INFINITY' || u === '+INFINITY') return Infinity;
  if (u === '-INF' || u === '-INFINITY') return -Infinity;
  const v = Number(t);
  return Number.isNaN(v) ? parseFloat(t) : v;
}
