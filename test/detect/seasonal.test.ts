import { describe, expect, it } from 'vitest';
import { SeasonalTail, DEFAULT_SEASONAL } from '../../agent/detect/anomaly/seasonal.ts';
import { GaussianTail } from '../../agent/detect/anomaly/gaussian-tail.ts';
import { StreamingDetector, DEFAULT_DETECTOR_OPTIONS } from '../../agent/detect/anomaly/streaming-detector.ts';
import { anomalyConfigSchema, detectorOptions } from '../../agent/detect/anomaly/config.ts';
import { Prng } from '../../agent/detect/iforest/prng.ts';

const STEP = 300_000; // five minutes
const DAY = 288;
const T0 = Date.UTC(2024, 0, 1);

/** A daily rhythm (20 at night, 80 in the afternoon) with noise of σ 1; day `skip` has no afternoon peak. */
function daily(days: number, skip: number, seed: number): { t: number[]; v: number[] } {
  const r = new Prng(seed);
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < days * DAY; i++) {
    const phase = (i % DAY) / DAY;
    const peak = phase > 0.4 && phase < 0.7 && Math.floor(i / DAY) !== skip;
    t.push(T0 + i * STEP);
    v.push((peak ? 80 : 20) + r.gaussian());
  }
  return { t, v };
}

describe('seasonal companion', () => {
  it('flags a missing daily peak that the Gaussian companion finds ordinary, and stays quiet on normal days', () => {
    const { t, v } = daily(12, 10, 1);
    const s = new SeasonalTail(1, DEFAULT_SEASONAL);
    const g = new GaussianTail(1, { window: 8000, weight: 1, short: 40, shortGain: 3 });
    let quiet = 0;
    let missing = 0;
    let gaussMissing = 0;
    for (let i = 0; i < t.length; i++) {
      const x = s.update([v[i]!], t[i]!);
      const y = g.update([v[i]!]);
      const day = Math.floor(i / DAY);
      const phase = (i % DAY) / DAY;
      // skip the edges of the peak: a five-minute bin straddles them
      const inPeak = phase > 0.42 && phase < 0.68;
      if (day >= 3 && day !== 10) quiet = Math.max(quiet, x);
      if (day === 10 && inPeak) {
        missing = Math.max(missing, x);
        gaussMissing = Math.max(gaussMissing, y);
      }
    }
    expect(quiet).toBeLessThan(0.5); // < a 1-in-100,000 surprise over 2,600 ordinary points
    expect(missing).toBeGreaterThan(0.9);
    expect(gaussMissing).toBeLessThan(0.5); // the night level is common: why the seasonal view is needed
  });

  it('explains an event by the part that scored it: a missing peak by the daily cycle, a spike by the Gaussian companion', () => {
    const { t, v } = daily(12, 10, 4);
    const d = new StreamingDetector(['requests'], DEFAULT_DETECTOR_OPTIONS);
    let seasonal: ReturnType<StreamingDetector['explain']> | undefined;
    for (let i = 0; i < t.length; i++) {
      const r = d.update([v[i]!], t[i]!);
      const phase = (i % DAY) / DAY;
      if (Math.floor(i / DAY) === 10 && phase > 0.5 && phase < 0.55 && r.calibrated > 0.6 && !seasonal) seasonal = d.explain();
    }
    expect(seasonal?.by).toBe('seasonal');
    expect(seasonal!.z).toBeLessThan(-5); // the night level where the afternoon peak belongs
    expect(seasonal!.text).toMatch(/^requests: -\d+(\.\d)? typical misses from the same time on earlier days \(expected about (79|80|81)\.\d+\)$/);
    // on a series without a daily cycle (the seasonal gate stays shut) and a forest without its
    // out-of-range term (so it cannot claim the score), a drop far below anything seen is the
    // Gaussian companion's, and it says which way
    const r = new Prng(5);
    const flat = new StreamingDetector(['latency'], { ...DEFAULT_DETECTOR_OPTIONS, extrapolation: 0 });
    for (let i = 0; i < 2000; i++) flat.update([50 + r.gaussian()], T0 + i * STEP);
    flat.update([-400], T0 + 2000 * STEP);
    const drop = flat.explain();
    expect(drop.by).toBe('gaussian');
    expect(drop.text).toMatch(/^latency value: -\d+(\.\d)? σ from its long-run mean$/);
  });

  it('stays silent on a series without a daily cycle (the gate), and without timestamps', () => {
    const r = new Prng(2);
    const s = new SeasonalTail(1, DEFAULT_SEASONAL);
    let loud = 0;
    for (let i = 0; i < 12 * DAY; i++) loud = Math.max(loud, s.update([50 + 10 * r.gaussian() + (i === 11 * DAY ? 80 : 0)], T0 + i * STEP));
    expect(loud).toBe(0); // even the 8 σ spike: spikes are the Gaussian companion's job
    const { t, v } = daily(12, 10, 3);
    const blind = new SeasonalTail(1, DEFAULT_SEASONAL);
    for (let i = 0; i < t.length; i++) expect(blind.update([v[i]!], Number.NaN)).toBe(0);
  });

  it('state round-trips to identical scores and refuses another shape', () => {
    const { t, v } = daily(9, -1, 4);
    const a = new SeasonalTail(1, DEFAULT_SEASONAL);
    for (let i = 0; i < 8 * DAY; i++) a.update([v[i]!], t[i]!);
    const b = new SeasonalTail(1, DEFAULT_SEASONAL);
    b.setState(a.state());
    for (let i = 8 * DAY; i < 9 * DAY; i++) {
      const x = i === 8 * DAY + 150 ? 20 : v[i]!; // also a surprising point
      expect(b.update([x], t[i]!)).toBe(a.update([x], t[i]!));
    }
    const other = new SeasonalTail(1, { ...DEFAULT_SEASONAL, cycles: 5 });
    expect(() => other.setState(a.state())).toThrow(/shape/);
    expect(a.bytes).toBeLessThanOrEqual(17 * 1024); // bounded per detector: bins × cycles × 8 bytes + a little
  });

  it('is on by default, fused by max into the detector score when timestamps are given', () => {
    expect(detectorOptions(anomalyConfigSchema.parse({})).seasonal).toEqual(DEFAULT_DETECTOR_OPTIONS.seasonal);
    expect(detectorOptions(anomalyConfigSchema.parse({ seasonal: { period: '12h' } })).seasonal?.periodMs).toBe(43_200_000);
    expect(() => anomalyConfigSchema.parse({ seasonal: { period: 0 } })).toThrow();
    const { t, v } = daily(12, 10, 5);
    const withT = new StreamingDetector(['v']);
    const without = new StreamingDetector(['v']);
    let maxWith = 0;
    let maxWithout = 0;
    for (let i = 0; i < t.length; i++) {
      const a = withT.update([v[i]!], t[i]!).calibrated;
      const b = without.update([v[i]!]).calibrated;
      expect(a).toBeGreaterThanOrEqual(b); // max fusion: never lowers a score
      const phase = (i % DAY) / DAY;
      if (Math.floor(i / DAY) === 10 && phase > 0.45 && phase < 0.68) {
        maxWith = Math.max(maxWith, a);
        maxWithout = Math.max(maxWithout, b);
      }
    }
    expect(maxWith).toBeGreaterThan(0.9);
    expect(maxWith).toBeGreaterThan(maxWithout);
    const snap = withT.snapshot();
    expect(snap?.seasonal).toBeDefined();
    const restored = new StreamingDetector(['v']);
    restored.restore(snap!);
    expect(restored.snapshot()?.seasonal).toEqual(snap?.seasonal);
  });
});
