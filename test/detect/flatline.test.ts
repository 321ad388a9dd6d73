import { describe, expect, it } from 'vitest';
import { FlatlineTail, DEFAULT_FLATLINE } from '../../agent/detect/anomaly/flatline.ts';
import { StreamingDetector, DEFAULT_DETECTOR_OPTIONS } from '../../agent/detect/anomaly/streaming-detector.ts';
import { anomalyConfigSchema, detectorOptions } from '../../agent/detect/anomaly/config.ts';
import { Prng } from '../../agent/detect/iforest/prng.ts';

const DAY = 288;

/** Scores a whole series; returns each point's flatline score. */
function scores(v: readonly number[], opts = DEFAULT_FLATLINE): number[] {
  const f = new FlatlineTail(1, opts);
  return v.map((x) => f.update([x]));
}

/** Integer-valued noise around 50 (σ 3): repeats happen now and then, as in real counters. */
function noisyInts(n: number, seed: number): number[] {
  const r = new Prng(seed);
  return Array.from({ length: n }, () => Math.round(50 + 3 * r.gaussian()));
}

describe('flatline companion', () => {
  it('fires on a varying series that freezes, and names it in the explanation', () => {
    const v = noisyInts(3000, 1);
    for (let i = 2000; i < 2100; i++) v[i] = 0; // a dead exporter reporting 0
    const s = scores(v);
    expect(Math.max(...s.slice(0, 2000))).toBeLessThan(0.2);
    expect(Math.max(...s.slice(2000, 2100))).toBeGreaterThan(0.9);
    // within a few dozen points, not only at the end of the run
    expect(s.slice(2000, 2040).some((x) => x > 0.5)).toBe(true);
    expect(Math.max(...s.slice(2101))).toBeLessThan(0.2);

    const det = new StreamingDetector(['value'], { ...DEFAULT_DETECTOR_OPTIONS, flatline: DEFAULT_FLATLINE });
    let explained = '';
    for (let i = 0; i < v.length; i++) {
      const r = det.update([v[i]!]);
      if (i === 2060) {
        expect(r.calibrated).toBeGreaterThan(0.9);
        const e = det.explain();
        expect(e.by).toBe('flatline');
        explained = e.text;
      }
    }
    expect(explained).toMatch(/stuck at 0\.000 for 61 points/);
  });

  it('stays silent on a series constant from its start', () => {
    expect(Math.max(...scores(new Array<number>(5000).fill(7)))).toBe(0);
  });

  it('stays silent on a rarely-varying counter (mostly 0, now and then a 1)', () => {
    const r = new Prng(2);
    const v = Array.from({ length: 6000 }, () => (r.next() < 0.02 ? 1 : 0));
    v.fill(0, 5000, 5800); // a longer quiet spell than usual: ordinary for such a counter
    expect(Math.max(...scores(v))).toBe(0);
  });

  it('stays silent on agent-style series: white noise and a daily cycle of counts', () => {
    const r = new Prng(3);
    const white = Array.from({ length: 10 * DAY }, () => r.gaussian());
    expect(Math.max(...scores(white))).toBe(0); // continuous values never repeat exactly
    const cycle = Array.from({ length: 10 * DAY }, (_, i) => Math.round(20 + 15 * Math.sin((2 * Math.PI * i) / DAY) + 2 * r.gaussian()));
    expect(Math.max(...scores(cycle))).toBeLessThan(0.3);
  });

  it('is off by default in the detector and in the config, on with a weight', () => {
    expect(DEFAULT_DETECTOR_OPTIONS.flatline?.weight).toBe(0);
    const off = detectorOptions(anomalyConfigSchema.parse({}));
    expect(off.flatline?.weight).toBe(0);
    const on = detectorOptions(anomalyConfigSchema.parse({ flatline: { weight: 1, max_repeat_share: 0.3 } }));
    expect(on.flatline).toEqual({ ...DEFAULT_FLATLINE, weight: 1, maxRepeatShare: 0.3 });
    const v = noisyInts(1200, 4);
    v.fill(0, 1000, 1100);
    const det = new StreamingDetector(['value'], DEFAULT_DETECTOR_OPTIONS);
    for (const x of v) det.update([x]);
    expect(det.explain().by).not.toBe('flatline');
  });

  it('goes on where it stopped after a snapshot restore', () => {
    const v = noisyInts(2100, 5);
    v.fill(0, 2000, 2100);
    const opts = { ...DEFAULT_DETECTOR_OPTIONS, flatline: DEFAULT_FLATLINE };
    const a = new StreamingDetector(['value'], opts);
    for (let i = 0; i < 2030; i++) a.update([v[i]!]);
    const snap = a.snapshot()!;
    expect(snap.flatline).toHaveLength(8);
    const b = new StreamingDetector(['value'], opts);
    b.restore(JSON.parse(JSON.stringify(snap)));
    // the restored run counts carry on: the frozen run is scored as if nothing had happened
    // (the first points after a restore refill the feature window and score 0)
    for (let i = 2030; i < 2100; i++) {
      const x = a.update([v[i]!]).calibrated;
      const y = b.update([v[i]!]).calibrated;
      if (i >= 2050) expect(y).toBe(x);
    }
    expect(b.explain().by).toBe('flatline');
    expect(() => b.restore({ ...snap, flatline: [1, 2, 3] })).toThrow(/flatline/);
  });
});
