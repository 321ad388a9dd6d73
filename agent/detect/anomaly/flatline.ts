import { RunningState } from './running-state.ts';

export interface FlatlineOptions {
  /** Multiplies the score before it is fused with the others (0: off). */
  readonly weight: number;
  /** Points and completed runs (changes of value) a channel needs before it is scored: it must have varied. */
  readonly minPoints: number;
  readonly minRuns: number;
  /**
   * Silent while more than this share of the channel's points repeated the previous value:
   * a series that is often constant (a counter at 0, a limit) is left to the other parts.
   */
  readonly maxRepeatShare: number;
}

export const DEFAULT_FLATLINE: FlatlineOptions = { weight: 1, minPoints: 64, minRuns: 8, maxRepeatShare: 0.5 };

/** Per-channel scalars. */
const PREV = 0; // last value
const RUN = 1; // length of the current run of equal values (points)
const N = 2; // points seen
const RUNS = 3; // completed runs
const REP = 4; // points equal to the one before
const SPELLS = 5; // completed runs of two points or more
const SPELL_PTS = 6; // points in them
const LONGEST = 7; // longest completed run
const SCALARS = 8;

/**
 * Stuck-value companion: a series that used to vary and now repeats exactly the same value
 * (a dead exporter reporting 0, a frozen sensor). Per channel it keeps the current run of equal
 * values, the longest run completed so far and the mean run length; a run is scored only once
 * it is longer than every earlier one, by how far beyond, in mean run lengths: with runs
 * geometric beyond the longest seen, P(run ≥ r) ≈ exp(−(r − longest)/mean), and the score is
 * the −log10 of that over 10, the scale of the other companions' tail scores.
 *
 * Why: every other part compares values, and a frozen value is an ordinary one (a 0 the series
 * takes every night, the last good reading); the forest's std feature sees a flat window, but
 * so it did in every earlier quiet spell. Gated on history: a series constant from its start has
 * no completed runs and stays silent, and one that is often constant (a counter at 0, a limit)
 * has long runs behind it, so only a run longer than any of them, by many typical run lengths,
 * scores.
 *
 * Memory: eight f64 per channel. CPU: a comparison and a few operations per point; nothing
 * allocated. The longest run is never forgotten: a series that once stalled for a day stays
 * quiet on shorter stalls (conservative).
 */
export class FlatlineTail extends RunningState {
  readonly options: FlatlineOptions;
  private readonly channels: number;

  constructor(channels: number, opts: FlatlineOptions = DEFAULT_FLATLINE) {
    super(SCALARS * channels, 'flatline companion');
    this.options = opts;
    this.channels = channels;
  }

  /**
   * Why the last update scored what it did: the channel, the value it is stuck at, the run
   * length (points), the longest earlier run and the excess in mean run lengths.
   */
  readonly why: { channel: number; value: number; run: number; longest: number; z: number } = { channel: 0, value: 0, run: 0, longest: 0, z: 0 };

  update(values: ArrayLike<number>): number {
    let best = 0;
    const st = this.st;
    const o0 = this.options;
    for (let c = 0; c < this.channels; c++) {
      const v = values[c]!;
      if (!Number.isFinite(v)) continue; // a gap neither extends nor breaks a run
      const o = SCALARS * c;
      const n = st[o + N]!;
      st[o + N] = n + 1;
      if (n > 0 && v === st[o + PREV]!) {
        const r = st[o + RUN]! + 1;
        st[o + RUN] = r;
        const rep = st[o + REP]! + 1;
        st[o + REP] = rep;
        const longest = st[o + LONGEST]!;
        if (n >= o0.minPoints && st[o + RUNS]! >= o0.minRuns && r > longest && rep <= o0.maxRepeatShare * (n + 1)) {
          // the scale of the tail: the mean quiet spell (runs of 2+ points), not the mean run,
          // which single points dominate and which would make every new record alarming
          const spells = st[o + SPELLS]!;
          const mean = spells > 0 ? st[o + SPELL_PTS]! / spells : 1;
          const z = (r - longest) / mean;
          // −log10(exp(−z)) / 10
          const s = Math.min(1, z / (10 * Math.LN10));
          if (s > best) {
            best = s;
            const w = this.why;
            w.channel = c;
            w.value = v;
            w.run = r;
            w.longest = longest;
            w.z = z;
          }
        }
        continue;
      }
      if (n > 0) {
        const r = st[o + RUN]!;
        st[o + RUNS] = st[o + RUNS]! + 1;
        if (r >= 2) {
          st[o + SPELLS] = st[o + SPELLS]! + 1;
          st[o + SPELL_PTS] = st[o + SPELL_PTS]! + r;
        }
        if (r > st[o + LONGEST]!) st[o + LONGEST] = r;
      }
      st[o + PREV] = v;
      st[o + RUN] = 1;
    }
    return this.options.weight * best;
  }
}
