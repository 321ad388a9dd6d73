import type { Envelope, ForecastMethod } from './config.ts';
import { HoltTrend } from './holt.ts';
import { selectInPlace } from './median.ts';
import { fitQuadratic, type QuadraticFit } from './quadratic.ts';
import { olsSlope, theilSen } from './theil-sen.ts';

export interface ForecasterOptions {
  /** History the trend is fitted on, ms. */
  readonly windowMs: number;
  /** Width of the min/max buckets, ms; should span at least one GC cycle. */
  readonly bucketMs: number;
  /** Floor points (closed buckets) needed before forecasting. */
  readonly minPoints: number;
  readonly method: ForecastMethod;
  readonly envelope: Envelope;
  /**
   * How significant (|t| of the quadratic term of the floor) a downward bend must be for
   * growth to count as saturating and be projected to its asymptote rather than linearly.
   */
  readonly curvatureSignificance: number;
  /** `up`: exhaustion when the value grows to the threshold (memory); `down`: when it falls. */
  readonly direction?: 'up' | 'down';
  /** Fraction of the oldest floor points left out of the bend test (default 0). */
  readonly bendSkip?: number;
  /** Fraction of the window whose raw samples give the current level (default 1/3). */
  readonly recentFraction?: number;
}

/** −1 improving (moving away from exhaustion), 0 stable, 1 degrading (moving toward it). */
export type TrendClass = -1 | 0 | 1;

export interface Forecast {
  /** Unix ms the forecast is for. */
  readonly at: number;
  /** Current level of the forecast envelope (peak or floor), in the series' unit. */
  readonly level: number;
  /** Trend slope in the series' unit per second (its sign is the series', not the direction's). */
  readonly slope: number;
  readonly trend: TrendClass;
  /** 0..1: how monotone the trend is (Kendall's tau) times how much of the window has data. */
  readonly confidence: number;
  /** The absolute value whose crossing is forecast (threshold × limit). */
  readonly thresholdValue: number;
  /** Seconds until the envelope reaches thresholdValue; undefined when not heading there. */
  readonly timeToThreshold: number | undefined;
  /** Seconds until the series reaches zero (queues draining); only when asked and improving. */
  readonly timeToDrain: number | undefined;
  /** Growth that is slowing down (warm-up ramp, cache filling) and projected to an asymptote. */
  readonly saturating: boolean;
  /** Where a saturating series levels off (series' unit); undefined otherwise. */
  readonly asymptote: number | undefined;
  /** Floor points the fit used. */
  readonly points: number;
}

/**
 * Forecasts when one series reaches a threshold of its limit, incrementally: raw samples are
 * reduced to per-bucket minima (the post-GC floor) and maxima (the sawtooth peaks) as they
 * arrive, and the trend is refitted only when a bucket closes. The floor carries the trend
 * (a GC sawtooth's drops cannot fool it); the envelope level says where the series is now.
 * Pure: no I/O, no clock, usable from tests and benchmarks.
 */
export class Forecaster {
  private readonly opts: ForecasterOptions;
  private readonly dir: 1 | -1;
  private readonly capacity: number;
  private readonly windowS: number;
  private readonly bucketS: number;
  // Closed buckets, oldest first; times in seconds since `origin`, values times `dir`.
  private readonly minT: Float64Array;
  private readonly minV: Float64Array;
  private readonly maxT: Float64Array;
  private readonly maxV: Float64Array;
  private count = 0;
  private readonly scratch: Float64Array;
  private origin = Number.NaN;
  // The open bucket.
  private openStart = Number.NaN;
  private openMin = Infinity;
  private openMinT = 0;
  private openMax = -Infinity;
  private openMaxT = 0;
  // Cached fit, recomputed when the set of closed buckets changes.
  private dirty = true;
  private fitSlope = 0;
  private fitTau = 0;
  private bend: QuadraticFit | undefined;
  // Raw-sample estimators kept for comparison (methods `holt` and `linear`).
  private readonly holt: HoltTrend | undefined;
  // Raw samples of the recent segment (the whole window for method `linear`).
  private rawT = new Float64Array(64);
  private rawV = new Float64Array(64);
  private rawScratch = new Float64Array(64);
  private readonly recentS: number;
  private readonly rawHoldS: number;
  private rawStart = 0;
  private rawEnd = 0;
  private lastT = -Infinity;

  constructor(opts: ForecasterOptions) {
    if (!(opts.bucketMs > 0) || !(opts.windowMs >= opts.bucketMs)) {
      throw new Error(`forecaster: window (${opts.windowMs} ms) must be at least one bucket (${opts.bucketMs} ms)`);
    }
    this.opts = opts;
    this.dir = opts.direction === 'down' ? -1 : 1;
    this.windowS = opts.windowMs / 1000;
    this.bucketS = opts.bucketMs / 1000;
    this.capacity = Math.ceil(opts.windowMs / opts.bucketMs) + 2;
    this.minT = new Float64Array(this.capacity);
    this.minV = new Float64Array(this.capacity);
    this.maxT = new Float64Array(this.capacity);
    this.maxV = new Float64Array(this.capacity);
    this.scratch = new Float64Array((this.capacity * (this.capacity - 1)) / 2 + 1);
    this.holt = opts.method === 'holt' ? new HoltTrend() : undefined;
    this.recentS = Math.max(3 * this.bucketS, this.windowS * (opts.recentFraction ?? 1 / 3));
    this.rawHoldS = opts.method === 'linear' ? this.windowS : this.recentS;
  }

  /** Floor points currently held. */
  get points(): number {
    return this.count;
  }

  /** Feeds one sample (Unix ms); samples must come in time order (older ones are ignored). */
  push(tMs: number, value: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(tMs) || tMs <= this.lastT) return;
    this.lastT = tMs;
    if (this.count > 0 && this.dir === 1 && value >= 0 && value < 0.5 * this.recentFloorMin()) this.reset();
    if (Number.isNaN(this.origin)) this.origin = tMs;
    const t = (tMs - this.origin) / 1000;
    const v = value * this.dir;
    if (Number.isNaN(this.openStart)) {
      this.openStart = t;
    } else if (t >= this.openStart + this.bucketS) {
      this.closeBucket();
      // After a gap, restart the grid at this sample rather than emitting empty buckets.
      this.openStart = t >= this.openStart + 2 * this.bucketS ? t : this.openStart + this.bucketS;
    }
    if (v < this.openMin) {
      this.openMin = v;
      this.openMinT = t;
    }
    if (v > this.openMax) {
      this.openMax = v;
      this.openMaxT = t;
    }
    this.holt?.push(t, v);
    this.pushRaw(t, v);
  }

  /**
   * The forecast at `nowMs` against `limit` (same unit as the series); `threshold` is the
   * fraction of the limit whose crossing is forecast. Undefined until enough history.
   */
  forecast(nowMs: number, limit: number, threshold: number, opts?: { drain?: boolean }): Forecast | undefined {
    if (Number.isNaN(this.origin) || !(limit > 0)) return undefined;
    const now = (nowMs - this.origin) / 1000;
    this.prune(now - this.windowS, now - this.rawHoldS);
    const n = this.count;
    if (n < this.opts.minPoints) return undefined;
    if (this.dirty) this.refit();

    const dir = this.dir;
    // In direction space the series always exhausts upward.
    const thr = dir === 1 ? threshold * limit : -(1 - threshold) * limit;
    const slope = this.slope();

    // Growth that bends over (warm-up ramp, cache filling, a leak that stopped): the floor's
    // quadratic term is significantly negative. Model it as an exponential approach to an
    // asymptote with time constant τ = −slope / curvature (exact for c − d·e^(−t/τ)).
    let saturating = false;
    let tauS = Infinity;
    let bNow = slope;
    let projSlope = slope;
    if (this.bend && slope > 0 && this.bend.curvature < 0 && this.bend.curvatureT <= -this.opts.curvatureSignificance) {
      saturating = true;
      const b = this.bend.slope;
      if (b <= 0) {
        bNow = 0;
        tauS = 0;
        projSlope = 0;
      } else {
        tauS = -b / this.bend.curvature;
        bNow = b * Math.exp(-(now - this.bend.tc) / tauS);
        projSlope = Math.min(slope, b * Math.exp(-(now - this.recentS / 2 - this.bend.tc) / tauS));
      }
    }

    // Where the series is now: the recent raw samples, detrended to `now`. A GC sawtooth makes
    // them roughly uniform between floor and peak, so the interdecile range estimates the
    // sawtooth's height (0.8 of it) almost free of the measurement noise that biases the
    // extremes; floor and peak are the median minus / plus half of that height.
    const level = this.recentLevel(now, projSlope, this.opts.envelope);

    const asymptote = saturating ? level + bNow * tauS : undefined;
    // Significance of the monotone trend (Mann–Kendall: |tau| ≥ 2 standard deviations).
    const tauSd = Math.sqrt((2 * (2 * n + 5)) / (9 * n * (n - 1)));
    const tauMin = Math.max(0.3, 2 * tauSd);
    // Material: the trend moves the series by at least 1 % of the limit per window.
    const material = Math.abs(slope) * this.windowS >= 0.01 * limit;
    let trend: TrendClass = 0;
    if (material && this.fitTau >= tauMin && slope > 0 && !(asymptote !== undefined && asymptote < thr)) trend = 1;
    else if (material && this.fitTau <= -tauMin && slope < 0) trend = -1;

    let timeToThreshold: number | undefined;
    if (trend === 1) {
      const remaining = thr - level;
      if (remaining <= 0) timeToThreshold = 0;
      else if (!saturating) timeToThreshold = remaining / slope;
      else if (bNow > 0 && bNow * tauS > remaining) timeToThreshold = -tauS * Math.log(1 - remaining / (bNow * tauS));
    }
    let timeToDrain: number | undefined;
    if (opts?.drain && trend === -1 && dir === 1) timeToDrain = Math.max(0, level) / -slope;

    const coverage = Math.min(1, (n * this.bucketS) / (this.windowS / 2));
    const confidence = Math.max(0, Math.min(1, Math.abs(this.fitTau) * coverage * (saturating ? 0.5 : 1)));
    return {
      at: nowMs,
      level: level * dir,
      slope: slope * dir,
      trend,
      confidence,
      thresholdValue: thr * dir,
      timeToThreshold,
      timeToDrain,
      saturating,
      asymptote: asymptote === undefined ? undefined : asymptote * dir,
      points: n,
    };
  }

  /** The slope (direction space, per second) of the configured method. */
  private slope(): number {
    switch (this.opts.method) {
      case 'holt':
        return this.holt?.trend ?? 0;
      case 'linear':
        return this.rawSlope();
      default:
        return this.fitSlope;
    }
  }

  private refit(): void {
    const n = this.count;
    const all = theilSen(this.minT, this.minV, 0, n, this.scratch);
    this.fitTau = all.tau;
    this.fitSlope = this.opts.method === 'floor-trend' ? olsSlope(this.minT, this.minV, 0, n) : all.slope;
    // Optionally the bend is judged without the oldest points (a young series' own start-up).
    const skip = Math.floor(n * (this.opts.bendSkip ?? 0));
    this.bend = this.opts.method === 'theil-sen' || this.opts.method === 'floor-trend' ? fitQuadratic(this.minT, this.minV, skip, n - skip) : undefined;
    this.dirty = false;
  }

  /** Lowest floor point of the last few buckets. */
  private recentFloorMin(): number {
    let m = Infinity;
    for (let i = Math.max(0, this.count - 5); i < this.count; i++) if (this.minV[i]! < m) m = this.minV[i]!;
    return m;
  }

  /**
   * Forgets all history. Called when a sample falls below half the recent floor: no GC drop
   * goes under the floor, so the app restarted (or the queue was purged) and the old trend
   * says nothing about the new process.
   */
  private reset(): void {
    this.count = 0;
    this.openStart = Number.NaN;
    this.openMin = Infinity;
    this.openMax = -Infinity;
    this.rawStart = 0;
    this.rawEnd = 0;
    this.dirty = true;
    this.holt?.reset();
  }

  private closeBucket(): void {
    if (this.openMin === Infinity) return;
    if (this.count === this.capacity) this.shift(1);
    const i = this.count++;
    this.minT[i] = this.openMinT;
    this.minV[i] = this.openMin;
    this.maxT[i] = this.openMaxT;
    this.maxV[i] = this.openMax;
    this.openMin = Infinity;
    this.openMax = -Infinity;
    this.dirty = true;
  }

  private prune(from: number, rawFrom: number): void {
    let drop = 0;
    while (drop < this.count && this.minT[drop]! < from) drop++;
    if (drop > 0) this.shift(drop);
    while (this.rawStart < this.rawEnd && this.rawT[this.rawStart]! < rawFrom) this.rawStart++;
  }

  /**
   * Floor or peak now, from the recent raw samples detrended to `now`: their median minus /
   * plus half the sawtooth's height. A GC sawtooth spreads samples roughly uniformly between
   * floor and peak, so the interdecile range is 0.8 of its height and, unlike minima and
   * maxima, nearly free of measurement noise (measured: per-bucket heights or extremes gave
   * 2–3× larger ETA errors at 60 s in bench/forecast.ts).
   */
  private recentLevel(now: number, slope: number, envelope: Envelope): number {
    const m = this.rawEnd - this.rawStart;
    if (m === 0) return Number.NaN;
    const y = this.scratchFor(m);
    for (let i = 0; i < m; i++) {
      const k = this.rawStart + i;
      y[i] = this.rawV[k]! + slope * Math.min(now - this.rawT[k]!, this.windowS);
    }
    // Nearest-rank deciles and median by selection (no sort): the median partitions the array,
    // so each decile is then selected within its own side.
    const k50 = (m - 1) >> 1;
    const q50 = selectInPlace(y, 0, m - 1, k50);
    const q10 = selectInPlace(y, 0, k50, Math.round(0.1 * (m - 1)));
    const q90 = selectInPlace(y, k50, m - 1, Math.round(0.9 * (m - 1)));
    const half = (q90 - q10) / 1.6;
    return envelope === 'peak' ? q50 + half : q50 - half;
  }

  private scratchFor(m: number): Float64Array {
    if (this.rawScratch.length < Math.max(m, this.capacity)) this.rawScratch = new Float64Array(Math.max(m, this.capacity, this.rawT.length));
    return this.rawScratch;
  }

  private shift(k: number): void {
    this.minT.copyWithin(0, k, this.count);
    this.minV.copyWithin(0, k, this.count);
    this.maxT.copyWithin(0, k, this.count);
    this.maxV.copyWithin(0, k, this.count);
    this.count -= k;
    this.dirty = true;
  }

  private pushRaw(t: number, v: number): void {
    let rt = this.rawT;
    let rv = this.rawV;
    if (this.rawEnd === rt.length) {
      const live = this.rawEnd - this.rawStart;
      if (this.rawStart < rt.length / 2) {
        const nt = new Float64Array(rt.length * 2);
        const nv = new Float64Array(rt.length * 2);
        nt.set(rt.subarray(this.rawStart, this.rawEnd));
        nv.set(rv.subarray(this.rawStart, this.rawEnd));
        this.rawT = rt = nt;
        this.rawV = rv = nv;
      } else {
        rt.copyWithin(0, this.rawStart, this.rawEnd);
        rv.copyWithin(0, this.rawStart, this.rawEnd);
      }
      this.rawStart = 0;
      this.rawEnd = live;
    }
    rt[this.rawEnd] = t;
    rv[this.rawEnd] = v;
    this.rawEnd++;
  }

  private rawSlope(): number {
    return olsSlope(this.rawT, this.rawV, this.rawStart, this.rawEnd - this.rawStart);
  }
}
