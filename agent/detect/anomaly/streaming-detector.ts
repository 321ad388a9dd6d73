import { IsolationForest, type IsolationForestJson } from '../iforest/forest.ts';
import { ExtendedIsolationForest } from '../iforest/extended.ts';
import { FeatureExtractor, type FeatureOptions, type FeatureName } from './features.ts';
import { GaussianTail, type GaussianTailOptions } from './gaussian-tail.ts';
import { SeasonalTail, type SeasonalOptions, type SeasonalState } from './seasonal.ts';
import { DEFAULT_FLATLINE, FlatlineTail, type FlatlineOptions } from './flatline.ts';
import { ScoreCalibrator, RepeatSuppressor, type CalibrationOptions, type CalibrationState } from './calibration.ts';

/** What the detector needs of a model: our IsolationForest, or another one to compare against (bench). */
export interface ForestModel {
  fit(data: Float64Array, rows: number, dims: number): unknown;
  score(x: Float64Array, offset?: number): number;
  featureMin(f: number): number;
  featureMax(f: number): number;
  readonly bytes: number;
}

/** Everything that shapes the detector; the agent's config and the CLI both map onto it. */
export interface DetectorOptions {
  readonly trees: number;
  readonly sampleSize: number;
  readonly seed: number;
  /** Feature vectors kept in the sliding training window. */
  readonly trainWindow: number;
  /** Retrain after this many new points. */
  readonly retrainEvery: number;
  /** Feature vectors needed before the first model is built. */
  readonly minTrain: number;
  readonly features: FeatureOptions;
  readonly calibration: CalibrationOptions;
  /** A detection must beat the scores of this many previous points (0: no suppression). */
  readonly suppression: number;
  /**
   * Weight of the out-of-range term: how far a feature lies beyond the training range, in
   * ranges. An isolation forest scores x = 100 like the largest training value, so without it
   * a level shift far outside the window is barely seen.
   */
  readonly extrapolation: number;
  /** `extended`: random-hyperplane splits (Hariri et al.), for groups of correlated series. */
  readonly variant?: 'standard' | 'extended';
  /** Companion tail score on value and difference, fused by max before suppression (absent: off). */
  readonly gaussian?: GaussianTailOptions;
  /** Daily-cycle companion (needs timestamps), fused by max like the Gaussian one (absent: off). */
  readonly seasonal?: SeasonalOptions;
  /** Stuck-value companion (a varying series that stops changing), fused by max (absent or weight 0: off). */
  readonly flatline?: FlatlineOptions;
}

/**
 * Defaults, tuned on the NAB subset for general behaviour (see agent/detect/README.md). 50 trees,
 * not the paper's 100: NAB scores did not move (49.8/50.4 with 100, 50.4/49.1 with 50, seeds
 * 1/2) while scoring and retraining cost half, which is what lets 1,000 series fit the budget.
 * The Gaussian companion (value, difference, 40-point mean shift; fused by max at weight 0.7)
 * took the subset from 50.4 to 62.2, and from 43.1 to 53.3 scored category by held-out category.
 * The seasonal companion (same time of day on the previous 7 days, gated on a daily cycle)
 * took it to 67.3, and 60.1 → 65.2 with the threshold fitted on the other categories.
 * The stuck-value companion is off (weight 0): on the subset it changed no score either way
 * (67.31 and 65.20 held out, with or without it), so it stays opt-in.
 */
export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  trees: 50,
  sampleSize: 256,
  seed: 1,
  trainWindow: 1000,
  retrainEvery: 50,
  minTrain: 64,
  features: { window: 16, features: ['value', 'diff', 'dev', 'std'] satisfies FeatureName[] },
  calibration: { history: 8000, short: 1, minStd: 0.01 },
  suppression: 200,
  extrapolation: 5,
  gaussian: { window: 8000, weight: 0.7, short: 40, shortGain: 3 },
  seasonal: { periodMs: 86_400_000, bins: 288, cycles: 7, weight: 1, maxResidualShare: 0.5, window: 8000 },
  flatline: { ...DEFAULT_FLATLINE, weight: 0 },
};

/** The part of the detector that gave a score. */
export type Scorer = 'forest' | 'gaussian' | 'seasonal' | 'flatline';

/** Why a point scored high: the part that scored it and, in words, what moved. */
export interface Explanation {
  readonly by: Scorer;
  /** The feature or statistic that moved most. */
  readonly feature: string;
  /** How far it moved: σ (forest, Gaussian), typical misses (seasonal), or typical quiet spells beyond the longest one (flatline), signed. */
  readonly z: number;
  readonly text: string;
}

const signed = (z: number): string => `${z >= 0 ? '+' : ''}${z.toFixed(1)}`;

export interface DetectorResult {
  /** Detection score in [0, 1] after suppression of repeats: what the CLI writes and events gate on. */
  readonly score: number;
  /** Calibrated score in [0, 1] before suppression (the `vigil.anomaly.score` metric). */
  readonly calibrated: number;
  /** Isolation-forest score with the out-of-range term, before calibration (0 without a model). */
  readonly raw: number;
}

/**
 * The streaming anomaly detector, one per series or group, the same class in the agent and
 * in `vigil detect`. Each point is scored by the current model using features from points up
 * to and including it (no look-ahead), then joins the sliding training window; the model is
 * rebuilt every `retrainEvery` points, either inline (`autoRetrain`, the CLI) or when the
 * caller schedules it (the agent spreads retraining over ticks).
 */
export class StreamingDetector {
  readonly options: DetectorOptions;
  readonly featureNames: readonly string[];
  private readonly extractor: FeatureExtractor;
  private forest: ForestModel;
  private readonly calibrator: ScoreCalibrator;
  private readonly suppressor: RepeatSuppressor;
  private readonly gaussian: GaussianTail | undefined;
  private readonly seasonal: SeasonalTail | undefined;
  private readonly flatline: FlatlineTail | undefined;
  private readonly dims: number;
  /**
   * Ring of training feature vectors, f32: half the bytes of f64 (16 KiB at the defaults). The
   * forest only sees them on its 2^24-level grid over the window's range, so the rounding
   * (a part in 2^24 of the value) moves a split by a level at most: NAB scores did not move.
   */
  private train: Float32Array;
  private tHead = 0;
  private tCount = 0;
  private sinceFit = 0;
  private readonly current: Float64Array;
  /** Per-feature mean/std of the training window at the last fit, for explanations. */
  private readonly fMean: Float64Array;
  private readonly fStd: Float64Array;
  private readonly autoRetrain: boolean;
  private models = 0;
  private pointsSeen = 0;
  /** Which part gave the last fused score (see explain). */
  private scoredBy: Scorer = 'forest';
  private readonly channelNames: readonly string[];
  /** Reused for every result: the hot path allocates nothing per point. */
  private readonly result: { score: number; calibrated: number; raw: number } = { score: 0, calibrated: 0, raw: 0 };

  constructor(channelNames: readonly string[], options: DetectorOptions = DEFAULT_DETECTOR_OPTIONS, autoRetrain = true, forest?: ForestModel) {
    this.options = options;
    this.autoRetrain = autoRetrain;
    this.channelNames = channelNames;
    this.extractor = new FeatureExtractor(channelNames, options.features);
    this.featureNames = this.extractor.names;
    this.dims = this.extractor.dims;
    const fo = { trees: options.trees, sampleSize: options.sampleSize, seed: options.seed };
    this.forest = forest ?? (options.variant === 'extended' ? new ExtendedIsolationForest(fo) : new IsolationForest(fo));
    this.calibrator = new ScoreCalibrator(options.calibration);
    this.suppressor = new RepeatSuppressor(options.suppression);
    this.gaussian = options.gaussian && options.gaussian.weight > 0 ? new GaussianTail(channelNames.length, options.gaussian) : undefined;
    this.seasonal = options.seasonal && options.seasonal.weight > 0 ? new SeasonalTail(channelNames.length, options.seasonal) : undefined;
    this.flatline = options.flatline && options.flatline.weight > 0 ? new FlatlineTail(channelNames.length, options.flatline) : undefined;
    // grows as it fills (like a series' ring): a young detector holds what it has seen
    this.train = new Float32Array(Math.min(options.trainWindow, 64) * this.dims);
    this.current = new Float64Array(this.dims);
    this.fMean = new Float64Array(this.dims);
    this.fStd = new Float64Array(this.dims);
  }

  /** Models built so far. */
  get modelCount(): number {
    return this.models;
  }

  get points(): number {
    return this.pointsSeen;
  }

  /** A retrain is due (always false with autoRetrain: it happens inline). */
  get retrainDue(): boolean {
    return this.tCount >= this.options.minTrain && (this.models === 0 || this.sinceFit >= this.options.retrainEvery);
  }

  /** Approximate bytes held: model, training window, calibration and suppression state. */
  get bytes(): number {
    return (this.gaussian?.bytes ?? 0) + (this.seasonal?.bytes ?? 0) + (this.flatline?.bytes ?? 0) + this.forest.bytes + this.train.byteLength + this.current.byteLength + 16 * this.dims + 8 * (this.options.calibration.short + 2 * (this.options.suppression + 2));
  }

  /**
   * Scores one observation (one value per channel) at time `t` (Unix ms; only the seasonal
   * companion reads it, and skips a point without one) and learns from it. The returned object
   * is reused by the next call: read it, do not keep it.
   */
  update(values: ArrayLike<number>, t = Number.NaN): DetectorResult {
    this.pointsSeen++;
    const x = this.current;
    const ready = this.extractor.push(values, x);
    let g = this.gaussian ? this.gaussian.update(values) : 0;
    let by: Scorer = 'gaussian';
    if (this.seasonal) {
      const s = this.seasonal.update(values, t);
      if (s > g) {
        g = s;
        by = 'seasonal';
      }
    }
    if (this.flatline) {
      const s = this.flatline.update(values);
      if (s > g) {
        g = s;
        by = 'flatline';
      }
    }
    const out = this.result;
    out.score = 0;
    out.calibrated = 0;
    out.raw = 0;
    if (!ready) return out;
    let raw = 0;
    if (this.models > 0) raw = this.rawScore(x);
    // after scoring: the point joins the training window only now (no look-ahead)
    // a loop, not set(): f64 → f32 set() takes V8's slow mixed-type path
    if ((this.tHead + 1) * this.dims > this.train.length) this.growTrain(this.tHead + 1);
    for (let f = 0, o = this.tHead * this.dims; f < this.dims; f++) this.train[o + f] = x[f]!;
    this.tHead = (this.tHead + 1) % this.options.trainWindow;
    if (this.tCount < this.options.trainWindow) this.tCount++;
    this.sinceFit++;
    if (this.autoRetrain && this.retrainDue) this.retrain();
    if (this.models === 0) return out;
    out.raw = raw;
    const c = this.calibrator.update(raw);
    out.calibrated = g > c ? (g < 1 ? g : 1) : c;
    this.scoredBy = g > c ? by : 'forest';
    out.score = this.suppressor.update(out.calibrated);
    return out;
  }

  /** Makes room for `rows` training rows (doubling, at most the window); only before the ring is full. */
  private growTrain(rows: number): void {
    const d = this.dims;
    if (rows * d <= this.train.length) return;
    const next = new Float32Array(Math.min(this.options.trainWindow, Math.max(rows, (2 * this.train.length) / d)) * d);
    next.set(this.train.subarray(0, this.tCount * d));
    this.train = next;
  }

  /** Rebuilds the model from the training window (cost ≈ trees × ψ × log ψ × features). */
  retrain(): void {
    const d = this.dims;
    const n = this.tCount;
    if (n === 0) return;
    // unroll the ring oldest-first so the fit sees a contiguous array (one buffer shared by
    // all detectors: fits are synchronous and never interleave)
    if (sharedScratch.length < n * d) sharedScratch = new Float64Array(n * d);
    const scratch = sharedScratch;
    const start = n < this.options.trainWindow ? 0 : this.tHead;
    for (let i = 0; i < n; i++) {
      const src = ((start + i) % this.options.trainWindow) * d;
      for (let f = 0; f < d; f++) scratch[i * d + f] = this.train[src + f]!;
    }
    this.forest.fit(scratch, n, d);
    this.featureStats(scratch, n);
    this.sinceFit = 0;
    this.models++;
  }

  private featureStats(data: Float64Array | Float32Array, n: number): void {
    const d = this.dims;
    for (let f = 0; f < d; f++) {
      let s = 0;
      let q = 0;
      for (let i = 0; i < n; i++) {
        const v = data[i * d + f]!;
        s += v;
        q += v * v;
      }
      const mean = s / n;
      this.fMean[f] = mean;
      this.fStd[f] = Math.sqrt(Math.max(0, q / n - mean * mean));
    }
  }

  /**
   * Why the last point scored what it did, from the part that gave the score: the forest (the
   * feature furthest from the training window), the Gaussian companion (value, change or
   * short-run mean against the long run), the daily-cycle one (against the same time on
   * earlier days) or the stuck-value one (a run of one value longer than any before). Called on
   * events only: it may allocate.
   */
  explain(): Explanation {
    if (this.scoredBy === 'gaussian' && this.gaussian) {
      const w = this.gaussian.why;
      const name = this.channelNames[w.channel] ?? `channel ${w.channel}`;
      return { by: 'gaussian', feature: `${name} ${w.kind}`, z: w.z, text: `${name} ${w.kind}: ${signed(w.z)} σ from its long-run ${w.kind === 'change' ? 'change' : 'mean'}` };
    }
    if (this.scoredBy === 'seasonal' && this.seasonal) {
      const w = this.seasonal.why;
      const name = this.channelNames[w.channel] ?? `channel ${w.channel}`;
      const when = this.seasonal.options.periodMs === 86_400_000 ? 'the same time on earlier days' : 'the same phase of earlier cycles';
      return { by: 'seasonal', feature: name, z: w.z, text: `${name}: ${signed(w.z)} typical misses from ${when} (expected about ${w.expected.toPrecision(4)})` };
    }
    if (this.scoredBy === 'flatline' && this.flatline) {
      const w = this.flatline.why;
      const name = this.channelNames[w.channel] ?? `channel ${w.channel}`;
      return { by: 'flatline', feature: name, z: w.z, text: `${name}: stuck at ${w.value.toPrecision(4)} for ${w.run} points (longest run before: ${w.longest})` };
    }
    const f = this.forestExplanation();
    return { by: 'forest', ...f, text: `${f.feature} moved most: ${signed(f.z)} σ from the last ${this.options.trainWindow} points` };
  }

  /** Which feature of the last point lies furthest from the training window (in std devs). */
  private forestExplanation(): { feature: string; z: number } {
    let best = 0;
    let bestZ = 0;
    for (let f = 0; f < this.dims; f++) {
      const std = this.fStd[f]! > 0 ? this.fStd[f]! : Math.abs(this.fMean[f]!) * 1e-3 + 1e-12;
      const z = (this.current[f]! - this.fMean[f]!) / std;
      if (Math.abs(z) > Math.abs(bestZ)) {
        bestZ = z;
        best = f;
      }
    }
    return { feature: this.featureNames[best] ?? `f${best}`, z: bestZ };
  }

  /** What a restart needs to go on where it stopped: model, training window, score distribution. */
  snapshot(): DetectorSnapshot | undefined {
    if (this.models === 0 || !(this.forest instanceof IsolationForest)) return undefined;
    const d = this.dims;
    const n = this.tCount;
    const start = n < this.options.trainWindow ? 0 : this.tHead;
    const bytes = new Uint8Array(n * d * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      const src = ((start + i) % this.options.trainWindow) * d;
      for (let f = 0; f < d; f++) view.setFloat64((i * d + f) * 8, this.train[src + f]!, true);
    }
    return {
      version: 1,
      features: this.featureNames,
      forest: this.forest.toJSON(),
      train: Buffer.from(bytes).toString('base64'),
      rows: n,
      sinceFit: this.sinceFit,
      calibration: this.calibrator.state(),
      ...(this.gaussian ? { gaussian: this.gaussian.state() } : {}),
      ...(this.seasonal ? { seasonal: this.seasonal.state() } : {}),
      ...(this.flatline ? { flatline: this.flatline.state() } : {}),
    };
  }

  /** Restores a snapshot of a detector with the same features; throws (and changes nothing) when it does not fit. */
  restore(s: DetectorSnapshot): void {
    if (s.version !== 1) throw new Error(`anomaly detector snapshot: unsupported version ${String(s.version)}`);
    if (s.features.join(',') !== this.featureNames.join(',')) throw new Error(`anomaly detector snapshot: features ${s.features.join(',')} ≠ ${this.featureNames.join(',')}`);
    const forest = IsolationForest.fromJSON(s.forest);
    if (forest.dims !== this.dims || forest.trees !== this.options.trees) throw new Error(`anomaly detector snapshot: model has ${forest.dims} features × ${forest.trees} trees, expected ${this.dims} × ${this.options.trees}`);
    const bytes = Buffer.from(s.train, 'base64');
    const d = this.dims;
    const rows = Math.min(s.rows, this.options.trainWindow);
    if (bytes.byteLength !== s.rows * d * 8) throw new Error(`anomaly detector snapshot: training window holds ${bytes.byteLength} bytes, expected ${s.rows * d * 8}`);
    // the companion's statistics: restored when both sides have it (older snapshots lack it: it re-learns)
    if (this.gaussian && s.gaussian && !this.gaussian.accepts(s.gaussian)) throw new Error(`anomaly detector snapshot: companion state holds ${s.gaussian.length} values, not this detector's shape`);
    if (this.flatline && s.flatline && !this.flatline.accepts(s.flatline)) throw new Error(`anomaly detector snapshot: flatline state holds ${s.flatline.length} values, not this detector's shape`);
    if (this.seasonal && s.seasonal) {
      try {
        // validate before anything changes: a copy takes the state first
        new SeasonalTail(this.extractor.channels, this.seasonal.options).setState(s.seasonal);
      } catch (err) {
        throw new Error(`anomaly detector snapshot: ${(err as Error).message}`, { cause: err });
      }
    }
    this.calibrator.setState(s.calibration);
    if (this.gaussian && s.gaussian) this.gaussian.setState(s.gaussian);
    if (this.seasonal && s.seasonal) this.seasonal.setState(s.seasonal);
    if (this.flatline && s.flatline) this.flatline.setState(s.flatline);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const skip = s.rows - rows; // a smaller window now: keep the newest rows
    this.growTrain(rows);
    for (let i = 0; i < rows; i++) for (let f = 0; f < d; f++) this.train[i * d + f] = view.getFloat64(((skip + i) * d + f) * 8, true);
    this.tCount = rows;
    this.tHead = rows % this.options.trainWindow;
    this.sinceFit = s.sinceFit;
    this.forest = forest;
    this.featureStats(this.train, rows);
    this.models = Math.max(this.models, 1);
  }

  private rawScore(x: Float64Array): number {
    const s = this.forest.score(x);
    const k = this.options.extrapolation;
    if (k <= 0) return s;
    let excess = 0;
    for (let f = 0; f < this.dims; f++) {
      const lo = this.forest.featureMin(f);
      const hi = this.forest.featureMax(f);
      const range = hi - lo > 0 ? hi - lo : Math.abs(hi) * 1e-6 + 1e-12;
      const e = x[f]! > hi ? (x[f]! - hi) / range : x[f]! < lo ? (lo - x[f]!) / range : 0;
      if (e > excess) excess = e;
    }
    // beyond the training range, push the score toward 1 with the distance (in ranges)
    return excess > 0 ? s + (1 - s) * (1 - Math.exp(-k * excess)) : s;
  }
}

let sharedScratch = new Float64Array(0);

export interface DetectorSnapshot {
  readonly version: 1;
  readonly features: readonly string[];
  readonly forest: IsolationForestJson;
  /** Training window, oldest first: base64 of little-endian f64, rows × features. */
  readonly train: string;
  readonly rows: number;
  readonly sinceFit: number;
  readonly calibration: CalibrationState;
  /** Gaussian companion's running statistics (absent when it is off, or in snapshots written before it existed). */
  readonly gaussian?: readonly number[];
  /** Daily-cycle companion's table and statistics (absent when it is off, or in older snapshots). */
  readonly seasonal?: SeasonalState;
  /** Stuck-value companion's run counts (absent when it is off, or in older snapshots). */
  readonly flatline?: readonly number[];
}


/** Runs a whole univariate series through a fresh detector (the CLI and the NAB evaluation). */
export function detectSeries(values: ArrayLike<number>, options: DetectorOptions = DEFAULT_DETECTOR_OPTIONS, forest?: ForestModel, t?: ArrayLike<number>): Float64Array {
  const det = new StreamingDetector(['value'], options, true, forest);
  const out = new Float64Array(values.length);
  const one = new Float64Array(1);
  for (let i = 0; i < values.length; i++) {
    one[0] = values[i]!;
    out[i] = det.update(one, t ? t[i]! : Number.NaN).score;
  }
  return out;
}
