import { tailScore } from './calibration.ts';

export interface SeasonalOptions {
  /** Length of the cycle, ms (a day). */
  readonly periodMs: number;
  /** Phase bins per cycle (288: five-minute bins over a day). */
  readonly bins: number;
  /** Earlier cycles kept per bin: the reference is their median (7: a week of days). */
  readonly cycles: number;
  /** Multiplies the tail score before it is fused with the others. */
  readonly weight: number;
  /**
   * The seasonal score counts only while the residual variance is below this share of the
   * value's variance: a series without a cycle is left to the other detectors.
   */
  readonly maxResidualShare: number;
  /** Horizon (points) of the running residual and value statistics. */
  readonly window: number;
}

export const DEFAULT_SEASONAL: SeasonalOptions = { periodMs: 86_400_000, bins: 288, cycles: 7, weight: 1, maxResidualShare: 0.5, window: 8000 };

/** Persisted state: base64 of the bin means (f32), their cycle tags (i32) and the per-channel statistics (f64), native byte order. */
export interface SeasonalState {
  readonly means: string;
  readonly tags: string;
  readonly stats: string;
}

/** Per-channel scalars: bin being filled, its sum and count; residual and value statistics. */
const CUR_BIN = 0;
const CUR_SUM = 1;
const CUR_N = 2;
const N = 3;
const RES_MS = 4; // running mean of squared residuals
const VAL_MEAN = 5;
const VAL_VAR = 6;
const VAL_N = 7;
const REF = 8; // reference of the current bin (earlier cycles do not change within a bin)
const REF_K = 9; // values it is the median of
const SCALARS = 10;

/**
 * Daily-cycle detector: compares a point with the same time of day on the previous `cycles`
 * days. Time is cut into phase bins; each finished bin leaves its mean in a small table (bins ×
 * cycles per channel); a point's reference is the median of the table's entries for its bin
 * and the two neighbouring bins on earlier days (up to 3 × cycles values), its residual is
 * judged against the running RMS of earlier residuals, as the same −log10(Q)/10 tail score the
 * others use (two-sided).
 *
 * Why: the forest and the Gaussian companion compare a point with the recent past and the
 * overall distribution; in a series with a daily rhythm, a missing peak (a value the series
 * takes every night, but not at noon) is ordinary to both. Gated: while the residuals are not
 * clearly smaller than the values' own spread (no daily cycle), it stays silent.
 *
 * Needs timestamps (without one a point is skipped). Memory per channel: bins × cycles × 8
 * bytes (a Float32 mean and an Int32 cycle tag) + 80 bytes: 16 KiB at the defaults. CPU: the
 * median of ≤ 3 × cycles values by insertion sort into a preallocated buffer, once per bin
 * (earlier cycles do not change within a bin), a few operations per point; nothing allocated.
 */
export class SeasonalTail {
  readonly options: SeasonalOptions;
  private readonly channels: number;
  private readonly binMs: number;
  /**
   * Bin means, [channel][cycle slot][bin], and the absolute cycle number each slot belongs to
   * (−1: empty). Allocated when the first bin closes: until then (5 minutes at the defaults)
   * a detector has nothing to put in them, and a young agent's 200 detectors save 3 MiB.
   */
  private means = new Float32Array(0);
  private tags = new Int32Array(0);
  private readonly tableSize: number;
  private readonly st: Float64Array;
  private readonly scratch: Float64Array;

  constructor(channels: number, opts: SeasonalOptions = DEFAULT_SEASONAL) {
    if (!(opts.periodMs > 0) || !(opts.bins >= 1) || !(opts.cycles >= 2)) throw new Error('seasonal: period, bins ≥ 1 and cycles ≥ 2 required');
    this.options = opts;
    this.channels = channels;
    this.binMs = opts.periodMs / opts.bins;
    this.tableSize = channels * opts.cycles * opts.bins;
    this.st = new Float64Array(SCALARS * channels);
    for (let c = 0; c < channels; c++) this.st[c * SCALARS + CUR_BIN] = Number.NaN;
    this.scratch = new Float64Array(3 * opts.cycles);
  }

  /** Table and statistics, for persistence (base64 of the typed arrays): a restart keeps its week of days. */
  state(): SeasonalState {
    const b64 = (a: Float32Array | Int32Array | Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    this.ensureTable();
    return { means: b64(this.means), tags: b64(this.tags), stats: b64(this.st) };
  }

  /** Throws (and changes nothing) when the state is of another shape (other channels, bins or cycles) or not finite. */
  setState(s: SeasonalState): void {
    const means = Buffer.from(s.means, 'base64');
    const tags = Buffer.from(s.tags, 'base64');
    const stats = Buffer.from(s.stats, 'base64');
    if (means.byteLength !== 4 * this.tableSize || tags.byteLength !== 4 * this.tableSize || stats.byteLength !== this.st.byteLength) {
      throw new Error(`seasonal: state of another shape (${means.byteLength}/${tags.byteLength}/${stats.byteLength} bytes, expected ${4 * this.tableSize}/${4 * this.tableSize}/${this.st.byteLength})`);
    }
    const st = new Float64Array(new Uint8Array(stats).buffer);
    // CUR_BIN is NaN before the first point; everything else must be finite
    for (let i = 0; i < st.length; i++) if (!Number.isFinite(st[i]!) && i % SCALARS !== CUR_BIN) throw new Error('seasonal: state holds non-finite statistics');
    this.ensureTable();
    new Uint8Array(this.means.buffer, this.means.byteOffset, this.means.byteLength).set(means);
    new Uint8Array(this.tags.buffer, this.tags.byteOffset, this.tags.byteLength).set(tags);
    this.st.set(st);
  }

  get bytes(): number {
    return this.means.byteLength + this.tags.byteLength + this.st.byteLength + this.scratch.byteLength;
  }

  private ensureTable(): void {
    if (this.means.length === this.tableSize) return;
    this.means = new Float32Array(this.tableSize);
    this.tags = new Int32Array(this.tableSize).fill(-1);
  }

  /**
   * Why the last update scored what it did: the channel that scored highest, its signed
   * distance from the same time on earlier cycles (in typical misses) and that reference.
   */
  readonly why = { channel: 0, z: 0, expected: Number.NaN };

  /** Scores one observation at time `t` (ms), then learns from it. */
  update(values: ArrayLike<number>, t: number): number {
    if (!Number.isFinite(t)) return 0;
    const bin = Math.floor(t / this.binMs);
    let best = 0;
    for (let c = 0; c < this.channels; c++) {
      const v = values[c]!;
      if (!Number.isFinite(v)) continue;
      const s = this.scoreChannel(c, v, bin);
      if (s > best) {
        best = s;
        this.why.channel = c;
        this.why.z = this.lastZ;
        this.why.expected = this.lastExpected;
      }
    }
    return this.options.weight * best;
  }

  private lastZ = 0;
  private lastExpected = Number.NaN;

  private scoreChannel(c: number, v: number, bin: number): number {
    const st = this.st;
    const so = c * SCALARS;
    const { bins, cycles } = this.options;
    // a new bin: the finished one leaves its mean in the table
    const cur = st[so + CUR_BIN]!;
    if (bin !== cur) {
      if (st[so + CUR_N]! > 0) {
        const cycle = Math.floor(cur / bins);
        const slot = c * cycles * bins + (cycle % cycles) * bins + (cur - cycle * bins);
        this.ensureTable();
        this.means[slot] = st[so + CUR_SUM]! / st[so + CUR_N]!;
        this.tags[slot] = cycle;
      }
      st[so + CUR_BIN] = bin;
      st[so + CUR_SUM] = 0;
      st[so + CUR_N] = 0;
      this.reference(c, bin);
    }
    st[so + CUR_SUM] = st[so + CUR_SUM]! + v;
    st[so + CUR_N] = st[so + CUR_N]! + 1;
    let score = 0;
    const n = st[so + N]!;
    // at least four earlier bin means (two days of a five-minute series): one day is no rhythm
    if (st[so + REF_K]! >= 4) {
      const r = v - st[so + REF]!;
      const ms = st[so + RES_MS]!;
      const valVar = st[so + VAL_VAR]!;
      if (n >= 64 && ms < this.options.maxResidualShare * valVar) {
        const z = Math.abs(r) / Math.max(Math.sqrt(ms), 1e-9 * (Math.abs(st[so + VAL_MEAN]!) + 1));
        score = tailScore(z);
        this.lastZ = r >= 0 ? z : -z;
        this.lastExpected = st[so + REF]!;
      }
      const m = n + 1;
      st[so + N] = m;
      const ar = Math.max(1 / m, 1 / this.options.window);
      st[so + RES_MS] = (1 - ar) * ms + ar * r * r;
    }
    // value statistics: the gate compares the residuals' spread with the values' own. Updated
    // after scoring, so that a huge outlier cannot open the gate for itself on a series with
    // no daily cycle (it is the other detectors' to score).
    const vn = st[so + VAL_N]! + 1;
    st[so + VAL_N] = vn;
    const a = Math.max(1 / vn, 1 / this.options.window);
    const dv = v - st[so + VAL_MEAN]!;
    st[so + VAL_MEAN] = st[so + VAL_MEAN]! + a * dv;
    st[so + VAL_VAR] = (1 - a) * (st[so + VAL_VAR]! + a * dv * dv);
    return score;
  }

  /** Median of the same and neighbouring bins on earlier cycles, computed once per bin into REF/REF_K. */
  private reference(c: number, bin: number): void {
    const { bins, cycles } = this.options;
    const cycle = Math.floor(bin / bins);
    const phase = bin - cycle * bins;
    let k = 0;
    const buf = this.scratch;
    for (let back = 1; back <= cycles; back++) {
      for (let dp = -1; dp <= 1; dp++) {
        // neighbouring phases wrap into the adjacent cycle
        let p = phase + dp;
        let cy = cycle - back;
        if (p < 0) {
          p += bins;
          cy--;
        } else if (p >= bins) {
          p -= bins;
          cy++;
        }
        if (cy < 0 || cy >= cycle) continue;
        const slot = c * cycles * bins + (cy % cycles) * bins + p;
        if (this.tags[slot] !== cy) continue; // also while the table is not allocated yet
        const x = this.means[slot]!;
        let j = k++;
        while (j > 0 && buf[j - 1]! > x) {
          buf[j] = buf[j - 1]!;
          j--;
        }
        buf[j] = x;
      }
    }
    const so = c * SCALARS;
    this.st[so + REF_K] = k;
    this.st[so + REF] = k === 0 ? 0 : k & 1 ? buf[k >> 1]! : 0.5 * (buf[(k >> 1) - 1]! + buf[k >> 1]!);
  }
}
