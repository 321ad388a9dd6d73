import { NAB_PROFILES, probationaryLength, scaledSigmoid, type NabProfile } from './profiles.ts';

/** One labelled file: its detector scores and anomaly windows as inclusive row ranges. */
export interface NabFile {
  readonly name: string;
  readonly scores: ArrayLike<number>;
  /** [first row, last row] of each window, inclusive, in time order, non-overlapping. */
  readonly windows: readonly (readonly [number, number])[];
}

/** Per-row NAB weights, independent of the threshold: what a detection on that row would earn. */
interface RowWeights {
  /** Weighted score of a detection on each row (positive inside a window, negative outside). */
  readonly weight: Float64Array;
  /** Window id of each row (−1 outside every window). */
  readonly window: Int32Array;
  readonly probation: number;
  readonly windows: number;
}

/** NAB's per-row weighting (sweeper.calcSweepScore) for one file and profile. */
export function rowWeights(rows: number, windows: NabFile['windows'], profile: NabProfile): RowWeights {
  const weight = new Float64Array(rows);
  const window = new Int32Array(rows).fill(-1);
  const maxTp = scaledSigmoid(-1);
  let w = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < rows; i++) {
    const cur = windows[w];
    if (cur && i >= cur[0] && i <= cur[1]) {
      const width = cur[1] - cur[0] + 1;
      const y = -(cur[1] - i + 1) / width;
      weight[i] = (scaledSigmoid(y) * profile.tp) / maxTp;
      window[i] = w;
      if (i === cur[1]) {
        prevRight = cur[1];
        prevWidth = width;
        w++;
      }
    } else {
      // a false positive right after a window costs less than one far from any
      const unweighted = prevRight < 0 ? -1 : scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
      weight[i] = unweighted * profile.fp;
    }
  }
  return { weight, window, probation: probationaryLength(rows), windows: windows.length };
}

/** Raw NAB score of one file at a threshold (detections: score ≥ threshold). */
export function fileScore(file: NabFile, profile: NabProfile, threshold: number): { score: number; tp: number; fp: number; fn: number } {
  const rows = file.scores.length;
  const rw = rowWeights(rows, file.windows, profile);
  const best = new Float64Array(rw.windows).fill(Number.NaN);
  let fpScore = 0;
  let fp = 0;
  for (let i = rw.probation; i < rows; i++) {
    if (!(file.scores[i]! >= threshold)) continue;
    const win = rw.window[i]!;
    if (win < 0) {
      fpScore += rw.weight[i]!;
      fp++;
    } else if (!(best[win]! >= rw.weight[i]!)) {
      best[win] = rw.weight[i]!;
    }
  }
  let score = fpScore;
  let tp = 0;
  let fn = 0;
  for (let w = 0; w < rw.windows; w++) {
    if (Number.isNaN(best[w]!)) {
      score -= profile.fn;
      fn++;
    } else {
      score += best[w]!;
      tp++;
    }
  }
  return { score, tp, fp, fn };
}

export interface ThresholdResult {
  readonly threshold: number;
  /** Sum of the files' raw scores at that threshold. */
  readonly raw: number;
}

/**
 * Finds the single threshold that maximises the summed raw score over all files
 * (sweeper.calcScoreByThreshold): rows sorted by score, descending, lowering the threshold
 * one distinct score at a time; each window keeps its best (earliest) detection.
 */
export function optimiseThreshold(files: readonly NabFile[], profile: NabProfile): ThresholdResult {
  let n = 0;
  const perFile = files.map((f) => rowWeights(f.scores.length, f.windows, profile));
  for (let k = 0; k < files.length; k++) n += Math.max(0, files[k]!.scores.length - perFile[k]!.probation);
  const score = new Float64Array(n);
  const weight = new Float64Array(n);
  const win = new Int32Array(n); // global window id or −1
  let o = 0;
  let windowBase = 0;
  for (let k = 0; k < files.length; k++) {
    const f = files[k]!;
    const rw = perFile[k]!;
    for (let i = rw.probation; i < f.scores.length; i++, o++) {
      const s = f.scores[i]!;
      score[o] = Number.isFinite(s) ? s : -Infinity;
      weight[o] = rw.weight[i]!;
      win[o] = rw.window[i]! < 0 ? -1 : windowBase + rw.window[i]!;
    }
    windowBase += rw.windows;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b]! - score[a]!);
  const best = new Float64Array(windowBase).fill(Number.NaN);
  let total = -profile.fn * windowBase; // nothing detected: every window missed
  let bestResult: ThresholdResult = { threshold: Infinity, raw: total };
  for (let j = 0; j < n; ) {
    const s = score[order[j]!]!;
    // every row with this exact score becomes a detection together
    for (; j < n && score[order[j]!]! === s; j++) {
      const r = order[j]!;
      const w = win[r]!;
      if (w < 0) total += weight[r]!;
      else if (Number.isNaN(best[w]!)) {
        best[w] = weight[r]!;
        total += weight[r]! + profile.fn;
      } else if (weight[r]! > best[w]!) {
        total += weight[r]! - best[w]!;
        best[w] = weight[r]!;
      }
    }
    if (total > bestResult.raw) bestResult = { threshold: s, raw: total };
  }
  return bestResult;
}

export interface ProfileResult {
  readonly profile: string;
  readonly threshold: number;
  readonly raw: number;
  readonly nullRaw: number;
  readonly perfectRaw: number;
  /** 100 · (raw − null) / (perfect − null). */
  readonly normalised: number;
  readonly perFile: readonly { name: string; score: number; tp: number; fp: number; fn: number }[];
}

/** Scores a corpus under every profile: optimal threshold, then normalisation against null and perfect. */
export function scoreCorpus(files: readonly NabFile[], profiles: readonly NabProfile[] = NAB_PROFILES): ProfileResult[] {
  return profiles.map((profile) => {
    const { threshold, raw } = optimiseThreshold(files, profile);
    // the null detector: one constant score on every row, threshold optimised like any other
    const nullRaw = optimiseThreshold(
      files.map((f) => ({ ...f, scores: new Float64Array(f.scores.length).fill(0.5) })),
      profile,
    ).raw;
    const windows = files.reduce((a, f) => a + f.windows.length, 0);
    const perfectRaw = profile.tp * windows;
    const normalised = perfectRaw === nullRaw ? 0 : (100 * (raw - nullRaw)) / (perfectRaw - nullRaw);
    const perFile = files.map((f) => ({ name: f.name, ...fileScore(f, profile, threshold) }));
    return { profile: profile.name, threshold, raw, nullRaw, perfectRaw, normalised, perFile };
  });
}
