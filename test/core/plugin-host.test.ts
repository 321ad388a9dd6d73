import { afterEach, describe, expect, it } from 'vitest';
import { metrics, trace } from '@opentelemetry/api';
import { pino } from 'pino';
import { join } from 'node:path';
import { PluginHost } from '../../agent/plugin/host.ts';
import { SeriesStore } from '../../agent/store/series-store.ts';
import { MetricRegistry } from '../../agent/telemetry/metric-registry.ts';
import { TypedEmitter } from '../../agent/util/events.ts';
import { loadPluginDefinition } from '../../agent/plugin/loader.ts';
import type { AgentEventMap, CollectionEvent } from '../../agent/services.ts';
import type { RunnerSettings } from '../../agent/plugin/runner.ts';

const fixtureDir = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const hosts: PluginHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function makeHost(entries: Array<{ name: string; mode: string; intervalMs?: number; timeoutMs?: number; series?: number }>, store = new SeriesStore({ retentionMs: 60_000, maxSeries: 1000 })) {
  const definition = await loadPluginDefinition('./faulty.ts', fixtureDir);
  const events = new TypedEmitter<AgentEventMap>();
  const collections: CollectionEvent[] = [];
  events.on('collection', (e) => collections.push(e));
  const host = new PluginHost({ logger: pino({ level: 'silent' }), store, metrics: new MetricRegistry(), tracer: trace.getTracer('t'), meter: metrics.getMeter('t'), events });
  const settings: RunnerSettings[] = entries.map((e) => {
    const parsed = definition.parseOptions({ mode: e.mode, series: e.series });
    if (!parsed.ok) throw new Error('bad options');
    return { name: e.name, use: './faulty.ts', definition, options: parsed.value, intervalMs: e.intervalMs ?? 200, timeoutMs: e.timeoutMs ?? 150, jitterMs: 0, configDir: fixtureDir };
  });
  await host.setPlugins(settings);
  hosts.push(host);
  return { host, store, collections };
}

const byName = (host: PluginHost, name: string) => host.statuses().find((s) => s.name === name)!;

describe('PluginHost fault isolation', () => {
  it('keeps healthy plugins on schedule while others throw, hang or return garbage', async () => {
    const { host, store, collections } = await makeHost([
      { name: 'good', mode: 'ok' },
      { name: 'thrower', mode: 'throw' },
      { name: 'hanger', mode: 'hang' },
      { name: 'garbage', mode: 'garbage' },
      { name: 'notarray', mode: 'not-array' },
      { name: 'partial', mode: 'partial' },
      { name: 'absent', mode: 'unavailable' },
      { name: 'rejecter', mode: 'reject-later' },
    ]);
    host.start();
    await new Promise((r) => setTimeout(r, 2100));
    const good = byName(host, 'good');
    expect(good.state).toBe('ok');
    // 200 ms interval over ~2.1 s: about 10 collections, whatever the others do.
    expect(good.collections).toBeGreaterThanOrEqual(9);
    expect(good.errors).toBe(0);
    expect(store.lookup('test.value', { id: 'a' })!.lastValue).toBe(good.collections);

    const thrower = byName(host, 'thrower');
    expect(thrower.state).toBe('failing');
    expect(thrower.lastError).toMatch(/^boom #\d+$/);
    // Exponential backoff: 200, 400, 800 ms... far fewer tries than the healthy plugin.
    expect(thrower.errors).toBeGreaterThanOrEqual(3);
    expect(thrower.errors).toBeLessThanOrEqual(5);

    const hanger = byName(host, 'hanger');
    expect(hanger.state).toBe('failing');
    expect(hanger.lastError).toMatch(/timed out after 150ms/);
    // It never settles, so it is called exactly once: no pile-up of hung calls.
    expect(hanger.collections).toBe(1);

    expect(byName(host, 'garbage').state).toBe('failing');
    expect(byName(host, 'garbage').lastError).toMatch(/all 4 samples malformed/);
    expect(byName(host, 'notarray').lastError).toMatch(/expected an array of samples/);
    const partial = byName(host, 'partial');
    expect(partial.state).toBe('ok');
    expect(partial.malformed).toBe(partial.collections);
    expect(store.lookup('test.value', { id: 'good' })).toBeDefined();
    expect(byName(host, 'absent').state).toBe('unavailable');
    expect(byName(host, 'absent').lastError).toBe('nothing to watch here');
    expect(byName(host, 'rejecter').lastError).toBe('async failure');

    expect(host.ready()).toBe(false); // hanger, thrower, garbage have never succeeded
    expect(collections.some((c) => c.plugin === 'good' && c.ok && c.series.length === 1)).toBe(true);
  });

  it('is ready once every plugin has collected or been found unavailable', async () => {
    const { host } = await makeHost([{ name: 'good', mode: 'ok' }, { name: 'absent', mode: 'unavailable' }]);
    expect(host.ready()).toBe(false);
    host.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(host.ready()).toBe(true);
  });

  it('holds the series cap under a plugin emitting 100k distinct series', async () => {
    const store = new SeriesStore({ retentionMs: 60_000, maxSeries: 5000, maxPointsPerSeries: 60 });
    const { host } = await makeHost([{ name: 'flood', mode: 'flood', intervalMs: 1000, timeoutMs: 5000, series: 100_000 }], store);
    host.start();
    await new Promise((r) => setTimeout(r, 2600));
    expect(store.size).toBe(5000);
    expect(store.refused).toBeGreaterThanOrEqual(2 * 100_000 - 5000);
    expect(store.bytes()).toBeLessThanOrEqual(5000 * 60 * 16);
    expect(byName(host, 'flood').state).toBe('ok');
  });
});
