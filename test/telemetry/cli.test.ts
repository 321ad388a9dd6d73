import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnVigil, type VigilProcess } from '../../agent/demo/vigil-process.ts';
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver.ts';
import { startPrometheus, promtoolCheckMetrics, type PrometheusServer } from './support/prometheus-server.ts';
import { freePort, waitFor } from './support/net.ts';

/** Two third-party plugins loaded by path: one with fixed values, one that always fails. */
const WIDGETS_PLUGIN = `
export default {
  name: 'widgets',
  description: 'fixed values for the e2e test',
  metrics: [{ name: 'e2e.widget.level', kind: 'gauge', unit: '{widget}', description: 'Widgets on the shelf.', attributes: ['widget'] }],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({
    collect: () => [
      { metric: 'e2e.widget.level', value: 42, attributes: { widget: 'a' } },
      { metric: 'e2e.widget.level', value: 7, attributes: { widget: 'b' } },
    ],
  }),
};
`;
const FAILING_PLUGIN = `
export default {
  name: 'fails',
  description: 'always throws',
  metrics: [],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({ collect: () => { throw new Error('e2e: backend is down'); } }),
};
`;

/**
 * The real CLI (`node bin/vigil.js run --config ...`), scraped by a real Prometheus and
 * exporting spans and metrics over OTLP/HTTP to a loopback receiver.
 */
describe('vigil run: Prometheus scrape and OTLP export end to end', () => {
  let dir: string;
  let receiver: OtlpReceiver;
  let prom: PrometheusServer;
  let agent: VigilProcess;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cli-e2e-'));
    receiver = await startOtlpReceiver();
    port = await freePort();
    await writeFile(join(dir, 'widgets.mjs'), WIDGETS_PLUGIN);
    await writeFile(join(dir, 'fails.mjs'), FAILING_PLUGIN);
    const config = [
      'agent:',
      '  interval: 1s',
      '  log_level: warn',
      '  data_dir: ./data',
      '  shutdown_timeout: 5s',
      'server:',
      '  host: 127.0.0.1',
      `  port: ${port}`,
      'telemetry:',
      '  service_name: vigil-e2e',
      '  otlp:',
      `    endpoint: ${receiver.url}`,
      '    traces: { enabled: true }',
      '    metrics: { enabled: true, interval: 1s }',
      'plugins:',
      '  - use: ./widgets.mjs',
      '  - use: ./fails.mjs',
      '',
    ].join('\n');
    await writeFile(join(dir, 'vigil.yaml'), config);
    // This process's OTEL_* and NODE_OPTIONS must not reach the agent (undefined removes them).
    const env: NodeJS.ProcessEnv = {};
    for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_') || k === 'NODE_OPTIONS') env[k] = undefined;
    env.K8S_POD_NAME = 'e2e-pod';
    // Spans leave only at shutdown (a minute's batch delay), so the span assertions below
    // also prove that SIGTERM flushes the exporter.
    env.OTEL_BSP_SCHEDULE_DELAY = '60000';
    agent = spawnVigil(['run', '--config', join(dir, 'vigil.yaml')], { cwd: dir, env });
    await agent.waitReady(`http://127.0.0.1:${port}/healthz`, 30_000);
    prom = await startPrometheus(`127.0.0.1:${port}`);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await agent?.stop('SIGKILL');
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('Prometheus stores the plugin metric and the per-plugin self-metrics', async () => {
    const level = await waitFor(
      'e2e_widget_level in Prometheus',
      async () => {
        const r = await prom.query('e2e_widget_level');
        return r.length === 2 ? r : undefined;
      },
      30_000,
    );
    const byWidget = Object.fromEntries(level.map((s) => [s.metric.widget, s.value[1]]));
    expect(byWidget).toEqual({ a: '42', b: '7' });
    expect(level[0]!.metric.job).toBe('vigil');
    const up = await waitFor(
      'vigil_plugin_up for both plugins',
      async () => {
        const r = await prom.query('vigil_plugin_up');
        return r.length === 2 ? r : undefined;
      },
      15_000,
    );
    expect(Object.fromEntries(up.map((s) => [s.metric.plugin, s.value[1]]))).toEqual({ widgets: '1', fails: '0' });
    const errors = await prom.query('vigil_plugin_errors_total{plugin="fails"}');
    expect(Number(errors[0]?.value[1])).toBeGreaterThan(0);
    const info = await prom.query('target_info');
    expect(info[0]?.metric).toMatchObject({ service_name: 'vigil-e2e', k8s_pod_name: 'e2e-pod' });
    const targets = await prom.targets();
    expect(targets[0]?.health, targets[0]?.lastError).toBe('up');

    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const check = await promtoolCheckMetrics(body);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  }, 60_000);

  it('pushes the plugin metric and the self-metrics over OTLP while running', async () => {
    const metric = await waitFor('e2e.widget.level over OTLP', async () => receiver.metrics.find((m) => m.name === 'e2e.widget.level'), 15_000);
    expect(receiver.errors).toEqual([]);
    expect(metric).toMatchObject({ type: 'gauge', unit: '{widget}' });
    expect(metric.points.map((p) => [p.attributes.widget, p.value]).sort()).toEqual([
      ['a', 42],
      ['b', 7],
    ]);
    expect(metric.resource).toMatchObject({ 'service.name': 'vigil-e2e', 'k8s.pod.name': 'e2e-pod' });
    const self = await waitFor('vigil.plugin.collection.duration over OTLP', async () => receiver.metrics.find((m) => m.name === 'vigil.plugin.collection.duration'), 5_000);
    expect(self.type).toBe('histogram');
    // Nothing traced has left yet: the batch delay is a minute.
    expect(receiver.spans).toEqual([]);
  }, 30_000);

  it('stops on SIGTERM with exit 0, flushing cycle spans with a child span per plugin', async () => {
    const code = await agent.stop('SIGTERM');
    expect(code, agent.logs()).toBe(0);
    expect(agent.logs()).not.toMatch(/"level":(50|60)/);
    expect(receiver.errors).toEqual([]);
    const cycles = receiver.spans.filter((x) => x.name === 'vigil.collect.cycle');
    expect(cycles.length).toBeGreaterThan(2);
    const cycle = cycles.map((s) => ({ s, kids: receiver.spans.filter((c) => c.parentSpanId === s.spanId) })).find((c) => c.kids.length === 2);
    expect(cycle, JSON.stringify(receiver.spans.slice(0, 6), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toBeDefined();
    const { s, kids } = cycle!;
    expect(s.parentSpanId).toBeUndefined();
    expect(s.attributes['vigil.cycle.plugin_count']).toBe(2);
    expect(s.attributes['vigil.cycle.failed']).toBe(1);
    const ok = kids.find((k) => k.attributes['vigil.plugin.name'] === 'widgets')!;
    expect(ok.name).toBe('vigil.collect widgets');
    expect(ok).toMatchObject({ traceId: s.traceId, statusCode: 1 });
    expect(ok.attributes['vigil.plugin.samples']).toBe(2);
    expect(ok.attributes['vigil.plugin.state']).toBe('ok');
    const bad = kids.find((k) => k.attributes['vigil.plugin.name'] === 'fails')!;
    expect(bad.name).toBe('vigil.collect fails');
    expect(bad.traceId).toBe(s.traceId);
    expect(bad.statusCode).toBe(2);
    expect(bad.statusMessage).toContain('e2e: backend is down');
    expect(bad.attributes['error.type']).toBe('collection_failed');
    expect(s.resource).toMatchObject({ 'service.name': 'vigil-e2e', 'k8s.pod.name': 'e2e-pod' });
  }, 30_000);
});
