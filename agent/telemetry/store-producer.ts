import { ValueType, type HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricDescriptor,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { SeriesStore, Series } from '../store/series-store.ts';
import type { MetricRegistry, RegisteredMetric } from './metric-registry.ts';
import { prometheusName, isValidOtelName } from './prometheus-names.ts';

interface Plan {
  readonly spec: RegisteredMetric;
  readonly descriptor: MetricDescriptor;
  readonly type: DataPointType.GAUGE | DataPointType.SUM;
  readonly monotonic: boolean;
}

interface CounterState {
  start: HrTime;
  last: number;
}

/**
 * Exports every registered metric straight from the series store, as a MetricProducer that
 * the Prometheus exporter and the OTLP metric reader both pull from.
 *
 * Why not observable instruments (ObservableGauge callbacks reading the store)? Measured with
 * sdk-metrics 2.x: with cumulative temporality (the only one the Prometheus exporter uses) the
 * SDK merges each collection into the previous one, so an attribute set observed once is
 * exported forever with its last value: an ended or stale series never leaves /metrics. It
 * also hashes every attribute set on every collection. Reading the store here exports exactly
 * the fresh series, with no per-series state in the SDK, and still goes through the exporter's
 * own serialiser and request handler.
 */
export class StoreMetricProducer implements MetricProducer {
  private readonly plans: Plan[] = [];
  private readonly promNames = new Map<string, string>();
  private readonly counters = new Map<number, CounterState>();
  private readonly unsubscribe: Array<() => void> = [];
  /** The scope of everything this producer exports; the /metrics serializer recognises it by identity. */
  readonly scope = { name: 'vigil' };

  constructor(
    private readonly store: SeriesStore,
    private readonly registry: MetricRegistry,
    private readonly resource: Resource,
    private readonly logger: Logger,
  ) {
    for (const m of registry.all()) this.plan(m);
    this.unsubscribe.push(registry.onRegister((m) => this.plan(m)));
    this.unsubscribe.push(store.onSeriesRemoved((s) => this.counters.delete(s.id)));
  }

  /** Names of the registered metrics this producer exports (those not skipped as invalid). */
  exportedMetrics(): string[] {
    return this.plans.map((p) => p.spec.name);
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe.length = 0;
  }

  async collect(): Promise<CollectionResult> {
    return { resourceMetrics: { resource: this.resource, scopeMetrics: [{ scope: this.scope, metrics: this.snapshot(Date.now()) }] }, errors: [] };
  }

  /** The fresh series of every exported metric; metrics with none are left out. */
  snapshot(now: number): MetricData[] {
    const out: MetricData[] = [];
    const store = this.store;
    for (const plan of this.plans) {
      const list = store.byMetric(plan.spec.name);
      if (list.length === 0) continue;
      const points: DataPoint<number>[] = [];
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (!store.isFresh(s, now)) continue;
        const end = millisToHrTime(s.lastUpdate);
        const start = plan.type === DataPointType.SUM ? this.streamStart(s, end, plan.monotonic) : end;
        points.push({ startTime: start, endTime: end, attributes: s.attributes, value: s.lastValue });
      }
      if (points.length === 0) continue;
      if (plan.type === DataPointType.GAUGE) {
        out.push({ descriptor: plan.descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: points });
      } else {
        out.push({
          descriptor: plan.descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.SUM,
          isMonotonic: plan.monotonic,
          dataPoints: points,
        });
      }
    }
    return out;
  }

  /** A cumulative stream's start: first sight of the series, restarted when a counter resets. */
  private streamStart(s: Series, end: HrTime, monotonic: boolean): HrTime {
    const st = this.counters.get(s.id);
    if (!st) {
      this.counters.set(s.id, { start: end, last: s.lastValue });
      return end;
    }
    if (monotonic && s.lastValue < st.last) st.start = end;
    st.last = s.lastValue;
    return st.start;
  }

  private plan(m: RegisteredMetric): void {
    if (!isValidOtelName(m.name)) {
      this.logger.warn({ metric: m.name, declaredBy: m.declaredBy }, 'metric name is not a valid OpenTelemetry instrument name; not exported');
      return;
    }
    const prom = prometheusName(m.name, m.kind === 'counter');
    const clash = this.promNames.get(prom);
    if (clash !== undefined) {
      // Two metrics that the Prometheus exporter would print under one name make /metrics
      // invalid for every scraper; keep the first and say why the second is missing.
      this.logger.warn(
        { metric: m.name, declaredBy: m.declaredBy, prometheusName: prom, clashesWith: clash },
        'metric maps to the same Prometheus name as another; not exported',
      );
      return;
    }
    this.promNames.set(prom, m.name);
    this.plans.push({
      spec: m,
      descriptor: { name: m.name, description: m.description, unit: m.unit, valueType: ValueType.DOUBLE },
      type: m.kind === 'gauge' ? DataPointType.GAUGE : DataPointType.SUM,
      monotonic: m.kind === 'counter',
    });
  }
}
