import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, probationaryLength, scaledSigmoid } from '../../agent/detect/nab/profiles.ts';
import { fileScore, optimiseThreshold, scoreCorpus, type NabFile } from '../../agent/detect/nab/scorer.ts';
import { parseNabSeries, windowsToRows } from '../../agent/detect/nab/data.ts';

const standard = NAB_PROFILES[0]!;
const lowFn = NAB_PROFILES[2]!;

/** 20 rows, one window at rows 10..13 (width 4); probation = ⌊0.15·20⌋ = 3 rows. */
function file(detectAt: number[], rows = 20, windows: [number, number][] = [[10, 13]]): NabFile {
  const scores = new Float64Array(rows);
  for (const i of detectAt) scores[i] = 1;
  return { name: 'f', scores, windows };
}

// σ(y) = 2/(1+e^(5y)) − 1, computed by hand:
const SIG_M1 = 2 / (1 + Math.exp(-5)) - 1; // 0.986614...
const SIG_M05 = 2 / (1 + Math.exp(-2.5)) - 1; // 0.848284...
const SIG_P23 = 2 / (1 + Math.exp(10 / 3)) - 1; // −0.931109... (2 rows past a width-4 window: y = 2/3)

describe('NAB profile maths', () => {
  it('scaled sigmoid and probationary period', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.986614, 6);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3.5)).toBe(-1);
    expect(probationaryLength(20)).toBe(3);
    expect(probationaryLength(4033)).toBe(604);
    expect(probationaryLength(22696)).toBe(750);
  });
});

describe('NAB file score (hand-computed)', () => {
  it('a detection at the first row of the window earns the full A_TP', () => {
    expect(fileScore(file([10]), standard, 0.5).score).toBeCloseTo(1, 12);
  });

  it('a missed window costs A_FN (2 under reward_low_FN_rate)', () => {
    expect(fileScore(file([]), standard, 0.5)).toMatchObject({ score: -1, tp: 0, fn: 1, fp: 0 });
    expect(fileScore(file([]), lowFn, 0.5).score).toBe(-2);
  });

  it('mid-window TP, a far FP and a near-window FP add up as NAB defines', () => {
    // row 12: y = −(13 − 12 + 1)/4 = −0.5 → σ(−0.5)/σ(−1) = 0.859793
    // row 5: no window before it → −A_FP = −0.11
    // row 15: y = |13 − 15| / (4 − 1) = 2/3 → 0.11 · σ(2/3) = −0.102422
    const want = SIG_M05 / SIG_M1 - 0.11 + 0.11 * SIG_P23;
    expect(want).toBeCloseTo(0.647371, 5);
    const r = fileScore(file([5, 12, 15]), standard, 0.5);
    expect(r.score).toBeCloseTo(want, 12);
    expect(r).toMatchObject({ tp: 1, fp: 2, fn: 0 });
  });

  it('only the earliest detection in a window counts, and every extra FP costs', () => {
    const one = fileScore(file([11]), standard, 0.5).score;
    expect(fileScore(file([11, 12, 13]), standard, 0.5).score).toBeCloseTo(one, 12);
    expect(fileScore(file([11, 4, 6]), standard, 0.5).score).toBeCloseTo(one - 0.22, 12);
  });

  it('ignores detections in the probationary period', () => {
    expect(fileScore(file([0, 1, 2, 10]), standard, 0.5).score).toBeCloseTo(1, 12);
    expect(fileScore(file([3, 10]), standard, 0.5).score).toBeCloseTo(1 - 0.11, 12);
  });

  it('rows far past a window (y > 3) cost the full A_FP', () => {
    // window 10..11 (width 2): row 16 → y = 5/1 > 3 → −0.11
    expect(fileScore(file([10, 16], 20, [[10, 11]]), standard, 0.5).score).toBeCloseTo(1 - 0.11, 12);
  });
});

describe('NAB threshold optimisation and normalisation', () => {
  const a: NabFile = { name: 'a', scores: Float64Array.from({ length: 20 }, (_, i) => (i === 10 ? 0.9 : i === 5 ? 0.7 : 0.1)), windows: [[10, 13]] };
  const b: NabFile = { name: 'b', scores: Float64Array.from({ length: 20 }, (_, i) => (i === 15 ? 0.8 : i === 7 ? 0.6 : 0.2)), windows: [[14, 17]] };

  it('picks the threshold that maximises the corpus sum', () => {
    // ≥0.9: a TP (1) + b missed (−1) = 0; ≥0.8: + b at row 15 (y = −3/4) → σ(−0.75)/σ(−1)
    // ≥0.7: − 0.11 (a row 5); ≥0.6: − 0.11 (b row 7)
    const bTp = (2 / (1 + Math.exp(-3.75)) - 1) / SIG_M1;
    const r = optimiseThreshold([a, b], standard);
    expect(r.threshold).toBe(0.8);
    expect(r.raw).toBeCloseTo(1 + bTp, 12);
  });

  it('perfect detector scores 100, the null detector 0', () => {
    const perfect: NabFile[] = [a, b].map((f) => ({ ...f, scores: Float64Array.from({ length: 20 }, (_, i) => (i === f.windows[0]![0] ? 1 : 0)) }));
    const nul: NabFile[] = [a, b].map((f) => ({ ...f, scores: new Float64Array(20).fill(0.5) }));
    for (const r of scoreCorpus(perfect)) expect(r.normalised).toBeCloseTo(100, 9);
    for (const r of scoreCorpus(nul)) expect(r.normalised).toBeCloseTo(0, 9);
    const [std] = scoreCorpus([a, b]);
    expect(std!.normalised).toBeGreaterThan(0);
    expect(std!.normalised).toBeLessThan(100);
    expect(std!.perfectRaw).toBe(2);
  });
});

describe('NAB files', () => {
  it('parses CRLF files and maps windows to inclusive row ranges', () => {
    const text = 'timestamp,value\r\n2014-01-01 00:00:00,1\r\n2014-01-01 00:05:00,2\r\n2014-01-01 00:10:00,3\r\n2014-01-01 00:15:00,4\r\n';
    const s = parseNabSeries(text, 'x.csv');
    expect(Array.from(s.values)).toEqual([1, 2, 3, 4]);
    expect(s.timestampText[3]).toBe('2014-01-01 00:15:00');
    expect(windowsToRows(s.t, [['2014-01-01 00:05:00.000000', '2014-01-01 00:10:00.000000']])).toEqual([[1, 2]]);
  });

  it('names the file and line of a malformed row', () => {
    expect(() => parseNabSeries('timestamp,value\n2014-01-01 00:00:00,abc\n', 'bad.csv')).toThrow(/bad\.csv:2: bad value/);
    expect(() => parseNabSeries('time,v\n', 'hdr.csv')).toThrow(/hdr\.csv: expected columns/);
  });
});
