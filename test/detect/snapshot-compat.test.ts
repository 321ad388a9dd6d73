import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamingDetector, DEFAULT_DETECTOR_OPTIONS, type DetectorOptions, type DetectorSnapshot } from '../../agent/detect/anomaly/streaming-detector.ts';

interface Fixture {
  /** Options of the detector that saved it (seasonal: null, off, keeps the fixture small). */
  readonly overrides: Omit<Partial<DetectorOptions>, 'seasonal'> & { readonly seasonal: null };
  readonly snapshot: DetectorSnapshot;
  readonly next: number[];
  readonly raw: number[];
  readonly calibrated: number[];
}

describe('saved detectors from before the compact model (forest v2, f64 training window)', () => {
  it('restore and score the next points as a detector of the code that saved them did', () => {
    const fix = JSON.parse(readFileSync(new URL('./testdata/detector-snapshot-v1.json', import.meta.url), 'utf8')) as Fixture;
    expect(fix.snapshot.forest.version).toBe(2);
    const { seasonal: _off, ...overrides } = fix.overrides;
    const det = new StreamingDetector(['v'], { ...DEFAULT_DETECTOR_OPTIONS, ...overrides, seasonal: undefined });
    det.restore(fix.snapshot);
    expect(det.snapshot()!.forest.version).toBe(3);
    let worst = 0;
    for (let i = 0; i < fix.next.length; i++) {
      const o = det.update([fix.next[i]!]);
      // leaf values to 1/2048 and the window to f32 move a score by ~1e-5, the retrains inside included
      worst = Math.max(worst, Math.abs(o.raw - fix.raw[i]!), Math.abs(o.calibrated - fix.calibrated[i]!));
    }
    expect(worst).toBeLessThan(1e-4); // 7e-6 when written
    // the planted spike is still the top score
    const top = fix.calibrated.indexOf(Math.max(...fix.calibrated));
    expect(top).toBe(30);
  });
});
