import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanStatusCode, trace, context as otelContext } from '@opentelemetry/api';
import { startMiniAgent, type MiniAgent } from './support/assembly.ts';
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver.ts';
import { waitFor } from './support/net.ts';

describe('OTLP/HTTP export to a loopback receiver', () => {
  let receiver: OtlpReceiver;
  let agent: MiniAgent;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // Everything comes from the standard environment variables, as in a pod spec.
    agent = await startMiniAgent({
      telemetry: { service_name: 'from-config' },
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-vigil-test=abc%20def',
        OTEL_SERVICE_NAME: 'vigil-otlp-test',
        OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=c1,deployment.environment=staging%2Ceu',
        OTEL_METRIC_EXPORT_INTERVAL: '300',
        K8S_POD_NAME: 'app-7d9f-x2',
        K8S_NAMESPACE_NAME: 'shop',
        K8S_NODE_NAME: 'node-3',
        K8S_CONTAINER_NAME: 'vigil',
      },
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await receiver?.close();
  });

  it('exports a cycle span with plugin child spans, attributes, status and resource', async () => {
    const { tracer } = agent.telemetry;
    const cycle = tracer.startSpan('vigil.collect.cycle', { attributes: { 'vigil.cycle.plugins': 2 } });
    const ctx = trace.setSpan(otelContext.active(), cycle);
    const ok = tracer.startSpan('vigil.collect system', { attributes: { 'vigil.plugin.name': 'system' } }, ctx);
    ok.setAttributes({ 'vigil.plugin.samples': 12 });
    ok.setStatus({ code: SpanStatusCode.OK });
    ok.end();
    const bad = tracer.startSpan('vigil.collect redis', { attributes: { 'vigil.plugin.name': 'redis' } }, ctx);
    bad.setAttributes({ 'vigil.plugin.samples': 0, 'error.type': 'collection_failed' });
    bad.setStatus({ code: SpanStatusCode.ERROR, message: 'connect ECONNREFUSED 127.0.0.1:6399' });
    bad.end();
    cycle.end();
    await agent.telemetry.forceFlush();

    const spans = await waitFor('3 spans at the receiver', async () => (receiver.spans.length >= 3 ? receiver.spans : undefined), 10_000);
    expect(receiver.errors).toEqual([]);
    const root = spans.find((s) => s.name === 'vigil.collect.cycle');
    expect(root).toBeDefined();
    expect(root!.parentSpanId).toBeUndefined();
    expect(root!.attributes['vigil.cycle.plugins']).toBe(2);
    const children = spans.filter((s) => s.parentSpanId === root!.spanId);
    expect(children.map((c) => c.name).sort()).toEqual(['vigil.collect redis', 'vigil.collect system']);
    for (const c of children) expect(c.traceId).toBe(root!.traceId);
    const sys = children.find((c) => c.attributes['vigil.plugin.name'] === 'system')!;
    expect(sys.attributes['vigil.plugin.samples']).toBe(12);
    expect(sys.statusCode).toBe(1);
    const redis = children.find((c) => c.attributes['vigil.plugin.name'] === 'redis')!;
    expect(redis.statusCode).toBe(2);
    expect(redis.statusMessage).toContain('ECONNREFUSED');
    expect(redis.attributes['error.type']).toBe('collection_failed');
    expect(redis.endNs).toBeGreaterThanOrEqual(redis.startNs);

    expect(root!.resource).toMatchObject({
      'service.name': 'vigil-otlp-test',
      'service.version': '0.0.0-test',
      'k8s.pod.name': 'app-7d9f-x2',
      'k8s.namespace.name': 'shop',
      'k8s.node.name': 'node-3',
      'k8s.container.name': 'vigil',
      'k8s.cluster.name': 'c1',
      'deployment.environment': 'staging,eu',
    });
    expect(typeof root!.resource['host.name']).toBe('string');
    expect(root!.resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    const traceReq = receiver.requests.find((r) => r.path === '/v1/traces')!;
    expect(traceReq.headers['x-vigil-test']).toBe('abc def');
  });

  it('pushes store series as OTLP gauges and cumulative monotonic sums, and stops sending ended ones', async () => {
    agent.metrics.register('test', [
      { name: 'test.cache.memory.used', kind: 'gauge', unit: 'By', description: 'Cache memory.', attributes: ['cache'] },
      { name: 'test.cache.evictions', kind: 'counter', unit: '{key}', description: 'Evicted keys.', attributes: ['cache'] },
      { name: 'test.cache.clients', kind: 'updowncounter', unit: '{client}', description: 'Clients.', attributes: [] },
    ]);
    const now = Date.now();
    agent.store.record('cache', 'test.cache.memory.used', { cache: 'a' }, 1024, now, 1000);
    const b = agent.store.record('cache', 'test.cache.memory.used', { cache: 'b' }, 2048, now, 1000)!;
    agent.store.record('cache', 'test.cache.evictions', { cache: 'a' }, 17, now, 1000);
    agent.store.record('cache', 'test.cache.clients', {}, 4, now, 1000);

    const find = (name: string) => receiver.metrics.filter((m) => m.name === name).at(-1);
    await waitFor('the cache metrics at the receiver', async () => (find('test.cache.evictions') && find('test.cache.clients') ? true : undefined), 10_000);
    expect(receiver.errors).toEqual([]);
    const mem = find('test.cache.memory.used')!;
    expect(mem.type).toBe('gauge');
    expect(mem.unit).toBe('By');
    expect(mem.description).toBe('Cache memory.');
    expect(mem.points.map((p) => [p.attributes.cache, p.value]).sort()).toEqual([
      ['a', 1024],
      ['b', 2048],
    ]);
    expect(mem.resource['service.name']).toBe('vigil-otlp-test');
    const ev = find('test.cache.evictions')!;
    expect(ev).toMatchObject({ type: 'sum', monotonic: true, temporality: 2 });
    expect(ev.points[0]).toMatchObject({ attributes: { cache: 'a' }, value: 17 });
    expect(ev.points[0]!.timeNs).toBe(BigInt(now) * 1_000_000n);
    expect(find('test.cache.clients')).toMatchObject({ type: 'sum', monotonic: false });

    b.ended = true;
    const seen = receiver.metrics.length;
    await waitFor(
      'an export without the ended series',
      async () => {
        const later = receiver.metrics.slice(seen).filter((m) => m.name === 'test.cache.memory.used');
        return later.length > 0 ? later : undefined;
      },
      10_000,
    );
    const last = find('test.cache.memory.used')!;
    expect(last.points.map((p) => p.attributes.cache)).toEqual(['a']);
  });

  it('flushes spans still queued when shut down', async () => {
    const r2 = await startOtlpReceiver();
    const a2 = await startMiniAgent({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${r2.url}/v1/traces` } });
    try {
      expect(a2.settings.otlp.metrics.enabled).toBe(false);
      const span = a2.telemetry.tracer.startSpan('vigil.shutdown.probe');
      span.end();
      await a2.stop(); // shutdown(2000) inside: the batch processor must flush before it returns
      expect(r2.spans.map((s) => s.name)).toEqual(['vigil.shutdown.probe']);
      expect(r2.requests.every((r) => r.path === '/v1/traces')).toBe(true);
    } finally {
      await r2.close();
    }
  });

  it('records nothing when traces are off, and shutdown returns within its deadline when the receiver is gone', async () => {
    const off = await startMiniAgent();
    try {
      const span = off.telemetry.tracer.startSpan('not.recorded');
      expect(span.isRecording()).toBe(false);
      span.end();
    } finally {
      await off.stop();
    }
    // An endpoint where nothing listens: export fails, shutdown must still end near the deadline.
    const dead = await startMiniAgent({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
    dead.telemetry.tracer.startSpan('lost').end();
    const t0 = Date.now();
    await dead.http.close();
    await dead.telemetry.shutdown(1500);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
