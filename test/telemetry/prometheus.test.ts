import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMiniAgent, type MiniAgent } from './support/assembly.ts';
import { promtoolCheckMetrics, startPrometheus, type PrometheusServer } from './support/prometheus-server.ts';
import { waitFor } from './support/net.ts';

/**
 * A real Prometheus scrapes the agent's /metrics every second; the test asks Prometheus
 * (not the agent) what it stored.
 */
describe('Prometheus scraping /metrics', () => {
  let agent: MiniAgent;
  let prom: PrometheusServer;
  let ticker: NodeJS.Timeout;
  let processed = 0;

  beforeAll(async () => {
    agent = await startMiniAgent({ telemetry: { service_name: 'vigil-prom-test', resource_attributes: { 'deployment.environment': 'test' } } });
    agent.metrics.register('test', [
      { name: 'test.queue.depth', kind: 'gauge', unit: '{message}', description: 'Messages waiting.', attributes: ['queue', 'vhost'] },
      { name: 'test.jobs.processed', kind: 'counter', unit: '{job}', description: 'Jobs processed since start.', attributes: ['queue'] },
      { name: 'test.memory.used', kind: 'gauge', unit: 'By', description: 'Bytes in use.', attributes: [] },
    ]);
    // A self-metric created on the meter, as the plugin host does: it must coexist with the
    // store-exported metrics in one valid exposition.
    const hist = agent.telemetry.meter.createHistogram('vigil.test.collection.duration', { unit: 's', description: 'Collection time.' });
    hist.record(0.012, { 'vigil.plugin.name': 'x' });
    const record = (): void => {
      const now = Date.now();
      processed += 3;
      agent.store.record('qplugin', 'test.queue.depth', { queue: 'orders', vhost: '/' }, 42, now, 1000);
      agent.store.record('qplugin', 'test.queue.depth', { queue: 'mail "urgent"\\x', vhost: '/' }, 7.5, now, 1000);
      agent.store.record('qplugin', 'test.jobs.processed', { queue: 'orders' }, processed, now, 1000);
      agent.store.record('mem', 'test.memory.used', {}, 123_456_789, now, 1000);
    };
    record();
    ticker = setInterval(record, 500);
    prom = await startPrometheus(`127.0.0.1:${agent.port}`);
  });

  afterAll(async () => {
    clearInterval(ticker);
    await prom?.stop();
    await agent?.stop();
  });

  it('stores the gauge with its value and labels', async () => {
    const result = await waitFor(
      'test_queue_depth{queue="orders"} in Prometheus',
      async () => {
        const r = await prom.query('test_queue_depth{queue="orders"}');
        return r.length > 0 ? r : undefined;
      },
      20_000,
    );
    expect(result).toHaveLength(1);
    const [sample] = result;
    expect(sample!.value[1]).toBe('42');
    expect(sample!.metric).toMatchObject({ __name__: 'test_queue_depth', queue: 'orders', vhost: '/', job: 'vigil' });
    // Escaped label values survive the round trip.
    const odd = await prom.query('test_queue_depth{queue=~"mail.*"}');
    expect(odd[0]?.metric.queue).toBe('mail "urgent"\\x');
    expect(odd[0]?.value[1]).toBe('7.5');
    const targets = await prom.targets();
    expect(targets[0]?.health, targets[0]?.lastError).toBe('up');
  }, 30_000);

  it('stores the counter as _total, increasing, and the resource as target_info', async () => {
    const first = Number((await prom.query('test_jobs_processed_total{queue="orders"}'))[0]?.value[1]);
    expect(first).toBeGreaterThan(0);
    const later = await waitFor(
      'the counter to increase',
      async () => {
        const v = Number((await prom.query('test_jobs_processed_total{queue="orders"}'))[0]?.value[1]);
        return v > first ? v : undefined;
      },
      10_000,
    );
    expect(later).toBeGreaterThan(first);
    const info = await prom.query('target_info');
    expect(info[0]?.metric).toMatchObject({ service_name: 'vigil-prom-test', deployment_environment: 'test', service_version: '0.0.0-test' });
    expect(info[0]?.metric.service_instance_id).toMatch(/^[0-9a-f-]{36}$/);
    const mem = await prom.query('test_memory_used');
    expect(mem[0]?.value[1]).toBe('123456789');
    const hist = await prom.query('vigil_test_collection_duration_count');
    expect(hist[0]?.value[1]).toBe('1');
  }, 30_000);

  it('drops an ended series from /metrics, and Prometheus marks it stale', async () => {
    const gone = agent.store.record('other', 'test.queue.depth', { queue: 'temp', vhost: '/' }, 5, Date.now(), 1000)!;
    await waitFor('the temp series in Prometheus', async () => ((await prom.query('test_queue_depth{queue="temp"}')).length > 0 ? true : undefined), 10_000);
    gone.ended = true;
    const body = await (await fetch(`${agent.baseUrl}/metrics`)).text();
    expect(body).not.toContain('queue="temp"');
    expect(body).toContain('queue="orders"');
    await waitFor('Prometheus to mark the temp series stale', async () => ((await prom.query('test_queue_depth{queue="temp"}')).length === 0 ? true : undefined), 10_000);
  }, 30_000);

  it('serves an exposition that promtool check metrics accepts', async () => {
    const res = await fetch(`${agent.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await res.text();
    expect(body).toContain('# TYPE test_jobs_processed_total counter');
    expect(body).toContain('# TYPE test_queue_depth gauge');
    const check = await promtoolCheckMetrics(body);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  });
});
