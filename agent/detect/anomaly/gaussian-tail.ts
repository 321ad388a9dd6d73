import { RunningState } from './running-state.ts';
import { tailScore } from './calibration.ts';

export interface GaussianTailOptions {
  /** Horizon (points) of the running mean/variance: equal weights up to it, exponential forgetting beyond. */
  readonly window: number;
  /** Multiplies the tail score before it is fused with the forest's (1: same scale, −log10(Q)/10). */
  readonly weight: number;
  /** > 1: also score the mean of roughly the last `short` values (exponential), a sustained level shift. */
  readonly short?: number;
  /** z of the short-term mean is multiplied by this (its std dev is smaller than a point's). */
  readonly shortGain?: number;
}

/**
 * A cheap companion to the forest (NAB's windowed-Gaussian idea, plus a mean-shift term):
 * per channel, how far the value, its first difference and the mean of about the last
 * `short` values lie from the running mean, in running standard deviations, as the same
 * −log10(Q)/10 tail score the forest's calibration produces (two-sided). A point is judged
 * against the statistics of the points before it, then joins them. O(1) memory per channel.
 *
 * Why: the forest scores a point against a 1,000-point window and cannot extrapolate, so a
 * sustained shift of two or three standard deviations (a slow drift, a lower plateau) looks
 * ordinary to it after a few dozen points, and a value far beyond anything seen is scored
 * like the largest training value. On the NAB subset the forest alone scores 50.4, this
 * companion alone 55.9, the max of the two 62.2 (agent/detect/README.md).
 */
export class GaussianTail extends RunningState {
  private readonly horizon: number;
  private readonly weight: number;
  private readonly channels: number;
  private readonly short: number;
  private readonly shortGain: number;

  constructor(channels: number, opts: GaussianTailOptions) {
    // per channel: n, mean, var of the value; mean, var of the diff; previous value; short-term mean
    super(7 * channels, 'gaussian companion');
    this.channels = channels;
    this.horizon = Math.max(2, opts.window);
    this.weight = opts.weight;
    this.short = opts.short ?? 0;
    this.shortGain = opts.shortGain ?? 1;
  }

  /**
   * Why the last update scored what it did: the channel that scored highest, which statistic
   * moved (the value, its change from the last point, or its short-run mean) and by how many
   * standard deviations (signed).
   */
  readonly why: { channel: number; kind: 'value' | 'change' | 'recent mean'; z: number } = { channel: 0, kind: 'value', z: 0 };

  update(values: ArrayLike<number>): number {
    let best = 0;
    const st = this.st;
    for (let c = 0; c < this.channels; c++) {
      const v = values[c]!;
      if (!Number.isFinite(v)) continue;
      const o = 7 * c;
      const n = st[o]!;
      const d = n > 0 ? v - st[o + 5]! : 0;
      if (n >= 32) {
        // std floors relative to the level: a constant series must not divide by zero
        const sv = Math.max(Math.sqrt(st[o + 2]!), 1e-9 * (Math.abs(st[o + 1]!) + 1));
        const zv = Math.abs(v - st[o + 1]!) / sv;
        const zd = Math.abs(d - st[o + 3]!) / Math.max(Math.sqrt(st[o + 4]!), 1e-9 * (Math.abs(st[o + 1]!) + 1));
        let z = zv;
        let kind: 0 | 1 | 2 = 0;
        if (zd > z) {
          z = zd;
          kind = 1;
        }
        let ms = 0;
        if (this.short > 1) {
          ms = st[o + 6]! + (v - st[o + 6]!) / this.short;
          const zm = (this.shortGain * Math.abs(ms - st[o + 1]!)) / sv;
          if (zm > z) {
            z = zm;
            kind = 2;
          }
        }
        const s = tailScore(z);
        if (s > best) {
          best = s;
          const w = this.why;
          w.channel = c;
          w.kind = kind === 0 ? 'value' : kind === 1 ? 'change' : 'recent mean';
          // signed as the statistic moved; the mean shift without its gain, in plain σ
          w.z = kind === 0 ? (v - st[o + 1]!) / sv : kind === 1 ? (d - st[o + 3]!) / Math.max(Math.sqrt(st[o + 4]!), 1e-9 * (Math.abs(st[o + 1]!) + 1)) : (ms - st[o + 1]!) / sv;
        }
      }
      const m = n + 1;
      st[o] = m;
      const a = Math.max(1 / m, 1 / this.horizon);
      const dv = v - st[o + 1]!;
      st[o + 1] = st[o + 1]! + a * dv;
      st[o + 2] = (1 - a) * (st[o + 2]! + a * dv * dv);
      if (n > 0) {
        const dd = d - st[o + 3]!;
        st[o + 3] = st[o + 3]! + a * dd;
        st[o + 4] = (1 - a) * (st[o + 4]! + a * dd * dd);
      }
      st[o + 5] = v;
      st[o + 6] = n > 0 ? st[o + 6]! + (v - st[o + 6]!) / Math.max(1, this.short) : v;
    }
    return this.weight * best;
  }
}
