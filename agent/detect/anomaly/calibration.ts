/**
 * Turns raw isolation-forest scores into a score comparable across series, in the spirit of
 * Numenta's "anomaly likelihood": how unusual is the recent average raw score given the
 * distribution of raw scores over a longer history? The tail probability Q of a normal fit
 * is mapped to −log10(Q)/10, so 0.5 ≈ a 1-in-100,000 event and 1 ≈ 1-in-10^10. One global
 * sensitivity (threshold) then means the same thing on every series.
 */
export interface CalibrationOptions {
  /** Raw scores kept for the long-term distribution. */
  readonly history: number;
  /** Raw scores averaged for the short-term value compared against it. */
  readonly short: number;
  /** Floor on the long-term std dev, so a perfectly regular series does not alarm on noise. */
  readonly minStd: number;
  /** Use median and MAD (refreshed every 50 points) instead of mean and std: past anomalies do not inflate the spread. */
  readonly robust?: boolean;
}

export class ScoreCalibrator {
  private readonly hist: Float64Array;
  private readonly short: Float64Array;
  private readonly minStd: number;
  private hHead = 0;
  private hCount = 0;
  private sum = 0;
  private sumSq = 0;
  private sHead = 0;
  private sCount = 0;
  private sSum = 0;
  private updates = 0;
  private readonly robust: boolean;
  private sorted: Float64Array = new Float64Array(0);
  private center = 0;
  private spread = 0;

  constructor(opts: CalibrationOptions) {
    this.hist = new Float64Array(Math.max(2, opts.history));
    this.short = new Float64Array(Math.max(1, opts.short));
    this.minStd = opts.minStd;
    this.robust = opts.robust ?? false;
  }

  private refreshRobust(): void {
    const n = this.hCount;
    if (this.sorted.length !== this.hist.length) this.sorted = new Float64Array(this.hist.length);
    const a = this.sorted.subarray(0, n);
    a.set(this.hist.subarray(0, n));
    a.sort();
    const med = a[n >> 1]!;
    for (let i = 0; i < n; i++) a[i] = Math.abs(a[i]! - med);
    a.sort();
    this.center = med;
    this.spread = 1.4826 * a[n >> 1]!;
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
    if (this.robust && this.hCount >= Math.min(this.hist.length, 32)) {
      if (this.updates % 50 === 0 || this.hCount < 64) this.refreshRobust();
      out = tailScore((recent - this.center) / Math.max(this.minStd, this.spread));
    } else if (this.hCount >= Math.min(this.hist.length, 32)) {
      const mean = this.sum / this.hCount;
      const std = Math.max(this.minStd, Math.sqrt(Math.max(0, this.sumSq / this.hCount - mean * mean)));
      out = tailScore((recent - mean) / std);
    }
    // long-term history (after scoring: the current point is judged against the past)
    if (this.hCount === this.hist.length) {
      const old = this.hist[this.hHead]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.hCount++;
    this.hist[this.hHead] = raw;
    this.sum += raw;
    this.sumSq += raw * raw;
    this.hHead = (this.hHead + 1) % this.hist.length;
    // running sums drift in floating point; recompute now and then
    if (++this.updates % 4096 === 0) this.resum();
    return out;
  }

  private resum(): void {
    let s = 0;
    let q = 0;
    for (let i = 0; i < this.hCount; i++) {
      const x = this.hist[i]!;
      s += x;
      q += x * x;
    }
    this.sum = s;
    this.sumSq = q;
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

  /** `excess`: report only the margin by which a score beats the recent maximum (a rising run fires once). */
  constructor(span: number, excess = false) {
    this.span = Math.max(0, Math.floor(span));
    this.excess = excess;
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
    if (!(score > prevMax)) return 0;
    return this.excess && prevMax > 0 ? score - prevMax : score;
  }
}
