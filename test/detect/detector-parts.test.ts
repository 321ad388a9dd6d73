import { describe, expect, it } from 'vitest';
import { erfc, tailScore, RepeatSuppressor, ScoreCalibrator } from '../../agent/detect/anomaly/calibration.ts';
import { FeatureExtractor } from '../../agent/detect/anomaly/features.ts';
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
    const other = new StreamingDetector(['v'], { ...opts, features: { window: 16, features: ['value', 'dev'] } });
    expect(() => other.restore(snap)).toThrow(/features/);
    expect(other.modelCount).toBe(0);
  });
});
