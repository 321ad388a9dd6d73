/**
 * Turns raw isolation-forest scores into a score comparable across series, in the spirit of
 * Numenta's "anomaly likelihood": how unusual is the recent average raw score given the
 * distribution of raw scores over a longer history? The tail probability Q of a normal fit
 * is mapped to −log10(Q)/10, so 0.5 ≈ a 1-in-100,000 event and 1 ≈ 1-in-10^10. One global
 * sensitivity (threshold) then means the same thing on every series.
 */
export interface CalibrationOptions {
  /** Horizon (points) of the long-term distribution: equal weights up to it, exponential forgetting beyond. */
  readonly history: number;
  /** Raw scores averaged for the short-term value compared against it. */
  readonly short: number;
  /** Floor on the long-term std dev, so a perfectly regular series does not alarm on noise. */
  readonly minStd: number;
}

export interface CalibrationState {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

export class ScoreCalibrator {
  private readonly short: Float64Array;
  private readonly minStd: number;
  private readonly horizon: number;
  private sHead = 0;
  private sCount = 0;
  private sSum = 0;
  private n = 0;
  private mean = 0;
  private variance = 0;

  constructor(opts: CalibrationOptions) {
    this.horizon = Math.max(2, opts.history);
    this.short = new Float64Array(Math.max(1, opts.short));
    this.minStd = opts.minStd;
  }

  /** The long-term distribution, for persistence (the short-term average restarts empty). */
  state(): CalibrationState {
    return { n: this.n, mean: this.mean, variance: this.variance };
  }

  setState(s: CalibrationState): void {
    if (!(s.n >= 0) || !Number.isFinite(s.mean) || !(s.variance >= 0)) throw new Error(`calibration: invalid state ${JSON.stringify(s)}`);
    this.n = s.n;
    this.mean = s.mean;
    this.variance = s.variance;
  }

  /** Adds a raw score and returns the calibrated score in [0, 1] (0 until there is history). */
  update(raw: number): number {
    // short-term mean
    if (this.sCount === this.short.length) this.sSum -= this.short[this.sHead]!;
    else this.sCount++;
    this.short[this.sHead] = raw;
    this.sSum += raw;
    this.sHead = (this.sHead + 1) % this.short.length;
    const recent = this.sSum / this.sCount;

    let out = 0;
    if (this.n >= 32) out = tailScore((recent - this.mean) / Math.max(this.minStd, Math.sqrt(this.variance)));
    // long-term distribution, after scoring (the point is judged against the past): a running
    // mean/variance that weighs all points equally up to `history` points, then forgets
    // exponentially with that horizon; O(1) memory whatever the horizon
    this.n++;
    const alpha = Math.max(1 / this.n, 1 / this.horizon);
    const d = raw - this.mean;
    this.mean += alpha * d;
    this.variance = (1 - alpha) * (this.variance + alpha * d * d);
    return out;
  }
}

/** −log10 of the upper-tail normal probability at z, scaled so 10 decades → 1. */
export function tailScore(z: number): number {
  if (!(z > 0)) return 0;
  const q = 0.5 * erfc(z / Math.SQRT2);
  const s = q > 0 ? -Math.log10(q) / 10 : 1;
  return s >= 1 ? 1 : s;
}

/** Complementary error function (Numerical Recipes erfcc; relative error < 1.2e-7, good in the tail). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Keeps a detection only when it beats every score of the previous `span` points: one event
 * per episode instead of one per point above the threshold (NAB counts each extra point as a
 * false positive; an operator counts each as noise).
 */
export class RepeatSuppressor {
  private readonly vals: Float64Array;
  private readonly idx: Float64Array;
  private qHead = 0;
  private qTail = 0;
  private n = 0;
  private readonly span: number;
  private readonly excess: boolean;

  private readonly decay: number;
  private ref = 0;

  /**
   * `excess`: report only the margin by which a score beats the recent maximum (a rising run fires once).
   * `halfLife` > 0: the reference is instead a maximum that decays by half every `halfLife` points.
   */
  constructor(span: number, excess = false, halfLife = 0) {
    this.span = Math.max(0, Math.floor(span));
    this.excess = excess;
    this.decay = halfLife > 0 ? 2 ** (-1 / halfLife) : 0;
    // monotone deque of (index, value) for the sliding maximum
    this.vals = new Float64Array(this.span + 2);
    this.idx = new Float64Array(this.span + 2);
  }

  /** Returns `score` when it beats the previous `span` scores, else 0. */
  update(score: number): number {
    if (this.span === 0) return score;
    const cap = this.vals.length;
    // drop entries that left the window
    while (this.qHead !== this.qTail && this.idx[this.qHead]! < this.n - this.span) this.qHead = (this.qHead + 1) % cap;
    const prevMax = this.qHead !== this.qTail ? this.vals[this.qHead]! : -Infinity;
    // push current
    while (this.qHead !== this.qTail) {
      const last = (this.qTail + cap - 1) % cap;
      if (this.vals[last]! <= score) this.qTail = last;
      else break;
    }
    this.vals[this.qTail] = score;
    this.idx[this.qTail] = this.n;
    this.qTail = (this.qTail + 1) % cap;
    this.n++;
    return score > prevMax ? score : 0;
  }
}
