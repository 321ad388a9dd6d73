import type { Context, Tracer } from '@opentelemetry/api';
import type { Attributes, MetricSpec } from '../../plugin/api.ts';
import type { Series, SeriesStore } from '../../store/series-store.ts';
import { attributesMatch } from '../../store/series-store.ts';
import type { MetricRegistry } from '../../telemetry/metric-registry.ts';
import { bucketMsOf, type ForecastConfig } from './config.ts';
import { Forecaster, type Forecast } from './forecaster.ts';
import { FORECAST_METRICS, WATCHED_METRIC_ATTRIBUTE } from './metrics.ts';

export const FORECAST_SOURCE = 'forecast';

/** A watched series and everything needed to forecast it, resolved once. */
interface Watch {
  readonly series: Series;
  readonly forecaster: Forecaster;
  /** The limit: a fixed ceiling, or the metric's limit series found by name + attributes. */
  readonly ceiling: number | undefined;
  readonly limitMetric: string | undefined;
  readonly limitMatch: Attributes | undefined;
  limitSeries: Series | undefined;
  readonly threshold: number;
  readonly drain: boolean;
  /** Output attributes: the watched series' attributes plus `metric`. */
  readonly outAttributes: Attributes;
  /** Time of the newest sample fed to the forecaster. */
  lastT: number;
}

export interface PassResult {
  /** Watched series that got a forecast this pass. */
  readonly forecasts: number;
}

/**
 * Pairs series with their limits and keeps one incremental Forecaster per watched series.
 * Driven by `onCollection` with the series a plugin just wrote; writes its outputs to the
 * store under the source `forecast`. Independent of the agent wiring so tests can drive it.
 */
export class ForecastEngine {
  private readonly config: ForecastConfig;
  private readonly store: SeriesStore;
  private readonly metrics: MetricRegistry;
  private readonly tracer: Tracer | undefined;
  private readonly bucketMs: number;
  private readonly include: ReadonlySet<string> | undefined;
  /** Per series id: its watch, or null when it is not forecast (cached either way). */
  private readonly watches = new Map<number, Watch | null>();

  constructor(config: ForecastConfig, store: SeriesStore, metrics: MetricRegistry, tracer?: Tracer) {
    this.config = config;
    this.store = store;
    this.metrics = metrics;
    this.tracer = tracer;
    this.bucketMs = bucketMsOf(config);
    this.include = config.metrics.length > 0 ? new Set(config.metrics) : undefined;
    if (this.bucketMs > config.window) {
      throw new Error(`detect.forecast: bucket (${this.bucketMs} ms) must not exceed window (${config.window} ms)`);
    }
  }

  /** Number of series being forecast. */
  get watched(): number {
    let n = 0;
    for (const w of this.watches.values()) if (w) n++;
    return n;
  }

  /** Forgets a series the store dropped. */
  forget(series: Series): void {
    this.watches.delete(series.id);
  }

  /** One forecast pass over the series a collection wrote; `parent` is the collection's trace context. */
  onCollection(series: readonly Series[], parent?: Context): PassResult {
    const span = this.tracer?.startSpan('forecast', { attributes: { 'vigil.forecast.candidates': series.length } }, parent);
    let forecasts = 0;
    try {
      for (const s of series) {
        const w = this.watchFor(s);
        if (!w) continue;
        if (this.step(w)) forecasts++;
      }
      span?.setAttribute('vigil.forecast.count', forecasts);
    } catch (err) {
      span?.recordException(err as Error);
      throw err;
    } finally {
      span?.end();
    }
    return { forecasts };
  }

  /** The latest forecast inputs for a series (for tests and the CLI). */
  forecastOf(series: Series): Forecast | undefined {
    const w = this.watchFor(series);
    if (!w) return undefined;
    const limit = this.limitOf(w);
    return limit === undefined ? undefined : w.forecaster.forecast(series.lastUpdate, limit, w.threshold, { drain: w.drain });
  }

  private step(w: Watch): boolean {
    const s = w.series;
    this.feed(w);
    const limit = this.limitOf(w);
    if (limit === undefined) return false;
    const f = w.forecaster.forecast(s.lastUpdate, limit, w.threshold, { drain: w.drain });
    if (!f) return false;
    const at = s.lastUpdate;
    const iv = s.intervalMs;
    const attrs = w.outAttributes;
    this.store.record(FORECAST_SOURCE, FORECAST_METRICS.trend, attrs, f.trend, at, iv);
    this.store.record(FORECAST_SOURCE, FORECAST_METRICS.confidence, attrs, f.confidence, at, iv);
    if (Number.isFinite(f.level)) this.store.record(FORECAST_SOURCE, FORECAST_METRICS.utilization, attrs, f.level / limit, at, iv);
    // Absent (not recorded, so the series goes stale) when not heading to the limit.
    if (f.timeToThreshold !== undefined) this.store.record(FORECAST_SOURCE, FORECAST_METRICS.timeToExhaustion, attrs, f.timeToThreshold, at, iv);
    if (f.timeToDrain !== undefined) this.store.record(FORECAST_SOURCE, FORECAST_METRICS.timeToDrain, attrs, f.timeToDrain, at, iv);
    return true;
  }

  /** Feeds the samples newer than the last one fed (usually exactly one). */
  private feed(w: Watch): void {
    const s = w.series;
    let i = s.length;
    while (i > 0 && s.timeAt(i - 1) > w.lastT) i--;
    for (; i < s.length; i++) w.forecaster.push(s.timeAt(i), s.valueAt(i));
    if (s.length > 0) w.lastT = s.lastUpdate;
  }

  private limitOf(w: Watch): number | undefined {
    let limit = w.ceiling;
    if (limit === undefined && w.limitMetric !== undefined) {
      if (!w.limitSeries || w.limitSeries.length === 0 || !this.store.get(w.limitSeries.id)) {
        w.limitSeries = this.findLimitSeries(w.limitMetric, w.limitMatch ?? {});
      }
      limit = w.limitSeries?.lastValue;
    }
    if (limit === undefined || !Number.isFinite(limit) || limit <= 0 || limit >= this.config.unlimited_above) return undefined;
    return limit;
  }

  private findLimitSeries(metric: string, match: Attributes): Series | undefined {
    return this.store.lookup(metric, match) ?? this.store.find(metric, match)[0];
  }

  private watchFor(s: Series): Watch | undefined {
    const cached = this.watches.get(s.id);
    if (cached !== undefined) return cached ?? undefined;
    const w = this.resolve(s);
    this.watches.set(s.id, w);
    return w ?? undefined;
  }

  private resolve(s: Series): Watch | null {
    if (s.source === FORECAST_SOURCE) return null;
    const ceiling = this.config.ceilings.find((c) => c.metric === s.metric && attributesMatch(s.attributes, c.match));
    if (this.include && !this.include.has(s.metric) && !ceiling) return null;
    const override = this.config.overrides.find((o) => o.metric === s.metric && attributesMatch(s.attributes, o.match));
    if (override?.enabled === false) return null;
    const spec: MetricSpec | undefined = this.metrics.get(s.metric);
    if (!ceiling && !spec?.limit) return null;
    const forecaster = new Forecaster({
      windowMs: this.config.window,
      bucketMs: this.bucketMs,
      minPoints: this.config.min_points,
      method: this.config.method,
      envelope: override?.envelope ?? this.config.envelope,
      curvatureSignificance: this.config.curvature_significance,
      confirmFits: this.config.confirm_fits,
      direction: spec?.exhaustion ?? 'up',
    });
    return {
      series: s,
      forecaster,
      ceiling: ceiling?.value,
      limitMetric: ceiling ? undefined : spec?.limit,
      limitMatch: ceiling ? undefined : { ...s.attributes, ...(spec?.limitAttributes ?? {}) },
      limitSeries: undefined,
      threshold: override?.threshold ?? this.config.threshold,
      drain: ceiling?.drain ?? this.config.drain.includes(s.metric),
      outAttributes: Object.freeze({ ...s.attributes, [WATCHED_METRIC_ATTRIBUTE]: s.metric }),
      lastT: -Infinity,
    };
  }
}

