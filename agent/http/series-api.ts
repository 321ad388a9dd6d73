import type { ServerResponse } from 'node:http';
import type { Series, SeriesStore } from '../store/series-store.ts';
import { parseDuration } from '../util/duration.ts';
import { HttpError, sendJson } from './routes.ts';

/** One series as /api/series lists it. */
export interface SeriesSummary {
  readonly id: number;
  readonly metric: string;
  readonly attributes: Series['attributes'];
  readonly source: string;
  /** Newest value (null before the first point). */
  readonly value: number | null;
  /** Unix ms of the newest point (null before the first). */
  readonly time: number | null;
  readonly fresh: boolean;
  readonly ended: boolean;
  readonly intervalMs: number;
  /** Points currently retained. */
  readonly length: number;
  /** [unix ms, value] oldest first; present when points were asked for (`since`). */
  points?: Array<[number, number | null]>;
}

const MAX_LIST = 10_000;

/**
 * GET /api/series: lists series, filtered by `metric`, `source` and `attr.<key>=<value>`,
 * at most `limit` (default and cap 10,000). With `since` (Unix ms, or a duration such as
 * `5m` meaning that long ago) each listed series carries its points since then; that needs
 * a `metric` filter so one request cannot dump the whole store.
 * GET /api/series/<id>[?since=..&until=..]: one series with its points (all retained by default).
 */
export function handleSeries(store: SeriesStore, res: ServerResponse, url: URL): void {
  const rest = url.pathname.slice('/api/series'.length);
  const now = Date.now();
  const q = url.searchParams;
  if (rest === '' || rest === '/') {
    const metric = q.get('metric') ?? undefined;
    const source = q.get('source') ?? undefined;
    const attrs: Array<[string, string]> = [];
    for (const [k, v] of q) if (k.startsWith('attr.') && k.length > 5) attrs.push([k.slice(5), v]);
    const limit = parseLimit(q.get('limit'));
    const since = q.has('since') ? parseTime(q.get('since') ?? '', now, 'since') : undefined;
    const until = q.has('until') ? parseTime(q.get('until') ?? '', now, 'until') : Number.POSITIVE_INFINITY;
    if (since !== undefined && metric === undefined) throw new HttpError(400, 'points (since=...) need a metric filter: /api/series?metric=<name>&since=5m');
    const candidates: Iterable<Series> = metric !== undefined ? store.byMetric(metric) : source !== undefined ? store.bySource(source) : store.all();
    const out: SeriesSummary[] = [];
    let matched = 0;
    for (const s of candidates) {
      if (metric !== undefined && s.metric !== metric) continue;
      if (source !== undefined && s.source !== source) continue;
      if (!attrsMatch(s, attrs)) continue;
      matched++;
      if (out.length >= limit) continue;
      const summary = summarize(store, s, now);
      if (since !== undefined) summary.points = points(s, since, until);
      out.push(summary);
    }
    sendJson(res, 200, { count: out.length, matched, truncated: matched > out.length, series: out });
    return;
  }
  const idText = rest.slice(1);
  if (!/^\d+$/.test(idText)) throw new HttpError(404, `no series ${JSON.stringify(idText)}: expected /api/series/<numeric id>`);
  const s = store.get(Number(idText));
  if (!s) throw new HttpError(404, `no series ${idText} (it may have been pruned after its retention)`);
  const since = q.has('since') ? parseTime(q.get('since') ?? '', now, 'since') : 0;
  const until = q.has('until') ? parseTime(q.get('until') ?? '', now, 'until') : Number.POSITIVE_INFINITY;
  const summary = summarize(store, s, now);
  summary.points = points(s, since, until);
  sendJson(res, 200, summary);
}

function summarize(store: SeriesStore, s: Series, now: number): SeriesSummary {
  return {
    id: s.id,
    metric: s.metric,
    attributes: s.attributes,
    source: s.source,
    value: s.lastUpdate > 0 && Number.isFinite(s.lastValue) ? s.lastValue : null,
    time: s.lastUpdate > 0 ? s.lastUpdate : null,
    fresh: store.isFresh(s, now),
    ended: s.ended,
    intervalMs: s.intervalMs,
    length: s.length,
  };
}

function points(s: Series, from: number, to: number): Array<[number, number | null]> {
  const out: Array<[number, number | null]> = [];
  for (let i = 0; i < s.length; i++) {
    const t = s.timeAt(i);
    if (t < from || t > to) continue;
    const v = s.valueAt(i);
    out.push([t, Number.isFinite(v) ? v : null]); // JSON has no NaN/Infinity
  }
  return out;
}

function attrsMatch(s: Series, attrs: ReadonlyArray<[string, string]>): boolean {
  for (const [k, v] of attrs) {
    const actual = s.attributes[k];
    if (actual === undefined || String(actual) !== v) return false;
  }
  return true;
}

/** Unix ms (digits) or a duration ago (`5m`, `500ms`). */
export function parseTime(text: string, now: number, param: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const d = parseDuration(t);
  if (d !== undefined) return now - d;
  throw new HttpError(400, `${param}=${JSON.stringify(text)}: expected Unix milliseconds or a duration like "5m"`);
}

function parseLimit(text: string | null): number {
  if (text === null) return MAX_LIST;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new HttpError(400, `limit=${JSON.stringify(text)}: expected a positive whole number`);
  return Math.min(Number(text), MAX_LIST);
}
