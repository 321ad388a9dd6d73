/**
 * Holt's linear trend (double exponential smoothing) on irregularly spaced raw samples.
 * Kept as a measured alternative: on a GC sawtooth its trend follows every rise and drop,
 * which bench/forecast.ts shows as large ETA errors; the floor methods do not have that problem.
 */
export class HoltTrend {
  private readonly alpha: number;
  private readonly beta: number;
  level = Number.NaN;
  /** Value units per second. */
  trend = 0;
  private lastT = Number.NaN;

  constructor(alpha = 0.1, beta = 0.02) {
    this.alpha = alpha;
    this.beta = beta;
  }

  reset(): void {
    this.level = Number.NaN;
    this.trend = 0;
    this.lastT = Number.NaN;
  }

  /** `t` in seconds. */
  push(t: number, v: number): void {
    if (Number.isNaN(this.level)) {
      this.level = v;
      this.lastT = t;
      return;
    }
    const dt = t - this.lastT;
    if (dt <= 0) return;
    const predicted = this.level + this.trend * dt;
    const level = this.alpha * v + (1 - this.alpha) * predicted;
    this.trend = this.beta * ((level - this.level) / dt) + (1 - this.beta) * this.trend;
    this.level = level;
    this.lastT = t;
  }
}
