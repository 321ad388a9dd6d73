import { medianInPlace } from './median.ts';

export interface RobustTrend {
  /** Median of pairwise slopes (value units per second). */
  slope: number;
  /** Kendall's tau of the points against time (−1..1): how monotone the trend is. */
  tau: number;
}

/**
 * Theil–Sen slope and Kendall's tau of points (t[i], v[i]) for i in [from, from + n), t in
 * seconds and increasing. O(n²) pairs, but n is the number of floor points in the window
 * (~30), and the caller recomputes only when a bucket closes. `scratch` must hold n(n−1)/2.
 *
 * `minLag` (seconds) restricts the slope to pairs at least that far apart (tau still uses every
 * pair). Why: on a staircase (a leak that grows in jumps at irregular times) close pairs often
 * sit on the same step (slope 0) or straddle one jump (a steep slope), while pairs that span
 * several steps measure the long-run rate. On a straight line the long pairs are also the
 * precise ones (slope error ∝ noise / lag), so nothing is lost there. Measured in
 * bench/forecast.ts the gain on stepwise leaks is small (a few points of ETA error). Falls back
 * to every pair when no pair is that far apart.
 */
export function theilSen(t: Float64Array, v: Float64Array, from: number, n: number, scratch: Float64Array, minLag = 0): RobustTrend {
  let m = 0;
  let all = 0;
  let concordance = 0;
  for (let i = from; i < from + n; i++) {
    const ti = t[i]!;
    const vi = v[i]!;
    for (let j = i + 1; j < from + n; j++) {
      const dt = t[j]! - ti;
      if (dt <= 0) continue;
      const dv = v[j]! - vi;
      all++;
      concordance += dv > 0 ? 1 : dv < 0 ? -1 : 0;
      if (dt >= minLag) scratch[m++] = dv / dt;
    }
  }
  if (all === 0) return { slope: 0, tau: 0 };
  if (m === 0) return theilSen(t, v, from, n, scratch, 0);
  return { slope: medianInPlace(scratch, m), tau: concordance / all };
}

/** Ordinary least-squares slope of the points (the "floor-trend" method's fit). */
export function olsSlope(t: Float64Array, v: Float64Array, from: number, n: number): number {
  if (n < 2) return 0;
  let st = 0;
  let sv = 0;
  for (let i = from; i < from + n; i++) {
    st += t[i]!;
    sv += v[i]!;
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (let i = from; i < from + n; i++) {
    const dt = t[i]! - mt;
    num += dt * (v[i]! - mv);
    den += dt * dt;
  }
  return den > 0 ? num / den : 0;
}
