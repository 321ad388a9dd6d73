import type { Envelope, ForecastMethod } from './config.ts';
import { HoltTrend } from './holt.ts';
import { medianInPlace, selectInPlace } from './median.ts';
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
  /** Fraction of the window whose raw samples give the current level (default 1/3). */
  readonly recentFraction?: number;
  /**
   * The trend slope uses only pairs of floor points at least this fraction of the points' time
   * span apart (default 0.5): the long-run rate, steps included (see theilSen).
   */
  readonly slopeLagFraction?: number;
  /**
   * Consecutive fits (bucket closes) that must find the series degrading before a time to
   * exhaustion is published (default 2). One bucket's noise can swing a fit (a bursty plateau
   * near its limit produced single-bucket ETAs under 30 min); a real leak holds from fit to fit.
   */
  readonly confirmFits?: number;
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
  /** Counts refits; with degradingFits, how many consecutive fits found the series degrading. */
  private fitId = 0;
  private streakFitId = -1;
  private degradingFits = 0;
  private fitSlope = 0;
  private fitTau = 0;
  private bend: QuadraticFit | undefined;
  /** The bend's curvature t statistic, discounted for autocorrelated residuals. */
  private bendT = 0;
  // Sawtooth height (peak − floor) estimated at each bucket close, aligned with the buckets.
  private readonly heightV: Float64Array;
  private readonly startT: Float64Array;
  private readonly heightScratch: Float64Array;
  private height = Number.NaN;
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
    this.heightV = new Float64Array(this.capacity);
    this.startT = new Float64Array(this.capacity);
    this.heightScratch = new Float64Array(this.capacity);
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
    if (this.bend && slope > 0 && this.bend.curvature < 0 && this.bendT <= -this.opts.curvatureSignificance) {
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

    // Where the series is now: the recent raw samples, detrended to `now` (recentLevel).
    let level = this.recentLevel(now, projSlope, this.opts.envelope);

    let asymptote = saturating ? level + bNow * tauS : undefined;
    // Bending over, but toward an asymptote past the threshold: the bend does not decide whether
    // it gets there (and a leak's floor wobbles into a weak bend now and then, which would
    // stretch the ETA), so the straight line, the earlier of the two forecasts, is used.
    let linear = !saturating;
    if (asymptote !== undefined && asymptote >= thr) {
      linear = true;
      if (projSlope !== slope) level = this.recentLevel(now, slope, this.opts.envelope);
      asymptote = Math.max(asymptote, level);
    }
    // Significance of the monotone trend (Mann–Kendall: |tau| ≥ 2 standard deviations).
    const tauSd = Math.sqrt((2 * (2 * n + 5)) / (9 * n * (n - 1)));
    const tauMin = Math.max(0.3, 2 * tauSd);
    // Material: the trend moves the series by at least 1 % of the limit per window.
    const material = Math.abs(slope) * this.windowS >= 0.01 * limit;
    let trend: TrendClass = 0;
    if (material && this.fitTau >= tauMin && slope > 0 && !(asymptote !== undefined && asymptote < thr)) trend = 1;
    else if (material && this.fitTau <= -tauMin && slope < 0) trend = -1;

    if (this.fitId !== this.streakFitId) {
      this.streakFitId = this.fitId;
      this.degradingFits = trend === 1 ? this.degradingFits + 1 : 0;
    } else if (trend !== 1) this.degradingFits = 0;
    const confirmed = this.degradingFits >= (this.opts.confirmFits ?? 2);

    let timeToThreshold: number | undefined;
    if (trend === 1 && confirmed) {
      const remaining = thr - level;
      if (remaining <= 0) timeToThreshold = 0;
      else if (linear) timeToThreshold = remaining / slope;
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
    this.fitId++;
    const n = this.count;
    const span = n > 1 ? this.minT[n - 1]! - this.minT[0]! : 0;
    const minLag = span * (this.opts.slopeLagFraction ?? 0.5);
    const all = theilSen(this.minT, this.minV, 0, n, this.scratch, minLag);
    this.fitTau = all.tau;
    this.fitSlope = this.opts.method === 'floor-trend' ? olsSlope(this.minT, this.minV, 0, n) : all.slope;
    // A leak lifts the peaks with the floor; a bursty app warming up fills the bottom of its
    // swings under peaks that stay put. The slower of the two (in the direction of exhaustion)
    // is the growth both agree on.
    if (this.opts.method === 'theil-sen' && this.fitSlope > 0) {
      const peaks = theilSen(this.maxT, this.maxV, 0, n, this.scratch, minLag);
      if (peaks.slope < this.fitSlope) this.fitSlope = Math.max(0, peaks.slope);
    }
    this.bend = this.opts.method === 'theil-sen' || this.opts.method === 'floor-trend' ? fitQuadratic(this.minT, this.minV, 0, n) : undefined;
    // The t statistic assumes independent residuals. When the quadratic misses the shape of the
    // floor (a staircase's flats, a start-up transient before a straight climb) neighbouring
    // residuals share a sign and the bend looks far surer than it is: discount it by the usual
    // AR(1) variance inflation, (1 + ρ) / (1 − ρ).
    this.bendT = this.bend ? discountedT(this.bend) : 0;
    // An app's own start-up (a steep climb to its working size) bends the whole window's floor,
    // but a leak that follows it is straight: when the newer two thirds of the floor do not bend
    // at all and still climb at half the window's rate or more, the bend is in the past and the
    // growth is not levelling off. (Growth that is levelling off keeps bending, or goes flat.)
    const recent = Math.ceil((2 * n) / 3);
    if (this.bendT < 0 && recent >= 6 && recent < n) {
      const r = fitQuadratic(this.minT, this.minV, n - recent, recent);
      // (against the floor's own slope: the bend and this check are both about the floor)
      if (r && r.curvatureT >= 0 && r.slope >= 0.5 * all.slope && all.slope > 0) this.bendT = 0;
    }
    this.remeasureHeights(this.slope());
    this.updateHeight();
    this.dirty = false;
  }

  /**
   * The sawtooth height over the window: the median of the per-bucket heights (spanHeight).
   * The height is a property of the allocation churn, not of the trend, so pooling it over the
   * window is nearly free of bias and several times less noisy than one recent estimate (which
   * the level would otherwise inherit); per bucket, so that a jump in the series (a stepwise
   * leak) inflates one bucket's estimate, not the pooled one.
   */
  private updateHeight(): void {
    let k = 0;
    for (let i = 0; i < this.count; i++) if (!Number.isNaN(this.heightV[i]!)) this.heightScratch[k++] = this.heightV[i]!;
    this.height = k > 0 ? medianInPlace(this.heightScratch, k) : Number.NaN;
  }

  /**
   * Height of the sawtooth in the raw samples with times in [from, to), detrended with `slope`:
   * their interdecile range scaled by the expected spread of those order statistics of a
   * sawtooth sampled over whole cycles, m / (k90 − k10) (≈ 1 / 0.8 for many samples).
   */
  private spanHeight(from: number, to: number, slope: number): number {
    let a = this.rawEnd;
    while (a > this.rawStart && this.rawT[a - 1]! >= from) a--;
    let b = a;
    while (b < this.rawEnd && this.rawT[b]! < to) b++;
    const m = b - a;
    if (m < 5) return Number.NaN;
    const y = this.scratchFor(m);
    for (let i = 0; i < m; i++) y[i] = this.rawV[a + i]! + slope * (to - this.rawT[a + i]!);
    const k10 = Math.round(0.1 * (m - 1));
    const k90 = Math.round(0.9 * (m - 1));
    const q10 = selectInPlace(y, 0, m - 1, k10);
    const q90 = selectInPlace(y, k10, m - 1, k90);
    return ((q90 - q10) * m) / (k90 - k10);
  }

  /**
   * Re-measures the heights of the buckets whose raw samples are still held with the slope
   * just fitted: a bucket closed before there was a fit (or under a stale one) was detrended
   * wrongly, and on a fast leak that inflates its height by slope × bucket.
   */
  private remeasureHeights(slope: number): void {
    const oldest = this.rawEnd > this.rawStart ? this.rawT[this.rawStart]! : Infinity;
    for (let i = this.count - 1; i >= 0 && this.startT[i]! >= oldest; i--) {
      const to = i + 1 < this.count ? this.startT[i + 1]! : this.openStart;
      this.heightV[i] = this.spanHeight(this.startT[i]!, to, slope);
    }
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
    this.height = Number.NaN;
    this.dirty = true;
    this.holt?.reset();
  }

  private closeBucket(): void {
    if (this.openMin === Infinity) return;
    if (this.count === this.capacity) this.shift(1);
    const i = this.count++;
    this.startT[i] = this.openStart;
    this.heightV[i] = Number.NaN;
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
   * Floor or peak now, from the recent raw samples detrended to `now`: the centre of the
   * sawtooth plus / minus half its height. The centre is the mean of the middle 80 % of the
   * samples: a sawtooth sampled over many cycles is stratified, which the mean exploits and the
   * median does not (measured: ~1.5× less noise); trimming keeps short spikes out. The height
   * is pooled over the window (updateHeight); until there is one, the interdecile range of these
   * samples gives it (a GC sawtooth spreads samples roughly uniformly between floor and peak, so
   * it is 0.8 of the height and, unlike minima and maxima, nearly free of measurement noise).
   *
   * When the last two buckets' centre departs from the whole recent segment's by more than the
   * sawtooth's sampling noise explains, the series has just moved off the line (a leak's jump,
   * the end of a ramp) and the short segment is the better nowcast: the line through the
   * segment would average the jump with what came before it.
   */
  private recentLevel(now: number, slope: number, envelope: Envelope): number {
    const m = this.rawEnd - this.rawStart;
    if (m === 0) return Number.NaN;
    const y = this.scratchFor(m);
    let short = 0;
    const shortFrom = now - 2 * this.bucketS;
    for (let i = 0; i < m; i++) {
      const k = this.rawStart + i;
      if (this.rawT[k]! >= shortFrom) y[short++] = this.rawV[k]! + slope * (now - this.rawT[k]!);
    }
    const recent = short >= 10 && short < m ? trimmedCentre(y, short) : undefined;
    for (let i = 0; i < m; i++) {
      const k = this.rawStart + i;
      y[i] = this.rawV[k]! + slope * Math.min(now - this.rawT[k]!, this.windowS);
    }
    const all = trimmedCentre(y, m);
    const height = Number.isNaN(this.height) ? all.spread / 0.8 : this.height;
    let centre = all.centre;
    // Sampling noise of a mean of `short` samples of a uniform sawtooth (sd = height / √12), ×3.
    if (recent && Math.abs(recent.centre - all.centre) > (3 * height) / Math.sqrt(12 * short)) centre = recent.centre;
    return envelope === 'peak' ? centre + height / 2 : centre - height / 2;
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
    this.heightV.copyWithin(0, k, this.count);
    this.startT.copyWithin(0, k, this.count);
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

/** A bend's curvature t statistic discounted for autocorrelated residuals (AR(1), ρ ≥ 0). */
function discountedT(q: QuadraticFit): number {
  const rho = Math.max(0, Math.min(0.9, q.residualAutocorrelation));
  return q.curvatureT * Math.sqrt((1 - rho) / (1 + rho));
}

/**
 * Mean of the middle 80 % of y[0..m) and its interdecile range, by nearest-rank selection (no
 * sort; reorders y): the median partitions the array, so each decile is then selected within its
 * own side, and y[k10..k90] are then exactly the middle values.
 */
function trimmedCentre(y: Float64Array, m: number): { centre: number; spread: number } {
  const k50 = (m - 1) >> 1;
  const k10 = Math.round(0.1 * (m - 1));
  const k90 = Math.round(0.9 * (m - 1));
  selectInPlace(y, 0, m - 1, k50);
  const q10 = selectInPlace(y, 0, k50, k10);
  const q90 = selectInPlace(y, k50, m - 1, k90);
  let sum = 0;
  for (let i = k10; i <= k90; i++) sum += y[i]!;
  return { centre: sum / (k90 - k10 + 1), spread: q90 - q10 };
}
