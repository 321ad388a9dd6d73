import { afterEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SeriesStore } from '../../agent/store/series-store.ts';
import { MetricRegistry } from '../../agent/telemetry/metric-registry.ts';
import { StoreMetricProducer } from '../../agent/telemetry/store-producer.ts';
import { prometheusName } from '../../agent/telemetry/prometheus-names.ts';
import { startMiniAgent, type MiniAgent } from './support/assembly.ts';
import { promtoolCheckMetrics } from './support/prometheus-server.ts';

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('StoreMetricProducer', () => {
  const store = () => new SeriesStore({ retentionMs: 60_000, maxSeries: 100 });

  it('exports only fresh series: stale (no point for 2.5 intervals) and ended ones are left out', async () => {
    const s = store();
    const reg = new MetricRegistry();
    reg.register('p', [{ name: 'm.gauge', kind: 'gauge', unit: '1', description: 'd', attributes: ['k'] }]);
    const producer = new StoreMetricProducer(s, reg, resourceFromAttributes({}), pino({ level: 'silent' }));
    const now = Date.now();
    s.record('p', 'm.gauge', { k: 'fresh' }, 1, now, 1000);
    s.record('p', 'm.gauge', { k: 'stale' }, 2, now - 10_000, 1000);
    s.record('p', 'm.gauge', { k: 'ended' }, 3, now, 1000)!.ended = true;
    const data = producer.snapshot(now);
    expect(data).toHaveLength(1);
    expect(data[0]!.dataPointType).toBe(DataPointType.GAUGE);
    expect(data[0]!.dataPoints.map((p) => p.attributes.k)).toEqual(['fresh']);
    // A metric whose series are all stale disappears entirely (no empty HELP/TYPE block).
    expect(producer.snapshot(now + 60_000)).toEqual([]);
    const res = await producer.collect();
    expect(res.errors).toEqual([]);
    producer.close();
  });

  it('exports metrics registered after it started', () => {
    const s = store();
    const reg = new MetricRegistry();
    const producer = new StoreMetricProducer(s, reg, resourceFromAttributes({}), pino({ level: 'silent' }));
    const now = Date.now();
    s.record('p', 'late.metric', {}, 5, now, 1000);
    expect(producer.snapshot(now)).toEqual([]); // not registered: not exported
    reg.register('p', [{ name: 'late.metric', kind: 'counter', unit: '{x}', description: 'd', attributes: [] }]);
    const data = producer.snapshot(now);
    expect(data.map((d) => d.descriptor.name)).toEqual(['late.metric']);
    expect(data[0]).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true });
    producer.close();
  });

  it('keeps a cumulative start time per series and restarts it when a counter resets', () => {
    const s = store();
    const reg = new MetricRegistry();
    reg.register('p', [{ name: 'c.total', kind: 'counter', unit: '1', description: 'd', attributes: [] }]);
    const producer = new StoreMetricProducer(s, reg, resourceFromAttributes({}), pino({ level: 'silent' }));
    const t0 = Date.now() - 3000;
    s.record('p', 'c.total', {}, 10, t0, 1000);
    const start0 = producer.snapshot(t0)[0]!.dataPoints[0]!.startTime;
    s.record('p', 'c.total', {}, 15, t0 + 1000, 1000);
    expect(producer.snapshot(t0 + 1000)[0]!.dataPoints[0]!.startTime).toEqual(start0);
    s.record('p', 'c.total', {}, 2, t0 + 2000, 1000); // the source restarted
    const after = producer.snapshot(t0 + 2000)[0]!.dataPoints[0]!;
    expect(after.startTime).not.toEqual(start0);
    expect(after.startTime).toEqual(after.endTime);
    producer.close();
  });

  it('refuses a metric whose Prometheus name clashes with an earlier one, and an invalid name, with a log line', () => {
    const s = store();
    const reg = new MetricRegistry();
    const { logger, lines } = capture();
    reg.register('a', [{ name: 'x.y.total', kind: 'gauge', unit: '1', description: 'd', attributes: [] }]);
    const producer = new StoreMetricProducer(s, reg, resourceFromAttributes({}), logger);
    reg.register('b', [
      { name: 'x.y', kind: 'counter', unit: '1', description: 'counter → x_y_total', attributes: [] },
      { name: 'x-y.total', kind: 'gauge', unit: '1', description: 'gauge → x_y_total', attributes: [] },
      { name: '9lives', kind: 'gauge', unit: '1', description: 'invalid', attributes: [] },
      { name: 'ok.metric', kind: 'gauge', unit: '1', description: 'fine', attributes: [] },
    ]);
    expect(producer.exportedMetrics()).toEqual(['x.y.total', 'ok.metric']);
    const warned = lines.filter((l) => l.level === 40).map((l) => l.metric);
    expect(warned).toEqual(['x.y', 'x-y.total', '9lives']);
    expect(lines.find((l) => l.metric === 'x.y')).toMatchObject({ prometheusName: 'x_y_total', clashesWith: 'x.y.total' });
    producer.close();
  });

  it('mirrors the exporter naming rules', () => {
    expect(prometheusName('process.memory.usage', false)).toBe('process_memory_usage');
    expect(prometheusName('vigil.plugin.errors', true)).toBe('vigil_plugin_errors_total');
    expect(prometheusName('jobs_total', true)).toBe('jobs_total');
    expect(prometheusName('a..b-c', false)).toBe('a_b_c');
  });
});

describe('/metrics exposition', () => {
  let agent: MiniAgent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  it('is valid for promtool with many series, odd label values and every metric kind', async () => {
    agent = await startMiniAgent();
    agent.metrics.register('p', [
      { name: 'app.memory.used', kind: 'gauge', unit: 'By', description: 'Line one\nline "two" \\ three', attributes: ['pod', 'container.name'] },
      { name: 'app.restarts', kind: 'counter', unit: '{restart}', description: 'Restarts.', attributes: ['pod'] },
      { name: 'app.connections', kind: 'updowncounter', unit: '{connection}', description: 'Connections.', attributes: [] },
    ]);
    const now = Date.now();
    for (let i = 0; i < 500; i++) agent.store.record('p', 'app.memory.used', { pod: `pod-${i}`, 'container.name': i % 2 ? 'a\nb' : 'é"\\' }, i * 1024.5, now, 1000);
    agent.store.record('p', 'app.restarts', { pod: 'x' }, 3, now, 1000);
    agent.store.record('p', 'app.connections', {}, -2, now, 1000);
    agent.store.record('p', 'app.memory.used', { pod: 'nan', 'container.name': 'c' }, Number.NaN, now, 1000);
    const body = await (await fetch(`${agent.baseUrl}/metrics`)).text();
    expect(body.match(/^app_memory_used\{/gm)).toHaveLength(501);
    expect(body).toContain('app_restarts_total{pod="x"} 3');
    expect(body).toContain('app_connections -2');
    expect(body).toContain('container_name="a\\nb"');
    const check = await promtoolCheckMetrics(body);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  });

  it('answers 404 when Prometheus export is disabled', async () => {
    agent = await startMiniAgent({ telemetry: { prometheus: false } });
    const res = await fetch(`${agent.baseUrl}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toContain('telemetry.prometheus.enabled');
  });
});
