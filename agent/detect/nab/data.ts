import { readFile } from 'node:fs/promises';

/** A NAB-format series: `timestamp,value` rows in time order. */
export interface NabSeries {
  /** Timestamps as written in the file (the output echoes them unchanged). */
  readonly timestampText: readonly string[];
  /** Unix ms (timestamps without a zone are read as UTC). */
  readonly t: Float64Array;
  readonly values: Float64Array;
  /** Values as written in the file (echoed unchanged, no float re-formatting). */
  readonly valueText: readonly string[];
}

/** Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (no zone → UTC) or any ISO-8601 string to Unix ms. */
export function parseNabTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(text.trim());
  if (m) {
    const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ms);
  }
  return Date.parse(text);
}

/**
 * Reads CSV text with a header row; returns the header and the rows split on commas.
 * Handles `\r\n` (eight NAB files use it) and a trailing newline.
 */
export function parseCsv(text: string, source: string): { header: string[]; rows: string[][] } {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new Error(`${source}: empty file, expected a header row`);
  const header = lines[0]!.split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
  const rows = lines.slice(1).map((l) => l.split(','));
  return { header, rows };
}

/** Parses a NAB data file (`timestamp,value`); errors name the file and the line. */
export function parseNabSeries(text: string, source: string): NabSeries {
  const { header, rows } = parseCsv(text, source);
  const ti = header.indexOf('timestamp');
  const vi = header.indexOf('value');
  if (ti < 0 || vi < 0) throw new Error(`${source}: expected columns "timestamp,value", got "${header.join(',')}"`);
  const t = new Float64Array(rows.length);
  const values = new Float64Array(rows.length);
  const timestampText: string[] = new Array(rows.length);
  const valueText: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const ts = (r[ti] ?? '').trim();
    const ms = parseNabTimestamp(ts);
    const v = Number((r[vi] ?? '').trim());
    if (!Number.isFinite(ms)) throw new Error(`${source}:${i + 2}: bad timestamp ${JSON.stringify(ts)}`);
    if ((r[vi] ?? '').trim() === '' || Number.isNaN(v)) throw new Error(`${source}:${i + 2}: bad value ${JSON.stringify(r[vi] ?? '')}`);
    timestampText[i] = ts;
    valueText[i] = (r[vi] ?? '').trim();
    t[i] = ms;
    values[i] = v;
  }
  return { timestampText, t, values, valueText };
}

export async function readNabSeries(path: string): Promise<NabSeries> {
  return parseNabSeries(await readFile(path, 'utf8'), path);
}

/** Reads the `anomaly_score` column of a detector output file. */
export async function readDetectorScores(path: string): Promise<Float64Array> {
  const { header, rows } = parseCsv(await readFile(path, 'utf8'), path);
  const si = header.indexOf('anomaly_score');
  if (si < 0) throw new Error(`${path}: no "anomaly_score" column (header "${header.join(',')}")`);
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = Number((rows[i]![si] ?? '').trim());
    if (Number.isNaN(v)) throw new Error(`${path}:${i + 2}: bad anomaly_score ${JSON.stringify(rows[i]![si] ?? '')}`);
    out[i] = v;
  }
  return out;
}

/** combined_windows.json: file → [[start, end], ...] as timestamps. */
export type NabWindowLabels = Record<string, [string, string][]>;

export async function readWindowLabels(path: string): Promise<NabWindowLabels> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read window labels: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path}: expected an object of file → windows`);
  const out: NabWindowLabels = {};
  for (const [file, wins] of Object.entries(parsed)) {
    if (!Array.isArray(wins)) throw new Error(`${path}: windows of ${file} are not a list`);
    out[file] = wins.map((w, i) => {
      if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'string' || typeof w[1] !== 'string') {
        throw new Error(`${path}: window ${i} of ${file} is not [start, end]`);
      }
      return [w[0], w[1]] as [string, string];
    });
  }
  return out;
}

/** Window timestamps → inclusive row ranges (first row ≥ start .. last row ≤ end); empty ranges dropped. */
export function windowsToRows(t: Float64Array, windows: readonly (readonly [string, string])[]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of windows) {
    const start = parseNabTimestamp(a);
    const end = parseNabTimestamp(b);
    let i = 0;
    while (i < t.length && t[i]! < start) i++;
    let j = i;
    while (j + 1 < t.length && t[j + 1]! <= end) j++;
    if (i < t.length && t[i]! <= end) out.push([i, j]);
  }
  return out;
}
