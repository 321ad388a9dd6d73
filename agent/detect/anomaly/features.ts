/**
 * Feature vectors from the recent window of one or more series (a group is scored jointly).
 * Per channel, from values up to and including the current one (never later ones):
 * - `value`: the level itself (spikes, dips);
 * - `diff`:  v − previous v (sudden steps);
 * - `dev`:   v − mean of the previous `window` values (level shifts relative to the recent past;
 *            an isolation forest cannot extrapolate, so a shift must show up as a deviation);
 * - `std`:   standard deviation of the last `window` values (noise/volatility changes);
 * - `range`: max − min of the last `window` values (bursts in spiky series);
 * - `dev_long`: v − mean of the previous `longWindow` values (slow drifts, shifts that the
 *               short window has already absorbed);
 * - `std_long`: standard deviation of the last `longWindow` values.
 * (A time-of-day feature was tried for daily cycles: −11 NAB points, so it is not offered.)
 */
export const FEATURE_NAMES = ['value', 'diff', 'dev', 'std', 'range', 'dev_long', 'std_long'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface FeatureOptions {
  /** Rolling window (points) for dev/std/range. */
  readonly window: number;
  readonly features: readonly FeatureName[];
  /** Window (points) of the `_long` features; default 8 × window. */
  readonly longWindow?: number;
}

export const DEFAULT_FEATURES: FeatureOptions = { window: 16, features: ['value', 'diff', 'dev', 'std'] };

export class FeatureExtractor {
  readonly channels: number;
  readonly dims: number;
  /** `channel:feature` labels, for explanations. */
  readonly names: readonly string[];
  private readonly window: number;
  private readonly longWindow: number;
  private readonly kinds: Uint8Array;
  /** Ring of the last window+1 values per channel. */
  private readonly ring: Float64Array;
  private readonly cap: number;
  private head = 0;
  private count = 0;

  constructor(channelNames: readonly string[], opts: FeatureOptions = DEFAULT_FEATURES) {
    if (channelNames.length === 0) throw new Error('features: need at least one channel');
    if (opts.features.length === 0) throw new Error('features: need at least one feature');
    if (!(opts.window >= 2)) throw new Error(`features: window must be ≥ 2, got ${opts.window}`);
    this.channels = channelNames.length;
    this.window = Math.floor(opts.window);
    this.longWindow = Math.max(this.window, Math.floor(opts.longWindow ?? 8 * this.window));
    this.kinds = Uint8Array.from(opts.features.map((f) => FEATURE_NAMES.indexOf(f)));
    this.dims = this.channels * this.kinds.length;
    this.names = channelNames.flatMap((c) => opts.features.map((f) => (channelNames.length === 1 ? f : `${c}:${f}`)));
    // the ring holds the long window only when a `_long` feature asks for it
    const needsLong = opts.features.some((f) => f.endsWith('_long'));
    this.cap = (needsLong ? this.longWindow : this.window) + 1;
    this.ring = new Float64Array(this.cap * this.channels);
  }

  /** Points seen before features are meaningful (a full short window). */
  get warmup(): number {
    return this.window + 1;
  }

  /** Appends one observation per channel and writes the feature vector into `out`; false while warming up. */
  push(values: ArrayLike<number>, out: Float64Array, outOffset = 0): boolean {
    const cap = this.cap;
    const slot = this.head;
    for (let c = 0; c < this.channels; c++) {
      const v = values[c]!;
      // a gap (NaN) repeats the previous value so one missing point does not poison a window
      this.ring[c * cap + slot] = Number.isFinite(v) ? v : this.count > 0 ? this.ring[c * cap + ((slot + cap - 1) % cap)]! : 0;
    }
    this.head = (slot + 1) % cap;
    if (this.count < cap) this.count++;
    const n = this.count;
    let o = outOffset;
    for (let c = 0; c < this.channels; c++) {
      const base = c * cap;
      const v = this.ring[base + slot]!;
      const prev = n > 1 ? this.ring[base + ((slot + cap - 1) % cap)]! : v;
      // stats over the previous `window` values (excluding the current one) and the last `window` (including it)
      let sumPrev = 0;
      let sum = 0;
      let sumSq = 0;
      let lo = Infinity;
      let hi = -Infinity;
      const m = Math.min(n - 1, this.window);
      for (let k = 1; k <= m; k++) {
        const x = this.ring[base + ((slot + cap - k) % cap)]!;
        sumPrev += x;
      }
      const mIncl = Math.min(n, this.window);
      for (let k = 0; k < mIncl; k++) {
        const x = this.ring[base + ((slot + cap - k) % cap)]!;
        sum += x;
        sumSq += x * x;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      const meanPrev = m > 0 ? sumPrev / m : v;
      let meanPrevLong = meanPrev;
      let stdLong = 0;
      if (cap > this.window + 1) {
        const ml = Math.min(n - 1, this.longWindow);
        let sl = 0;
        let ql = 0;
        for (let k = 1; k <= ml; k++) {
          const x = this.ring[base + ((slot + cap - k) % cap)]!;
          sl += x;
          ql += x * x;
        }
        if (ml > 0) {
          meanPrevLong = sl / ml;
          stdLong = Math.sqrt(Math.max(0, ql / ml - meanPrevLong * meanPrevLong));
        }
      }
      const mean = sum / mIncl;
      const variance = Math.max(0, sumSq / mIncl - mean * mean);
      for (let k = 0; k < this.kinds.length; k++) {
        switch (this.kinds[k]) {
          case 0:
            out[o++] = v;
            break;
          case 1:
            out[o++] = v - prev;
            break;
          case 2:
            out[o++] = v - meanPrev;
            break;
          case 3:
            out[o++] = Math.sqrt(variance);
            break;
          case 4:
            out[o++] = hi - lo;
            break;
          case 5:
            out[o++] = v - meanPrevLong;
            break;
          default:
            out[o++] = stdLong;
        }
      }
    }
    return n >= this.window + 1;
  }
}
