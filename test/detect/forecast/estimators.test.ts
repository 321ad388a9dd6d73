import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { medianInPlace, selectInPlace } from '../../../agent/detect/forecast/median.ts';
import { olsSlope, theilSen } from '../../../agent/detect/forecast/theil-sen.ts';
import { HoltTrend } from '../../../agent/detect/forecast/holt.ts';
import { fitQuadratic } from '../../../agent/detect/forecast/quadratic.ts';

describe('median and selection', () => {
  it('matches a sort for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 60 }), (xs) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const n = xs.length;
        const expected = n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
        expect(medianInPlace(Float64Array.from(xs), n)).toBeCloseTo(expected, 9);
        const k = Math.floor(n / 3);
        expect(selectInPlace(Float64Array.from(xs), 0, n - 1, k)).toBe(sorted[k]);
      }),
    );
  });
});

describe('Theil–Sen', () => {
  it('recovers the slope despite 25 % gross outliers, where least squares does not', () => {
    const n = 40;
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = i * 10;
      v[i] = 100 + 0.5 * t[i]! + (i % 4 === 3 ? 300 * (i / n) : 0);
    }
    const ts = theilSen(t, v, 0, n, new Float64Array((n * (n - 1)) / 2));
    expect(ts.slope).toBeCloseTo(0.5, 6);
    expect(Math.abs(olsSlope(t, v, 0, n) - 0.5)).toBeGreaterThan(0.2);
  });

  it('with a minimum lag, measures a staircase by pairs that span steps (long-run rate), tau unchanged', () => {
    // 30 points 20 s apart; 30-unit steps in pairs with long flats between: 0.31 per s end to end.
    const steps = [30, 50, 250, 270, 470, 490];
    const n = 30;
    const t = Float64Array.from({ length: n }, (_, i) => i * 20);
    const v = Float64Array.from(t, (x) => 30 * steps.filter((s) => s <= x).length);
    const scratch = new Float64Array((n * (n - 1)) / 2);
    const all = theilSen(t, v, 0, n, scratch);
    const long = theilSen(t, v, 0, n, scratch, 290);
    const endToEnd = (v[n - 1]! - v[0]!) / (t[n - 1]! - t[0]!);
    expect(Math.abs(long.slope - endToEnd)).toBeLessThan(Math.abs(all.slope - endToEnd));
    expect(Math.abs(long.slope - endToEnd) / endToEnd).toBeLessThan(0.1);
    expect(long.tau).toBeCloseTo(all.tau, 12);
    // No pair that far apart: every pair is used.
    expect(theilSen(t, v, 0, n, scratch, 1e9).slope).toBe(all.slope);
  });

  it('Kendall tau is 1 for a strictly rising series, −1 falling, ~0 for a flat noisy one', () => {
    const n = 20;
    const t = Float64Array.from({ length: n }, (_, i) => i);
    const up = Float64Array.from({ length: n }, (_, i) => i * i);
    const down = Float64Array.from({ length: n }, (_, i) => -i);
    const flat = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1));
    const scratch = new Float64Array(200);
    expect(theilSen(t, up, 0, n, scratch).tau).toBe(1);
    expect(theilSen(t, down, 0, n, scratch).tau).toBe(-1);
    expect(Math.abs(theilSen(t, flat, 0, n, scratch).tau)).toBeLessThan(0.1);
  });
});

describe('Holt', () => {
  it('converges to the slope of a clean line', () => {
    const h = new HoltTrend(0.3, 0.1);
    for (let t = 0; t < 2000; t++) h.push(t, 10 + 2 * t);
    expect(h.trend).toBeCloseTo(2, 3);
  });
});

describe('quadratic bend', () => {
  it('recovers slope and curvature of an exact parabola, with a huge t statistic', () => {
    const t = Float64Array.from({ length: 10 }, (_, i) => i * 10);
    const v = Float64Array.from(t, (x) => 5 + 2 * x - 0.01 * x * x);
    const q = fitQuadratic(t, v, 0, 10)!;
    expect(q.tc).toBe(45);
    expect(q.slope).toBeCloseTo(2 - 0.02 * 45, 9);
    expect(q.curvature).toBeCloseTo(-0.02, 9);
    expect(q.curvatureT).toBeLessThan(-1e6);
  });

  it('a noisy straight line has an insignificant bend; an exponential approach a strongly negative one', () => {
    const rand = (() => {
      let a = 7;
      return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    })();
    const t = Float64Array.from({ length: 30 }, (_, i) => i * 20);
    const line = Float64Array.from(t, (x) => 100 + 0.3 * x + 4 * rand());
    const sat = Float64Array.from(t, (x) => 100 + 160 * (1 - Math.exp(-x / 180)) + 4 * rand());
    expect(Math.abs(fitQuadratic(t, line, 0, 30)!.curvatureT)).toBeLessThan(2);
    expect(fitQuadratic(t, sat, 0, 30)!.curvatureT).toBeLessThan(-10);
    expect(fitQuadratic(t, sat, 0, 3)).toBeUndefined();
  });

  it('residual autocorrelation: near 0 for noise about the curve, high where the quadratic misses the shape', () => {
    let a = 11;
    const rand = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    const t = Float64Array.from({ length: 30 }, (_, i) => i * 20);
    const noisy = Float64Array.from(t, (x) => 100 + 0.3 * x + 4 * rand());
    // A start-up climb, then a straight leak: a hockey stick.
    const stick = Float64Array.from(t, (x) => 100 + 0.3 * x + (x < 60 ? -40 + (40 * x) / 60 : 0));
    expect(Math.abs(fitQuadratic(t, noisy, 0, 30)!.residualAutocorrelation)).toBeLessThan(0.4);
    expect(fitQuadratic(t, stick, 0, 30)!.residualAutocorrelation).toBeGreaterThan(0.5);
  });
});
