import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { isUnavailableError } from '../../../agent/plugin/api.ts';
import { checkDeclared, harness, pick, value, MiB } from './helpers.ts';

const APP = fileURLToPath(new URL('./v8-app.cjs', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

let app: ChildProcess;
let base: string;

beforeAll(async () => {
  app = spawn(process.execPath, ['--max-old-space-size=256', APP], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await createInterface({ input: app.stdout! })[Symbol.asyncIterator]().next();
  base = `http://127.0.0.1:${String(first.value).trim()}`;
});

afterAll(async () => {
  if (app.exitCode === null) {
    app.kill('SIGKILL');
    await once(app, 'exit');
  }
});

async function truth(): Promise<{ heapUsed: number; heapTotal: number; external: number; limit: number }> {
  return (await fetch(`${base}/truth`)).json() as never;
}

const T = { 'vigil.target': 'app' };
const heapScope = { ...T, 'vigil.memory.scope': 'v8_heap' };

describe('v8 source against a real prom-client app', () => {
  it('reports heap used/total/limit consistent with the app\'s own process.memoryUsage()', async () => {
    const h = harness({ v8: [{ url: `${base}/metrics`, name: 'app' }] });
    let s = await h.collect();
    let t = await truth();
    checkDeclared(s);
    // Scrape and /truth run a moment apart in a live app; within 5 MiB of each other.
    expect(Math.abs(value(s, 'v8js.memory.heap.used', T) - t.heapUsed)).toBeLessThan(5 * MiB);
    expect(Math.abs(value(s, 'vigil.v8.memory.heap.total', T) - t.heapTotal)).toBeLessThan(5 * MiB);
    // The limit comes from the app's nodejs_heap_size_limit_bytes gauge: exact.
    expect(value(s, 'vigil.memory.limit', heapScope)).toBe(t.limit);
    expect(t.limit).toBeGreaterThan(256 * MiB);
    expect(t.limit).toBeLessThan(320 * MiB);
    expect(value(s, 'vigil.memory.utilization', heapScope)).toBeCloseTo(value(s, 'v8js.memory.heap.used', T) / t.limit, 9);
    // Per-space series carry V8's space names; old_space's used is part of the total.
    const old = value(s, 'vigil.v8.memory.heap.space.used', { ...T, 'v8js.heap.space.name': 'old_space' });
    expect(old).toBeGreaterThan(0);
    expect(old).toBeLessThan(value(s, 'v8js.memory.heap.used', T));
    expect(pick(s, 'v8js.memory.heap.space.available_size').length).toBeGreaterThan(3);

    const before = value(s, 'v8js.memory.heap.used', T);
    await fetch(`${base}/grow`);
    s = await h.collect();
    t = await truth();
    expect(value(s, 'v8js.memory.heap.used', T) - before).toBeGreaterThan(15 * MiB);
    expect(Math.abs(value(s, 'v8js.memory.heap.used', T) - t.heapUsed)).toBeLessThan(5 * MiB);
    // Growing the heap ran the young-generation GC: the GC counters are there.
    expect(value(s, 'vigil.v8.gc.count', { ...T, 'v8js.gc.type': 'minor' })).toBeGreaterThan(0);
    expect(value(s, 'v8js.gc.duration', { ...T, 'v8js.gc.type': 'minor' })).toBeGreaterThan(0);
    await h.stop();
  });

  it('a configured heap_limit wins over the scraped one', async () => {
    const h = harness({ v8: [{ url: `${base}/metrics`, name: 'app', heap_limit: '128MiB' }] });
    const s = await h.collect();
    expect(value(s, 'vigil.memory.limit', heapScope)).toBe(128 * MiB);
    await h.stop();
  });

  it('an HTML page, a hanging endpoint, a 404 and a closed port give clear errors; the good target keeps working', async () => {
    const h = harness({
      v8: [
        { url: `${base}/metrics`, name: 'app' },
        { url: `${base}/html`, name: 'html' },
        { url: `${base}/slow`, name: 'slow', timeout: '300ms' },
        { url: `${base}/nope`, name: 'missing' },
        { url: 'http://127.0.0.1:1/metrics', name: 'closed' },
      ],
    });
    const t0 = Date.now();
    const s = await h.collect();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(value(s, 'v8js.memory.heap.used', T)).toBeGreaterThan(0);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.target': 'app' })).toBe(1);
    for (const name of ['html', 'slow', 'missing', 'closed']) {
      expect(value(s, 'vigil.heap.source.up', { 'vigil.target': name })).toBe(0);
      expect(pick(s, 'v8js.memory.heap.used', { 'vigil.target': name })).toHaveLength(0);
    }
    const errors = h.instance.errors().join('\n');
    expect(errors).toContain('v8 html: GET http://127.0.0.1');
    expect(errors).toMatch(/expected Prometheus text format, got text\/html.*"<!DOCTYPE html>/);
    expect(errors).toMatch(/v8 slow: GET .*\/slow: timed out after 300 ms/);
    expect(errors).toMatch(/v8 missing: GET .*\/nope: HTTP 404/);
    expect(errors).toMatch(/v8 closed: GET .*: connection refused \(ECONNREFUSED\)/);
    // Logged once each, not again on the next collection.
    const warns = h.logger.lines.filter((l) => l.level === 'warn').length;
    expect(warns).toBe(4);
    await h.collect();
    expect(h.logger.lines.filter((l) => l.level === 'warn').length).toBe(warns);
    await h.stop();
  });

  it('only a closed port: the plugin is unavailable; credentials in the URL are not shown', async () => {
    const h = harness({ v8: [{ url: 'http://user:secret@127.0.0.1:1/metrics?token=abc' }] });
    const err = await h.collect().catch((e: unknown) => e);
    expect(isUnavailableError(err)).toBe(true);
    expect(String(err)).not.toContain('secret');
    expect(String(err)).not.toContain('token=abc');
  });

  it('reads OpenTelemetry v8js_* runtime metrics as rendered by the OTel Prometheus exporter', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [exporter] });
    const meter = provider.getMeter('@opentelemetry/instrumentation-runtime-node');
    const spaces = { new_space: [1 * MiB, 4 * MiB], old_space: [30 * MiB, 40 * MiB], code_space: [2 * MiB, 3 * MiB] };
    const used = meter.createObservableGauge('v8js.memory.heap.used', { unit: 'By' });
    const limit = meter.createObservableGauge('v8js.memory.heap.limit', { unit: 'By' });
    const avail = meter.createObservableGauge('v8js.memory.heap.space.available_size', { unit: 'By' });
    meter.addBatchObservableCallback(
      (r) => {
        for (const [space, [u, size]] of Object.entries(spaces)) {
          r.observe(used, u!, { 'v8js.heap.space.name': space });
          r.observe(limit, size!, { 'v8js.heap.space.name': space });
          r.observe(avail, size! - u!, { 'v8js.heap.space.name': space });
        }
      },
      [used, limit, avail],
    );
    const gc = meter.createHistogram('v8js.gc.duration', { unit: 's' });
    gc.record(0.002, { 'v8js.gc.type': 'minor' });
    gc.record(0.004, { 'v8js.gc.type': 'minor' });
    gc.record(0.05, { 'v8js.gc.type': 'major' });
    const server = http.createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const h = harness({ v8: [{ url, name: 'otel', heap_limit: '512MiB' }] });
      const s = await h.collect();
      checkDeclared(s);
      const O = { 'vigil.target': 'otel' };
      expect(value(s, 'v8js.memory.heap.used', O)).toBe(33 * MiB);
      // OTel's "heap.limit" is each space's committed size: it sums to the heap total, not the limit.
      expect(value(s, 'vigil.v8.memory.heap.total', O)).toBe(47 * MiB);
      expect(value(s, 'vigil.v8.memory.heap.space.used', { ...O, 'v8js.heap.space.name': 'old_space' })).toBe(30 * MiB);
      expect(value(s, 'v8js.memory.heap.space.available_size', { ...O, 'v8js.heap.space.name': 'old_space' })).toBe(10 * MiB);
      expect(value(s, 'vigil.v8.gc.count', { ...O, 'v8js.gc.type': 'minor' })).toBe(2);
      expect(value(s, 'v8js.gc.duration', { ...O, 'v8js.gc.type': 'minor' })).toBeCloseTo(0.006, 9);
      expect(value(s, 'vigil.memory.limit', { ...O, 'vigil.memory.scope': 'v8_heap' })).toBe(512 * MiB);
      await h.stop();
    } finally {
      server.close();
      await provider.shutdown();
    }
  });
});
