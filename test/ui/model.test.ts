import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { trace, metrics } from '@opentelemetry/api';
import { SeriesStore } from '../../agent/store/series-store.ts';
import { MetricRegistry } from '../../agent/telemetry/metric-registry.ts';
import { TypedEmitter } from '../../agent/util/events.ts';
import type { AgentEventMap, AgentServices } from '../../agent/services.ts';
import { selectKeySeries } from '../../agent/ui/key-series.ts';
import { LiveModel, WINDOW_MS } from '../../agent/ui/live-model.ts';
import { normaliseAlerts } from '../../agent/ui/alerts-source.ts';

function services(store: SeriesStore, registry: MetricRegistry): AgentServices {
  return {
    logger: pino({ level: 'silent' }),
    store,
    metrics: registry,
    tracer: trace.getTracer('t'),
    meter: metrics.getMeter('t'),
    events: new TypedEmitter<AgentEventMap>(),
    http: { add: () => {} },
    plugins: { statuses: () => [] },
    dataDir: '/tmp',
    externalUrl: 'http://127.0.0.1:1',
  };
}

const gauge = (name: string, unit = '1') => ({ name, kind: 'gauge' as const, unit, description: name, attributes: ['a'] });

describe('key series selection', () => {
  it('prefers utilization, pressure and forecasts, skips counters, caps per source and in total', () => {
    const store = new SeriesStore({ retentionMs: 600_000, maxSeries: 10_000 });
    const reg = new MetricRegistry();
    reg.register('p', [gauge('p.memory.utilization'), gauge('p.memory.pressure.level'), gauge('p.thing.count', '{x}'), { ...gauge('p.requests'), kind: 'counter' }]);
    reg.register('q', [gauge('q.other.a'), gauge('q.other.b')]);
    const t = Date.now();
    for (let i = 0; i < 20; i++) store.record('p', 'p.memory.utilization', { a: i }, 0.5, t, 1000);
    store.record('p', 'p.memory.pressure.level', { a: 1 }, 1, t, 1000);
    store.record('p', 'p.thing.count', { a: 1 }, 5, t, 1000);
    store.record('p', 'p.requests', { a: 1 }, 5, t, 1000);
    store.record('q', 'q.other.a', { a: 1 }, 5, t, 1000);
    store.record('q', 'q.other.b', { a: 1 }, 5, t, 1000);
    const sel = selectKeySeries(store, reg, { metricsPerSource: 6, seriesPerMetric: 8, total: 100 });
    const byMetric = (m: string) => sel.filter((s) => s.metric === m).length;
    expect(byMetric('p.memory.utilization')).toBe(8); // capped per chart
    expect(byMetric('p.memory.pressure.level')).toBe(1);
    expect(byMetric('p.thing.count')).toBe(0); // p has ranked metrics: unranked ones wait
    expect(byMetric('p.requests')).toBe(0); // counters never
    expect(byMetric('q.other.a') + byMetric('q.other.b')).toBe(2); // a source with nothing ranked still shows
    expect(selectKeySeries(store, reg, { metricsPerSource: 6, seriesPerMetric: 8, total: 5 })).toHaveLength(5);
  });
});

describe('live model', () => {
  it('frames carry only points newer than the previous frame; snapshots the 5-minute window once per tick', () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 100 });
    const reg = new MetricRegistry();
    reg.register('p', [gauge('p.memory.utilization')]);
    const t0 = Date.now() - 600_000;
    for (let i = 0; i <= 600; i++) store.record('p', 'p.memory.utilization', { a: 1 }, i / 600, t0 + i * 1000, 1000);
    const model = new LiveModel(services(store, reg), undefined);
    const now = t0 + 600_000;
    const first = model.frame(now);
    expect(first.added).toHaveLength(1);
    // First frame: the window of a newly selected series (5 minutes at 1 s, both ends included).
    expect(first.points.length / 3).toBe(WINDOW_MS / 1000 + 1);
    const snap1 = model.snapshotBytes(now);
    expect(model.snapshotBytes(now)).toBe(snap1); // same Buffer: serialised once per tick
    const parsed = JSON.parse(snap1.toString('utf8').split('data: ')[1]!) as { series: { t: number[]; v: number[] }[] };
    expect(parsed.series[0]!.t[0]).toBeGreaterThanOrEqual(now - WINDOW_MS);
    expect(model.frame(now + 1000).points).toEqual([]); // nothing new
    store.record('p', 'p.memory.utilization', { a: 1 }, 0.123456789, now + 1000, 1000);
    const f = model.frame(now + 1500);
    expect(f.points).toEqual([first.added[0]!.id, now + 1000, 0.123457]);
    expect(f.added).toEqual([]);
    expect(model.snapshotBytes(now + 1500)).not.toBe(snap1);
  });
});

describe('normaliseAlerts', () => {
  it("reads the alert engine's /api/alerts body", () => {
    const body = {
      alerts: [
        {
          fingerprint: 'abc', rule: 'container-memory', type: 'threshold', status: 'firing', tier: 'critical',
          labels: { alertname: 'container-memory', 'vigil.target': 'container' }, annotations: { summary: 'container memory at 93 %' },
          value: 0.93, threshold: 0.9, activeAt: '2026-11-25T09:00:00.000Z', startsAt: '2026-11-25T09:00:30.000Z', silencedBy: null, traceId: null,
        },
      ],
    };
    expect(normaliseAlerts(body)).toEqual([
      { rule: 'container-memory', severity: 'critical', state: 'firing', summary: 'container memory at 93 %', since: Date.parse('2026-11-25T09:00:00.000Z'), value: 0.93, labels: { alertname: 'container-memory', 'vigil.target': 'container' } },
    ]);
  });
  it('accepts Alertmanager-style entries and ignores garbage', () => {
    expect(normaliseAlerts([{ labels: { alertname: 'X', severity: 'Warning' }, annotations: { description: 'd' }, startsAt: 'nope' }, 5, null])).toEqual([
      { rule: 'X', severity: 'warning', state: 'firing', summary: 'd', since: undefined, value: undefined, labels: { alertname: 'X', severity: 'Warning' } },
    ]);
    expect(normaliseAlerts('<html>')).toEqual([]);
  });
});
