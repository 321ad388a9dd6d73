import { describe, expect, it } from 'vitest';
import { erfc, tailScore, RepeatSuppressor, ScoreCalibrator } from '../../agent/detect/anomaly/calibration.ts';
import { FeatureExtractor } from '../../agent/detect/anomaly/features.ts';
import { GaussianTail } from '../../agent/detect/anomaly/gaussian-tail.ts';
import { StreamingDetector, DEFAULT_DETECTOR_OPTIONS } from '../../agent/detect/anomaly/streaming-detector.ts';
import { anomalyConfigSchema, detectorOptions } from '../../agent/detect/anomaly/config.ts';
import { Prng } from '../../agent/detect/iforest/prng.ts';

describe('calibration', () => {
  it('erfc matches known values', () => {
    expect(erfc(0)).toBeCloseTo(1, 6);
    expect(erfc(1)).toBeCloseTo(0.157299207, 6);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 6);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 5); // relative accuracy in the tail
  });

  it('tail score: 0 at or below the mean, −log10(Q)/10 above, capped at 1', () => {
    expect(tailScore(-2)).toBe(0);
    expect(tailScore(0)).toBe(0);
    // Q(4.264891) ≈ 1e-5 → 0.5
    expect(tailScore(4.264891)).toBeCloseTo(0.5, 3);
    expect(tailScore(3)).toBeLessThan(tailScore(4));
    expect(tailScore(40)).toBe(1);
  });

  it('a raw score far above its history scores high; an ordinary one scores ~0', () => {
    const c = new ScoreCalibrator({ history: 500, short: 1, minStd: 0.01 });
    const r = new Prng(1);
    let last = 0;
    for (let i = 0; i < 500; i++) last = c.update(0.45 + 0.02 * r.gaussian());
    expect(last).toBeLessThan(0.2);
    expect(c.update(0.9)).toBeGreaterThan(0.9); // z ≈ 22
  });
});

describe('repeat suppression', () => {
  it('keeps a score only when it beats every score of the previous span', () => {
    const s = new RepeatSuppressor(3);
    const out = [0.2, 0.5, 0.4, 0.45, 0.3, 0.35, 0.3, 0.6].map((x) => s.update(x));
    // 0.2 (first) · 0.5 > 0.2 · 0.4 < 0.5 · 0.45 < 0.5 · 0.3 · 0.35 > max(0.4,0.45,0.3)? no · 0.3 · 0.6
    expect(out).toEqual([0.2, 0.5, 0, 0, 0, 0, 0, 0.6]);
    // once the 0.5 has left the span, 0.46 fires
    const t = new RepeatSuppressor(2);
    expect([0.5, 0.1, 0.1, 0.46].map((x) => t.update(x))).toEqual([0.5, 0, 0, 0.46]);
  });
});

describe('features', () => {
  it('value, diff, dev and std by hand', () => {
    const f = new FeatureExtractor(['v'], { window: 3, features: ['value', 'diff', 'dev', 'std'] });
    const out = new Float64Array(4);
    expect(f.push([1], out)).toBe(false);
    f.push([2], out);
    f.push([3], out);
    expect(f.push([7], out)).toBe(true); // window 3 + the current point
    expect(out[0]).toBe(7);
    expect(out[1]).toBe(4); // 7 − 3
    expect(out[2]).toBe(5); // 7 − mean(1, 2, 3)
    // std of (2, 3, 7): mean 4, variance (4 + 1 + 9)/3
    expect(out[3]).toBeCloseTo(Math.sqrt(14 / 3), 12);
  });

  it('group features are channel-major and named channel:feature', () => {
    const f = new FeatureExtractor(['a', 'b'], { window: 2, features: ['value', 'dev'] });
    expect(f.names).toEqual(['a:value', 'a:dev', 'b:value', 'b:dev']);
    const out = new Float64Array(4);
    f.push([1, 10], out);
    f.push([1, 10], out);
    f.push([3, 10], out);
    expect(Array.from(out)).toEqual([3, 2, 10, 0]);
  });
});

describe('streaming detector', () => {
  it('flags a level shift far outside the training range (the forest alone would not extrapolate)', () => {
    const d = new StreamingDetector(['v'], { ...DEFAULT_DETECTOR_OPTIONS, trainWindow: 300, calibration: { history: 300, short: 1, minStd: 0.01 } });
    const r = new Prng(3);
    let maxBefore = 0;
    for (let i = 0; i < 600; i++) maxBefore = Math.max(maxBefore, d.update([10 + r.gaussian()]).score);
    const shift = d.update([60]);
    expect(shift.raw).toBeGreaterThan(0.95);
    expect(shift.score).toBeGreaterThan(0.6);
    expect(shift.score).toBeGreaterThan(maxBefore);
    expect(d.explain().z).toBeGreaterThan(10);
  });

  it('holds only what it has seen: the training ring grows as it fills, the daily table comes with the first closed bin', () => {
    const d = new StreamingDetector(['v'], DEFAULT_DETECTOR_OPTIONS);
    const young = d.bytes;
    expect(young).toBeLessThan(8 * 1024); // not the 16 KiB ring + 16 KiB table + model of a full one
    const r = new Prng(9);
    const seen: number[] = [];
    for (let i = 0; i < 2000; i++) {
      d.update([10 + r.gaussian()], 1_700_000_000_000 + i * 1000);
      if (i === 40 || i === 1999) seen.push(d.bytes);
    }
    expect(seen[0]).toBeLessThan(8 * 1024); // 40 points: a few KiB
    // full: ring (1,000 × 4 features × 4 B) + table (288 × 7 × 8 B) + a 50-tree model, ≈ 110 KiB
    expect(seen[1]).toBeGreaterThan(100 * 1024);
    expect(seen[1]).toBeLessThan(120 * 1024);
  });

  it('config defaults map onto the detector defaults', () => {
    const o = detectorOptions(anomalyConfigSchema.parse({}));
    expect(o).toEqual({ ...DEFAULT_DETECTOR_OPTIONS, features: { ...DEFAULT_DETECTOR_OPTIONS.features } });
    expect(() => anomalyConfigSchema.parse({ windw: 10 })).toThrow();
    expect(() => anomalyConfigSchema.parse({ features: { use: ['nope'] } })).toThrow();
  });
});

describe('detector snapshots', () => {
  it('restore carries model and window over, and refuses a snapshot of other features', () => {
    const opts = { ...DEFAULT_DETECTOR_OPTIONS, trees: 20, trainWindow: 200, calibration: { history: 200, short: 1, minStd: 0.01 } };
    const a = new StreamingDetector(['v'], opts);
    const r = new Prng(6);
    for (let i = 0; i < 300; i++) a.update([r.gaussian()]);
    const snap = JSON.parse(JSON.stringify(a.snapshot()));
    const b = new StreamingDetector(['v'], opts);
    b.restore(snap);
    expect(b.modelCount).toBe(1);
    expect(b.snapshot()!.train).toBe(snap.train);
    // the companion's running statistics come back too, so both score the next points alike
    expect(snap.gaussian).toHaveLength(7);
    expect(b.snapshot()!.gaussian).toEqual(snap.gaussian);
    const bad = new StreamingDetector(['v'], opts);
    expect(() => bad.restore({ ...snap, gaussian: [1, 2] })).toThrow(/companion/);
    expect(bad.modelCount).toBe(0);
    const other = new StreamingDetector(['v'], { ...opts, features: { window: 16, features: ['value', 'dev'] } });
    expect(() => other.restore(snap)).toThrow(/features/);
    expect(other.modelCount).toBe(0);
  });
});

describe('gaussian companion', () => {
  it('stays quiet on stationary noise, fires on a spike and on a sustained level shift, judged against the past only', () => {
    const g = new GaussianTail(1, { window: 2000, weight: 1, short: 40, shortGain: 3 });
    const r = new Prng(3);
    let maxQuiet = 0;
    for (let i = 0; i < 3000; i++) {
      const s = g.update([10 + r.gaussian()]);
      if (i > 100) maxQuiet = Math.max(maxQuiet, s);
    }
    expect(maxQuiet).toBeLessThan(0.5); // 1 in 100,000 over 2,900 gaussian points
    // a single spike of 12 σ saturates, the point after it is judged against history including it
    const spike = new GaussianTail(1, { window: 2000, weight: 1 });
    const r2 = new Prng(4);
    for (let i = 0; i < 500; i++) spike.update([r2.gaussian()]);
    expect(spike.update([12])).toBe(1);
    // a level shift of 2.5 σ: no single point is extreme, but the short mean is
    let shifted = 0;
    for (let i = 0; i < 80; i++) shifted = Math.max(shifted, g.update([12.5 + r.gaussian()]));
    expect(shifted).toBeGreaterThan(0.9);
    const plain = new GaussianTail(1, { window: 2000, weight: 1 });
    const r3 = new Prng(3);
    for (let i = 0; i < 3000; i++) plain.update([10 + r3.gaussian()]);
    let plainShift = 0;
    for (let i = 0; i < 80; i++) plainShift = Math.max(plainShift, plain.update([12.5 + r3.gaussian()]));
    expect(plainShift).toBeLessThan(shifted);
  });

  it('is fused by max into the calibrated score, and `gaussian.weight: 0` leaves the forest alone', () => {
    const on = detectorOptions(anomalyConfigSchema.parse({}));
    const off = detectorOptions(anomalyConfigSchema.parse({ gaussian: { weight: 0 } }));
    expect(on.gaussian?.weight).toBe(DEFAULT_DETECTOR_OPTIONS.gaussian?.weight);
    const a = new StreamingDetector(['v'], on);
    const b = new StreamingDetector(['v'], off);
    const r = new Prng(8);
    let higher = 0;
    for (let i = 0; i < 1500; i++) {
      const v = i === 1400 ? 40 : r.gaussian();
      const ra = a.update([v]);
      const ca = ra.calibrated;
      const rb = b.update([v]);
      expect(ra.raw).toBe(rb.raw); // same forest, same seed
      expect(ca).toBeGreaterThanOrEqual(rb.calibrated);
      if (ca > rb.calibrated) higher++;
    }
    expect(higher).toBeGreaterThan(0);
  });
});
