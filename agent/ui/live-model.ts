import type { Series } from '../store/series-store.ts';
import type { AgentServices } from '../services.ts';
import type { AlertsProvider, UiAlert } from './alerts-source.ts';
import { selectKeySeries, DEFAULT_LIMITS, type KeySeriesLimits } from './key-series.ts';

/** What the page charts: the last 5 minutes. */
export const WINDOW_MS = 5 * 60_000;

export interface SeriesMeta {
  readonly id: number;
  readonly metric: string;
  readonly unit: string;
  readonly source: string;
  readonly attrs: Readonly<Record<string, string | number | boolean>>;
}

export interface PressureItem {
  readonly metric: string;
  readonly source: string;
  readonly attrs: Readonly<Record<string, string | number | boolean>>;
  readonly level: string;
  readonly value: number;
}

export interface ForecastItem {
  readonly metric: string;
  readonly source: string;
  readonly attrs: Readonly<Record<string, string | number | boolean>>;
  /** Seconds until the threshold. */
  readonly seconds: number;
}

export interface PluginItem {
  readonly name: string;
  readonly state: string;
  readonly lastError?: string;
}

export interface StatusPart {
  readonly plugins: readonly PluginItem[];
  readonly pressure: readonly PressureItem[];
  readonly forecasts: readonly ForecastItem[];
  readonly alerts: readonly UiAlert[];
  readonly alertsError?: string;
  readonly seriesCount: number;
}

/** Sent once to each new viewer: the window of every charted series plus the current status. */
export interface SnapshotMessage extends StatusPart {
  readonly now: number;
  readonly windowMs: number;
  readonly series: readonly (SeriesMeta & { t: number[]; v: number[] })[];
}

/** Sent to every viewer each second: one object serialised once for all of them. */
export interface FrameMessage extends StatusPart {
  readonly now: number;
  readonly added: readonly SeriesMeta[];
  readonly removed: readonly number[];
  /** Flat triples: series id, time (ms), value. */
  readonly points: readonly number[];
}

const LEVELS = ['low', 'medium', 'high', 'critical'] as const;
const PRESSURE_RE = /(^|\.)pressure(\.level)?$/;
const FORECAST_RE = /time_to_exhaustion$/;

/** Values go to the browser with 6 significant digits: enough for a chart, half the bytes. */
function round(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  if (v === 0 || Number.isInteger(v)) return v;
  return Number(v.toPrecision(6));
}

function meta(s: Series, unit: string): SeriesMeta {
  return { id: s.id, metric: s.metric, unit, source: s.source, attrs: s.attributes };
}

function pressureLevel(s: Series): string {
  const lvl = s.attributes['level'] ?? s.attributes['vigil.pressure.level'];
  if (typeof lvl === 'string') return lvl;
  const v = s.lastValue;
  if (Number.isInteger(v) && v >= 0 && v < LEVELS.length) return LEVELS[v]!;
  return String(round(v));
}

/**
 * The page's view of the agent, recomputed once per tick while somebody watches. Keeps
 * what the previous frame sent so each frame carries only new points and selection changes.
 */
export class LiveModel {
  private readonly services: AgentServices;
  private readonly alertsProvider: AlertsProvider | undefined;
  private readonly limits: KeySeriesLimits;
  private selected = new Map<number, Series>();
  private readonly lastSent = new Map<number, number>();
  private alerts: readonly UiAlert[] = [];
  private alertsError: string | undefined;
  private alertsInFlight = false;
  private alertsFetchedAt = 0;
  private snapshotCache: { at: number; bytes: Buffer } | undefined;
  private tickAt = 0;

  constructor(services: AgentServices, alertsProvider: AlertsProvider | undefined, limits: KeySeriesLimits = DEFAULT_LIMITS) {
    this.services = services;
    this.alertsProvider = alertsProvider;
    this.limits = limits;
  }

  /** Forgets per-viewer-session state when the last viewer leaves (nothing is kept while idle). */
  reset(): void {
    this.selected = new Map();
    this.lastSent.clear();
    this.snapshotCache = undefined;
    this.alerts = [];
    this.alertsError = undefined;
    this.alertsFetchedAt = 0;
  }

  private unit(metric: string): string {
    return this.services.metrics.get(metric)?.unit ?? '';
  }

  /** Starts a background refresh of the active alerts at most every `everyMs`. */
  refreshAlerts(now: number, everyMs = 2000): void {
    if (!this.alertsProvider || this.alertsInFlight || now - this.alertsFetchedAt < everyMs) return;
    this.alertsInFlight = true;
    this.alertsFetchedAt = now;
    this.alertsProvider().then(
      (a) => {
        this.alerts = a;
        this.alertsError = undefined;
      },
      (err: unknown) => {
        this.alertsError = err instanceof Error ? err.message : String(err);
      },
    ).finally(() => {
      this.alertsInFlight = false;
    });
  }

  private status(now: number): StatusPart {
    const { store } = this.services;
    const pressure: PressureItem[] = [];
    const forecasts: ForecastItem[] = [];
    for (const metric of store.metrics()) {
      const isPressure = PRESSURE_RE.test(metric);
      const isForecast = FORECAST_RE.test(metric);
      if (!isPressure && !isForecast) continue;
      for (const s of store.byMetric(metric)) {
        if (!store.isFresh(s, now) || !Number.isFinite(s.lastValue)) continue;
        if (isPressure && pressure.length < 50) {
          pressure.push({ metric, source: s.source, attrs: s.attributes, level: pressureLevel(s), value: s.lastValue });
        } else if (isForecast && forecasts.length < 50) {
          forecasts.push({ metric, source: s.source, attrs: s.attributes, seconds: Math.round(s.lastValue) });
        }
      }
    }
    forecasts.sort((a, b) => a.seconds - b.seconds);
    const plugins = this.services.plugins.statuses().map((p) => {
      const item: PluginItem = p.lastError !== undefined && p.state !== 'ok' ? { name: p.name, state: p.state, lastError: p.lastError } : { name: p.name, state: p.state };
      return item;
    });
    const out: StatusPart = { plugins, pressure, forecasts, alerts: this.alerts, seriesCount: store.size };
    return this.alertsError !== undefined ? { ...out, alertsError: this.alertsError } : out;
  }

  /** Computes this tick's frame (new points since the last frame, selection changes, status). */
  frame(now: number): FrameMessage {
    this.tickAt = now;
    this.snapshotCache = undefined;
    const next = new Map<number, Series>();
    for (const s of selectKeySeries(this.services.store, this.services.metrics, this.limits)) next.set(s.id, s);
    const added: SeriesMeta[] = [];
    const removed: number[] = [];
    for (const [id, s] of next) if (!this.selected.has(id)) added.push(meta(s, this.unit(s.metric)));
    for (const id of this.selected.keys()) {
      if (!next.has(id)) {
        removed.push(id);
        this.lastSent.delete(id);
      }
    }
    this.selected = next;
    const points: number[] = [];
    for (const s of next.values()) {
      const last = this.lastSent.get(s.id);
      if (last === undefined) {
        // Newly selected: the viewer gets its window through `added` + the points below.
        this.pushWindow(points, s, now - WINDOW_MS);
      } else if (s.lastUpdate > last) {
        this.pushWindow(points, s, last + 1);
      }
      this.lastSent.set(s.id, s.lastUpdate);
    }
    return { now, added, removed, points, ...this.status(now) };
  }

  private pushWindow(points: number[], s: Series, from: number): void {
    // Walk back from the newest point: a frame usually carries one point per series.
    let first = s.length;
    while (first > 0 && s.timeAt(first - 1) >= from) first--;
    for (let i = first; i < s.length; i++) {
      const v = round(s.valueAt(i));
      if (v === null) continue;
      points.push(s.id, s.timeAt(i), v);
    }
  }

  /** The snapshot new viewers get, serialised at most once per tick however many connect. */
  snapshotBytes(now: number): Buffer {
    if (this.snapshotCache && this.snapshotCache.at === this.tickAt) return this.snapshotCache.bytes;
    const from = now - WINDOW_MS;
    const series: (SeriesMeta & { t: number[]; v: number[] })[] = [];
    const selection = this.selected.size > 0 ? [...this.selected.values()] : selectKeySeries(this.services.store, this.services.metrics, this.limits);
    for (const s of selection) {
      const t: number[] = [];
      const v: number[] = [];
      let first = s.length;
      while (first > 0 && s.timeAt(first - 1) >= from) first--;
      for (let i = first; i < s.length; i++) {
        const x = round(s.valueAt(i));
        if (x === null) continue;
        t.push(s.timeAt(i));
        v.push(x);
      }
      series.push({ ...meta(s, this.unit(s.metric)), t, v });
    }
    const msg: SnapshotMessage = { now, windowMs: WINDOW_MS, series, ...this.status(now) };
    const bytes = encodeEvent('snapshot', msg);
    this.snapshotCache = { at: this.tickAt, bytes };
    return bytes;
  }
}

/** One Server-Sent Event, encoded once and written to every viewer as the same Buffer. */
export function encodeEvent(event: string, data: unknown): Buffer {
  return Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, 'utf8');
}
