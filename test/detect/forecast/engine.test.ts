import { describe, expect, it } from 'vitest';
import { context, metrics, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { SeriesStore } from '../../../agent/store/series-store.ts';
import { MetricRegistry } from '../../../agent/telemetry/metric-registry.ts';
import { TypedEmitter } from '../../../agent/util/events.ts';
import type { AgentEventMap, AgentServices } from '../../../agent/services.ts';
import type { Series } from '../../../agent/store/series-store.ts';
import { forecastConfigSchema, type ForecastConfig } from '../../../agent/detect/forecast/config.ts';
import { createForecaster } from '../../../agent/detect/forecast/index.ts';
import { ForecastEngine } from '../../../agent/detect/forecast/engine.ts';
import { FORECAST_METRICS } from '../../../agent/detect/forecast/metrics.ts';
import { scenario } from './synthetic.ts';

const MiB = 1024 * 1024;
const WS = 'container.memory.working_set';
const LIMIT = 'vigil.memory.limit';
const T0 = 1_700_000_000_000;

function registry(): MetricRegistry {
  const r = new MetricRegistry();
  r.register('heap', [
    { name: WS, kind: 'gauge', unit: 'By', description: 'ws', attributes: ['vigil.target'], limit: LIMIT, limitAttributes: { 'vigil.memory.scope': 'container' } },
    { name: LIMIT, kind: 'gauge', unit: 'By', description: 'limit', attributes: ['vigil.target', 'vigil.memory.scope'] },
    { name: 'queue.backlog', kind: 'gauge', unit: '{job}', description: 'backlog', attributes: ['queue'] },
    { name: 'no.limit', kind: 'gauge', unit: 'By', description: 'x', attributes: [] },
  ]);
  return r;
}

function config(over: Record<string, unknown> = {}): ForecastConfig {
  return forecastConfigSchema.parse(over);
}

/** Writes one sample per second of a synthetic MiB series as bytes, plus the limit, and drives the engine. */
function drive(engine: ForecastEngine, store: SeriesStore, seconds: number, value: (i: number) => number, limitBytes: number): Series {
  let ws: Series | undefined;
  for (let i = 0; i < seconds; i++) {
    const t = T0 + i * 1000;
    ws = store.record('heap', WS, { 'vigil.target': 'app' }, value(i), t, 1000)!;
    const lim = store.record('heap', LIMIT, { 'vigil.target': 'app', 'vigil.memory.scope': 'container' }, limitBytes, t, 1000)!;
    engine.onCollection([ws, lim]);
  }
  return ws!;
}

describe('ForecastEngine', () => {
  it('pairs a series with its limit series and writes the forecast series with a metric attribute', () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const engine = new ForecastEngine(config(), store, registry());
    const s = scenario('linear-leak-0.5', 1);
    const i60 = Math.round(s.crossAt! - 60);
    drive(engine, store, i60 + 1, (i) => s.v[i]! * MiB, 400 * MiB);
    const attrs = { 'vigil.target': 'app', metric: WS };
    const tte = store.lookup(FORECAST_METRICS.timeToExhaustion, attrs);
    expect(tte, 'time_to_exhaustion series').toBeDefined();
    expect(tte!.source).toBe('forecast');
    expect(Math.abs(tte!.lastValue - 60) / 60).toBeLessThan(0.1);
    expect(store.lookup(FORECAST_METRICS.trend, attrs)!.lastValue).toBe(1);
    expect(store.lookup(FORECAST_METRICS.confidence, attrs)!.lastValue).toBeGreaterThan(0.7);
    const util = store.lookup(FORECAST_METRICS.utilization, attrs)!.lastValue;
    expect(util).toBeGreaterThan(0.85);
    expect(util).toBeLessThan(0.95);
    // The limit series itself has no limit: it is not forecast.
    expect(store.find(FORECAST_METRICS.trend, { metric: LIMIT })).toHaveLength(0);
    expect(engine.watched).toBe(1);
  });

  it('records no time to exhaustion for a stable series, and nothing at all when unlimited', () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const engine = new ForecastEngine(config(), store, registry());
    const s = scenario('stable-sawtooth', 2);
    drive(engine, store, 900, (i) => s.v[i]! * MiB, 400 * MiB);
    expect(store.byMetric(FORECAST_METRICS.timeToExhaustion)).toHaveLength(0);
    expect(store.lookup(FORECAST_METRICS.trend, { 'vigil.target': 'app', metric: WS })!.lastValue).toBe(0);

    const store2 = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const engine2 = new ForecastEngine(config(), store2, registry());
    const leak = scenario('linear-leak-0.5', 1);
    // cgroup v1 "unlimited": 2^63 − 4096.
    drive(engine2, store2, 600, (i) => leak.v[i]! * MiB, 9223372036854771712);
    expect(store2.bySource('forecast')).toHaveLength(0);
  });

  it('configured ceilings: queue backlog time to ceiling while it grows, time to drain while it falls', () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const engine = new ForecastEngine(config({ window: '2m', ceilings: [{ metric: 'queue.backlog', match: { queue: 'q1' }, value: 10_000 }] }), store, registry());
    const attrs = { queue: 'q1', metric: 'queue.backlog' };
    let t = T0;
    for (let i = 0; i < 120; i++, t += 1000) engine.onCollection([store.record('queue', 'queue.backlog', { queue: 'q1' }, 1000 + 50 * i, t, 1000)!]);
    // 6950 at the end, growing 50/s → 9500 in ~51 s.
    const tte = store.lookup(FORECAST_METRICS.timeToExhaustion, attrs)!.lastValue;
    expect(tte).toBeGreaterThan(40);
    expect(tte).toBeLessThan(62);
    for (let i = 0; i < 150; i++, t += 1000) engine.onCollection([store.record('queue', 'queue.backlog', { queue: 'q1' }, Math.max(0, 7000 - 40 * i), t, 1000)!]);
    const drain = store.lookup(FORECAST_METRICS.timeToDrain, attrs)!;
    expect(drain.lastUpdate).toBe(t - 1000);
    // 1040 left, draining 40/s → ~26 s.
    expect(drain.lastValue).toBeGreaterThan(15);
    expect(drain.lastValue).toBeLessThan(40);
    expect(store.lookup(FORECAST_METRICS.trend, attrs)!.lastValue).toBe(-1);
    // Other queues are not watched.
    engine.onCollection([store.record('queue', 'queue.backlog', { queue: 'q2' }, 5, t, 1000)!]);
    expect(engine.watched).toBe(1);
  });

  it('metrics: restricts the watched metrics; overrides: threshold and enabled per metric', () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const reg = registry();
    const off = new ForecastEngine(config({ metrics: ['process.memory.usage'] }), store, reg);
    const s = scenario('linear-leak-0.5', 1);
    drive(off, store, 300, (i) => s.v[i]! * MiB, 400 * MiB);
    expect(store.bySource('forecast')).toHaveLength(0);

    const store2 = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const half = new ForecastEngine(config({ overrides: [{ metric: WS, threshold: 0.5 }] }), store2, reg);
    drive(half, store2, 300, (i) => s.v[i]! * MiB, 400 * MiB);
    // Peak at t=300 ≈ 80 + 150 + 30 = 260 MiB > 200 MiB (50 %): already there.
    expect(store2.lookup(FORECAST_METRICS.timeToExhaustion, { 'vigil.target': 'app', metric: WS })!.lastValue).toBe(0);
  });

  it('as a subsystem: registers its metrics, runs on collection events, and spans each pass under the collection', async () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
    const reg = registry();
    const events = new TypedEmitter<AgentEventMap>((err) => {
      throw err;
    });
    const spans = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const tracer = provider.getTracer('test');
    const services = {
      logger: pino({ level: 'silent' }),
      store,
      metrics: reg,
      tracer,
      meter: metrics.getMeter('test'),
      events,
      http: { add: () => {} },
      plugins: { statuses: () => [] },
      dataDir: '/tmp',
      externalUrl: 'http://127.0.0.1:9464',
    } satisfies AgentServices;
    const sub = createForecaster(config(), services);
    await sub.start();
    expect(reg.get(FORECAST_METRICS.timeToExhaustion)?.unit).toBe('s');
    const s = scenario('linear-leak-0.5', 1);
    for (let i = 0; i < 300; i++) {
      const t = T0 + i * 1000;
      const parent = tracer.startSpan('plugin heap');
      const ctx = trace.setSpan(context.active(), parent);
      const ws = store.record('heap', WS, { 'vigil.target': 'app' }, s.v[i]! * MiB, t, 1000)!;
      const lim = store.record('heap', LIMIT, { 'vigil.target': 'app', 'vigil.memory.scope': 'container' }, 400 * MiB, t, 1000)!;
      events.emit('collection', { plugin: 'heap', at: t, ok: true, series: [ws, lim], context: ctx });
      parent.end();
    }
    expect(store.lookup(FORECAST_METRICS.timeToExhaustion, { 'vigil.target': 'app', metric: WS })).toBeDefined();
    const finished = spans.getFinishedSpans();
    const pass = finished.filter((sp) => sp.name === 'forecast');
    expect(pass).toHaveLength(300);
    const last = pass.at(-1)!;
    const parent = finished.find((sp) => sp.name === 'plugin heap' && sp.spanContext().spanId === last.parentSpanContext?.spanId);
    expect(parent, 'forecast span is a child of the collection span').toBeDefined();
    expect(last.attributes['vigil.forecast.count']).toBe(1);
    await sub.stop();
    events.emit('collection', { plugin: 'heap', at: T0 + 400_000, ok: true, series: [], context: context.active() });
    expect(spans.getFinishedSpans().filter((sp) => sp.name === 'forecast')).toHaveLength(300);
  });
});

describe('forecast config', () => {
  it('defaults, durations and snake_case keys', () => {
    const c = config({ window: '5m', min_points: 8, curvature_significance: 4 });
    expect(c).toMatchObject({ enabled: true, threshold: 0.95, window: 300_000, min_points: 8, method: 'theil-sen', envelope: 'peak', curvature_significance: 4 });
  });

  it('rejects unknown keys and bad values with their path', () => {
    const r = forecastConfigSchema.safeParse({ minPoints: 3, threshold: 1.5, window: 'ten' });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.') || i.message);
    expect(paths.join(' ')).toMatch(/threshold/);
    expect(paths.join(' ')).toMatch(/window/);
    expect(JSON.stringify(r.error!.issues)).toMatch(/minPoints/);
  });

  it('the engine refuses a bucket wider than the window', () => {
    expect(() => new ForecastEngine(config({ window: '10s', bucket: '20s' }), new SeriesStore({ retentionMs: 1000, maxSeries: 10 }), new MetricRegistry())).toThrow(/bucket/);
  });
});
