import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { IsolationForest, type IsolationForestJson } from '../../agent/detect/iforest/forest.ts';
import { averagePathLength, harmonic } from '../../agent/detect/iforest/path-length.ts';
import { Prng } from '../../agent/detect/iforest/prng.ts';

function uniform(rows: number, dims: number, seed: number): Float64Array {
  const r = new Prng(seed);
  const out = new Float64Array(rows * dims);
  for (let i = 0; i < out.length; i++) out[i] = r.next();
  return out;
}

function cluster(rows: number, dims: number, seed: number, spread = 0.1): Float64Array {
  const r = new Prng(seed);
  const out = new Float64Array(rows * dims);
  for (let i = 0; i < out.length; i++) out[i] = r.gaussian() * spread;
  return out;
}

describe('path length', () => {
  it('harmonic numbers: exact for small i, asymptotic beyond, continuous at the switch', () => {
    expect(harmonic(1)).toBe(1);
    expect(harmonic(4)).toBeCloseTo(1 + 1 / 2 + 1 / 3 + 1 / 4, 14);
    let h = 0;
    for (let i = 1; i <= 1000; i++) h += 1 / i;
    expect(harmonic(1000)).toBeCloseTo(h, 10);
  });

  it('c(n) matches the paper: c(2)=1, c(256)=2H(255)−2·255/256', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    expect(averagePathLength(3)).toBeCloseTo(2 * 1.5 - 4 / 3, 12);
    let h255 = 0;
    for (let i = 1; i <= 255; i++) h255 += 1 / i;
    expect(averagePathLength(256)).toBeCloseTo(2 * h255 - (2 * 255) / 256, 12); // ≈ 10.2487
    // large n uses the asymptotic expansion; it must agree with the exact sum
    let h999 = 0;
    for (let i = 1; i <= 999; i++) h999 += 1 / i;
    expect(averagePathLength(1000)).toBeCloseTo(2 * h999 - (2 * 999) / 1000, 9);
  });
});

describe('isolation forest', () => {
  it('scores an isolated point near 1 and dense-cluster points below 0.5', () => {
    const data = cluster(1000, 2, 7);
    const f = new IsolationForest({ seed: 1 }).fit(data, 1000, 2);
    expect(f.score([4, 4])).toBeGreaterThan(0.75);
    expect(f.score([0, 0])).toBeLessThan(0.5);
    let inner = 0;
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      const x = data[2 * i]!;
      const y = data[2 * i + 1]!;
      if (Math.hypot(x, y) < 0.1) {
        inner += f.score(data, 2 * i);
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
    expect(inner / n).toBeLessThan(0.45);
  });

  it('a planted outlier scores higher than every inlier of its training set', () => {
    const data = cluster(500, 3, 11);
    data.set([3, -3, 3], 250 * 3);
    const f = new IsolationForest({ seed: 2 }).fit(data, 500, 3);
    const s = f.scoreMany(data, 500);
    const outlier = s[250]!;
    expect(outlier).toBeGreaterThan(0.7);
    for (let i = 0; i < 500; i++) if (i !== 250) expect(s[i]!).toBeLessThan(outlier);
  });

  it('batch scoring equals point-by-point scoring, for every tree height and a tree count not a multiple of 8', () => {
    for (const [psi, trees, rows] of [[256, 100, 1000], [16, 13, 40], [2, 3, 5], [100, 8, 150]] as const) {
      const data = cluster(rows, 3, psi + trees);
      const f = new IsolationForest({ trees, sampleSize: psi, seed: 5 }).fit(data, rows, 3);
      const probe = uniform(150, 3, 9); // more than one block of 64, partly outside the training range
      for (let i = 0; i < probe.length; i++) probe[i] = (probe[i]! - 0.5) * 2;
      const batch = f.scoreMany(probe, 150);
      for (let i = 0; i < 150; i++) expect(batch[i]).toBe(f.score(probe, i * 3));
      expect(f.heightLimit).toBe(Math.max(1, Math.ceil(Math.log2(Math.min(psi, rows)))));
    }
  });

  it('scores uniform data ≈ 0.5 on average', () => {
    const data = uniform(4000, 2, 5);
    const f = new IsolationForest({ seed: 3 }).fit(data, 4000, 2);
    const mean = f.scoreMany(data, 4000).reduce((a, b) => a + b, 0) / 4000;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('is deterministic under a seed, and a different seed gives a different model', () => {
    const data = uniform(800, 3, 9);
    const a = new IsolationForest({ seed: 42 }).fit(data, 800, 3).scoreMany(data, 800);
    const b = new IsolationForest({ seed: 42 }).fit(data, 800, 3).scoreMany(data, 800);
    const c = new IsolationForest({ seed: 43 }).fit(data, 800, 3).scoreMany(data, 800);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('retraining builds a new model (unlike the npm package, which keeps appending to its data)', () => {
    const data = uniform(600, 2, 1);
    const f = new IsolationForest({ seed: 8 }).fit(data, 600, 2);
    const before = f.scoreMany(data, 600);
    f.fit(data, 600, 2); // same data, PRNG moved on → different trees
    const again = f.scoreMany(data, 600);
    expect(Array.from(again)).not.toEqual(Array.from(before));
    // on shifted data the old region becomes anomalous: the model follows the new data
    const shifted = data.map((v) => v + 10);
    f.fit(shifted, 600, 2);
    expect(f.score([10.5, 10.5])).toBeLessThan(0.5);
    expect(f.score([0.5, 0.5])).toBeGreaterThan(0.6);
    expect(f.featureMin(0)).toBeGreaterThanOrEqual(10);
  });

  it('serialize → restore gives identical scores (JSON and binary), and the PRNG continues', () => {
    const data = cluster(700, 4, 3);
    const f = new IsolationForest({ trees: 37, sampleSize: 128, seed: 5 }).fit(data, 700, 4);
    const probe = uniform(300, 4, 77).map((v) => v * 4 - 2);
    const want = Array.from(f.scoreMany(probe, 300));
    const fromJson = IsolationForest.fromJSON(JSON.parse(JSON.stringify(f.toJSON())));
    const fromBin = IsolationForest.fromBinary(f.toBinary());
    expect(Array.from(fromJson.scoreMany(probe, 300))).toEqual(want);
    expect(Array.from(fromBin.scoreMany(probe, 300))).toEqual(want);
    expect(fromBin.heightLimit).toBe(7);
    // the next fit after a restore equals the next fit of the original
    f.fit(data, 700, 4);
    fromBin.fit(data, 700, 4);
    expect(Array.from(fromBin.scoreMany(probe, 300))).toEqual(Array.from(f.scoreMany(probe, 300)));
  });

  it('loads models saved in the older v2 format (f32 leaf values) and scores as they did, to ~1e-6', () => {
    const fix = JSON.parse(readFileSync(new URL('./testdata/iforest-v2.json', import.meta.url), 'utf8')) as { json: IsolationForestJson; binary: string; probe: number[]; scores: number[] };
    expect(fix.json.version).toBe(2);
    for (const f of [IsolationForest.fromJSON(fix.json), IsolationForest.fromBinary(Buffer.from(fix.binary, 'base64'))]) {
      const got = f.scoreMany(fix.probe, fix.scores.length);
      for (let i = 0; i < fix.scores.length; i++) expect(Math.abs(got[i]! - fix.scores[i]!)).toBeLessThan(2e-5);
      // saved again, it is a v3 model with the same scores to the bit
      expect(f.toJSON().version).toBe(3);
      expect(Array.from(IsolationForest.fromBinary(f.toBinary()).scoreMany(fix.probe, fix.scores.length))).toEqual(Array.from(got));
    }
    // a v2 leaf value that no tree can produce is refused, not scored
    const leaf = Buffer.from(fix.json.leaf, 'base64');
    leaf.writeFloatLE(-1, 0);
    expect(() => IsolationForest.fromJSON({ ...fix.json, leaf: leaf.toString('base64') })).toThrow(/leaf slot 0/);
  });

  it('stores a leaf in 2 bytes and a node in 4', () => {
    const f = new IsolationForest({ trees: 10, sampleSize: 256, seed: 1 }).fit(uniform(1000, 4, 2), 1000, 4);
    expect(f.bytes).toBe(10 * (255 * 4 + 256 * 2) + 4 * 8 * 3 + 4 * 4);
    expect(() => new IsolationForest({ sampleSize: 8192 })).toThrow(/sampleSize/);
  });

  it('rejects corrupt binary models with a reason', () => {
    const f = new IsolationForest({ trees: 4, seed: 1 }).fit(uniform(50, 1, 1), 50, 1);
    const bin = f.toBinary();
    expect(() => IsolationForest.fromBinary(bin.slice(0, bin.length - 3))).toThrow(/bytes, expected/);
    const bad = bin.slice();
    bad[0] = 0;
    expect(() => IsolationForest.fromBinary(bad)).toThrow(/magic/);
    // a leaf value beyond any path length of the tree's height
    const big = bin.slice();
    big[big.length - 1] = 0xff;
    expect(() => IsolationForest.fromBinary(big)).toThrow(/leaf slot/);
    const v1 = bin.slice();
    v1[4] = 1;
    expect(() => IsolationForest.fromBinary(v1)).toThrow(/unsupported binary version 1/);
  });

  it('uses height limit ⌈log2 ψ⌉ and ψ = min(sampleSize, rows)', () => {
    expect(new IsolationForest({ seed: 1 }).fit(uniform(1000, 1, 1), 1000, 1).heightLimit).toBe(8);
    expect(new IsolationForest({ seed: 1 }).fit(uniform(100, 1, 1), 100, 1).heightLimit).toBe(7);
    expect(new IsolationForest({ sampleSize: 64, seed: 1 }).fit(uniform(1000, 1, 1), 1000, 1).heightLimit).toBe(6);
  });

  it('handles constant data and single rows without throwing', () => {
    const f = new IsolationForest({ seed: 1 }).fit(new Float64Array(200).fill(3), 100, 2);
    expect(f.score([3, 3])).toBeGreaterThan(0);
    const g = new IsolationForest({ seed: 1 }).fit([1, 2], 1, 2);
    expect(Number.isFinite(g.score([1, 2]))).toBe(true);
  });
});

describe('extended isolation forest', () => {
  it('isolated point near 1, cluster below 0.5, deterministic, JSON round trip', async () => {
    const { ExtendedIsolationForest } = await import('../../agent/detect/iforest/extended.ts');
    const data = cluster(800, 3, 21);
    const f = new ExtendedIsolationForest({ seed: 4 }).fit(data, 800, 3);
    expect(f.score([2, -2, 2])).toBeGreaterThan(0.7);
    expect(f.score([0, 0, 0])).toBeLessThan(0.5);
    const g = new ExtendedIsolationForest({ seed: 4 }).fit(data, 800, 3);
    const probe = uniform(200, 3, 8).map((v) => v * 2 - 1);
    const a = Array.from({ length: 200 }, (_, i) => f.score(probe, 3 * i));
    expect(Array.from({ length: 200 }, (_, i) => g.score(probe, 3 * i))).toEqual(a);
    const back = ExtendedIsolationForest.fromJSON(JSON.parse(JSON.stringify(f.toJSON())));
    expect(Array.from({ length: 200 }, (_, i) => back.score(probe, 3 * i))).toEqual(a);
  });

  it('fills the axis-parallel ghost: the empty corner between two clusters scores higher than with cuts', async () => {
    const { ExtendedIsolationForest } = await import('../../agent/detect/iforest/extended.ts');
    // clusters at (−5, −5) and (5, 5): axis-parallel cuts leave (5, −5) looking half-normal
    const r = new Prng(1);
    const data = new Float64Array(4000);
    for (let i = 0; i < 2000; i++) {
      const c = i % 2 ? 5 : -5;
      data[2 * i] = c + r.gaussian();
      data[2 * i + 1] = c + r.gaussian();
    }
    const std = new IsolationForest({ seed: 1 }).fit(data, 2000, 2);
    const ext = new ExtendedIsolationForest({ seed: 1 }).fit(data, 2000, 2);
    expect(ext.score([5, -5]) - std.score([5, -5])).toBeGreaterThan(0.04); // measured 0.68 vs 0.60
    expect(ext.score([5, 5])).toBeLessThan(0.5);
  });
});
