export interface QuadraticFit {
  /** Slope at the centre time `tc` (value units per second). */
  readonly slope: number;
  /** Second derivative (value units per second²): 2c of v = a + b·x + c·x². */
  readonly curvature: number;
  /** Curvature divided by its standard error: how sure the bend is (a t statistic). */
  readonly curvatureT: number;
  /** Mean of the times, where `slope` applies. */
  readonly tc: number;
  /**
   * Lag-1 autocorrelation of the residuals (−1..1). Near 0 when the quadratic describes the
   * points up to noise; high when it misses their shape (a staircase, a start-up transient
   * before a straight climb), in which case `curvatureT`, which assumes independent residuals,
   * overstates how sure the bend is.
   */
  readonly residualAutocorrelation: number;
}

/**
 * Least-squares quadratic fit of points (t[i], v[i]), i in [from, from + n), on centred
 * times. Its curvature t statistic separates growth that is bending over (warm-up, cache fill,
 * a leak that stopped) from a straight leak, whose bend is noise. Undefined for n < 4.
 */
export function fitQuadratic(t: Float64Array, v: Float64Array, from: number, n: number): QuadraticFit | undefined {
  if (n < 4) return undefined;
  let tc = 0;
  for (let i = from; i < from + n; i++) tc += t[i]!;
  tc /= n;
  // Normal equations on x = t − tc: sums of x^k and x^k·v.
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let y0 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = from; i < from + n; i++) {
    const x = t[i]! - tc;
    const x2 = x * x;
    const y = v[i]!;
    s1 += x;
    s2 += x2;
    s3 += x2 * x;
    s4 += x2 * x2;
    y0 += y;
    y1 += x * y;
    y2 += x2 * y;
  }
  const s0 = n;
  // Solve [[s0 s1 s2] [s1 s2 s3] [s2 s3 s4]] · [a b c] = [y0 y1 y2] by Cramer's rule.
  const det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
  if (!(Math.abs(det) > 1e-12)) return undefined;
  const a = (y0 * (s2 * s4 - s3 * s3) - s1 * (y1 * s4 - s3 * y2) + s2 * (y1 * s3 - s2 * y2)) / det;
  const b = (s0 * (y1 * s4 - s3 * y2) - y0 * (s1 * s4 - s3 * s2) + s2 * (s1 * y2 - y1 * s2)) / det;
  const c = (s0 * (s2 * y2 - y1 * s3) - s1 * (s1 * y2 - y1 * s2) + y0 * (s1 * s3 - s2 * s2)) / det;
  let rss = 0;
  let lag1 = 0;
  let prev = Number.NaN;
  for (let i = from; i < from + n; i++) {
    const x = t[i]! - tc;
    const r = v[i]! - (a + b * x + c * x * x);
    rss += r * r;
    if (i > from) lag1 += r * prev;
    prev = r;
  }
  // (XᵀX)⁻¹ entry for c: its cofactor over the determinant.
  const invCC = (s0 * s2 - s1 * s1) / det;
  const se = Math.sqrt(Math.max(0, (rss / Math.max(1, n - 3)) * invCC));
  const curvatureT = se > 0 ? c / se : c === 0 ? 0 : Math.sign(c) * Infinity;
  const residualAutocorrelation = rss > 0 ? Math.max(-1, Math.min(1, lag1 / rss)) : 0;
  return { slope: b, curvature: 2 * c, curvatureT, tc, residualAutocorrelation };
}
