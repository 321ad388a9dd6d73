/** What `vigil detect` and `vigil eval nab` do; loaded only when one of them runs. */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { anomalyConfigSchema, detectorOptions } from './config.ts';
import { detectSeries } from './streaming-detector.ts';
import { readNabSeries, readDetectorScores, readWindowLabels, windowsToRows } from '../nab/data.ts';
import { scoreCorpus, type NabFile, type ProfileResult } from '../nab/scorer.ts';

/** Default detector settings, as the agent runs them (`detect.anomaly` with no keys set). */
function defaultOptions(seed?: number) {
  const cfg = anomalyConfigSchema.parse({});
  return detectorOptions(cfg, seed ?? cfg.seed);
}

/** Formats a score for the output CSV: enough digits to keep the ranking, no exponent noise. */
function fmt(x: number): string {
  return x === 0 ? '0' : x.toFixed(6);
}

/** `vigil detect`: one NAB-format file in, `timestamp,value,anomaly_score` out (same rows, same order). */
export async function runDetect(input: string, output: string, seed?: number): Promise<{ rows: number }> {
  const series = await readNabSeries(input);
  const scores = detectSeries(series.values, defaultOptions(seed), undefined, series.t);
  const lines = ['timestamp,value,anomaly_score'];
  for (let i = 0; i < scores.length; i++) lines.push(`${series.timestampText[i]},${series.valueText[i]},${fmt(scores[i]!)}`);
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, `${lines.join('\n')}\n`);
  return { rows: scores.length };
}

export interface EvalNabOptions {
  readonly data: string;
  readonly labels: string;
  /** Directory of precomputed detector outputs (`<category>/<file>.csv` with `anomaly_score`). */
  readonly detectorOutput?: string;
  readonly seed?: number;
}

/**
 * `vigil eval nab`: scores every labelled file found under `data` (by the labels' relative
 * paths), with precomputed outputs or by running the detector, and returns the three profiles.
 */
export async function runEvalNab(o: EvalNabOptions): Promise<ProfileResult[]> {
  const labels = await readWindowLabels(o.labels);
  const opts = defaultOptions(o.seed);
  const files: NabFile[] = [];
  for (const name of Object.keys(labels).sort()) {
    const path = join(o.data, name);
    if (!(await exists(path))) continue;
    const series = await readNabSeries(path);
    let scores: Float64Array;
    if (o.detectorOutput !== undefined) {
      const outPath = join(o.detectorOutput, name);
      scores = await readDetectorScores(outPath);
      if (scores.length !== series.values.length) throw new Error(`${outPath}: ${scores.length} scores for ${series.values.length} rows of ${path}`);
    } else {
      scores = detectSeries(series.values, opts, undefined, series.t);
    }
    files.push({ name, scores, windows: windowsToRows(series.t, labels[name] ?? []) });
  }
  if (files.length === 0) {
    const found = await listCsv(o.data);
    throw new Error(`no labelled file of ${o.labels} found under ${o.data} (${found.length} CSV files there, e.g. ${found.slice(0, 3).join(', ') || 'none'})`);
  }
  return scoreCorpus(files);
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function listCsv(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true });
    return entries.filter((e) => e.endsWith('.csv')).map((e) => relative(dir, join(dir, e)));
  } catch {
    return [];
  }
}
