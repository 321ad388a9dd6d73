import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createHttpServer, type HttpServer } from '../../agent/http/server.ts';
import { registerCoreRoutes } from '../../agent/http/core-routes.ts';
import { SeriesStore } from '../../agent/store/series-store.ts';
import type { PluginStatus } from '../../agent/plugin/status.ts';

function status(name: string, state: PluginStatus['state'], extra: Partial<PluginStatus> = {}): PluginStatus {
  return { name, use: name, state, intervalMs: 1000, timeoutMs: 500, stateSince: 0, consecutiveFailures: 0, collections: 0, errors: 0, samples: 0, malformed: 0, ...extra };
}

describe('core routes', () => {
  let server: HttpServer;
  let base: string;
  let store: SeriesStore;
  let statuses: PluginStatus[];
  let ready: boolean;
  let metricsCalls: number;
  const startedAt = Date.now() - 65_000;

  beforeEach(async () => {
    store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 5 });
    statuses = [status('system', 'ok', { samples: 10, collections: 2 }), status('redis', 'pending'), status('gpu', 'unavailable', { lastError: 'nvidia-smi not found' })];
    ready = false;
    metricsCalls = 0;
    server = createHttpServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    registerCoreRoutes(server, {
      telemetry: {
        handleMetrics: (_req, res) => {
          metricsCalls++;
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('# fake exposition\n');
        },
      },
      store,
      statuses: () => statuses,
      ready: () => ready,
      startedAt,
      version: '9.9.9',
    });
    base = `http://127.0.0.1:${(await server.listen()).port}`;
  });
  afterEach(async () => {
    await server.close();
  });

  const json = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('/metrics goes to the telemetry handler', async () => {
    const r = await fetch(`${base}/metrics`);
    expect(await r.text()).toBe('# fake exposition\n');
    expect(metricsCalls).toBe(1);
  });

  it('/healthz is 200 whatever the plugins do', async () => {
    expect(await json('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('/readyz is 503 naming the pending plugins, then 200', async () => {
    expect(await json('/readyz')).toEqual({ status: 503, body: { status: 'not ready', waiting: [{ name: 'redis', use: 'redis', state: 'pending' }] } });
    ready = true;
    expect(await json('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('/api/status lists plugins with states and last errors, series counts, uptime and version', async () => {
    for (let i = 0; i < 7; i++) store.record('system', 'm', { i }, i, Date.now(), 1000); // cap is 5
    const { status: code, body } = await json('/api/status');
    expect(code).toBe(200);
    expect(body).toMatchObject({
      version: '9.9.9',
      ready: false,
      startedAt,
      series: { count: 5, max: 5, refused: 2 },
      pluginStates: { ok: 1, pending: 1, unavailable: 1 },
    });
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(65);
    const plugins = body.plugins as PluginStatus[];
    expect(plugins.find((p) => p.name === 'gpu')).toMatchObject({ state: 'unavailable', lastError: 'nvidia-smi not found' });
  });

  describe('/api/series', () => {
    let now: number;
    beforeEach(() => {
      now = Date.now();
      for (let k = 0; k < 10; k++) {
        store.record('redis', 'cache.memory', { cache: 'a', db: 0 }, 100 + k, now - (9 - k) * 60_000, 60_000);
      }
      store.record('redis', 'cache.memory', { cache: 'b', db: 1 }, 5, now, 1000);
      store.record('system', 'host.load', {}, 0.5, now - 3_600_000 + 1000, 1000); // old: not fresh
      store.record('system', 'host.cpu', { cpu: 'total' }, 0.25, now, 1000)!.ended = true;
    });

    it('lists every series with latest value, time, freshness and end state', async () => {
      const { body } = await json('/api/series');
      expect(body).toMatchObject({ count: 4, matched: 4, truncated: false });
      const list = body.series as Array<Record<string, unknown>>;
      expect(list.find((s) => s.metric === 'cache.memory' && (s.attributes as { cache: string }).cache === 'a')).toMatchObject({
        source: 'redis',
        value: 109,
        time: now,
        fresh: true,
        ended: false,
        intervalMs: 60_000,
        length: 10,
      });
      expect(list.find((s) => s.metric === 'host.load')).toMatchObject({ fresh: false, ended: false });
      expect(list.find((s) => s.metric === 'host.cpu')).toMatchObject({ fresh: false, ended: true });
      expect(list.every((s) => s.points === undefined)).toBe(true);
    });

    it('filters by metric, source and attr.<key> (numbers compared as text), and limits', async () => {
      expect(((await json('/api/series?metric=cache.memory')).body.series as unknown[]).length).toBe(2);
      expect(((await json('/api/series?source=system')).body.series as Array<{ metric: string }>).map((s) => s.metric).sort()).toEqual(['host.cpu', 'host.load']);
      const byAttr = (await json('/api/series?metric=cache.memory&attr.db=1')).body.series as Array<{ attributes: Record<string, unknown> }>;
      expect(byAttr.map((s) => s.attributes.cache)).toEqual(['b']);
      expect((await json('/api/series?attr.cache=zzz')).body.count).toBe(0);
      expect((await json('/api/series?limit=1')).body).toMatchObject({ count: 1, matched: 4, truncated: true });
      expect((await json('/api/series?limit=0')).status).toBe(400);
    });

    it('returns recent points for matching series with since (a duration or Unix ms), needing a metric', async () => {
      const { body } = await json('/api/series?metric=cache.memory&attr.cache=a&since=210s');
      const [s] = body.series as Array<{ points: Array<[number, number]> }>;
      expect(s!.points).toEqual([
        [now - 180_000, 106],
        [now - 120_000, 107],
        [now - 60_000, 108],
        [now, 109],
      ]);
      const abs = (await json(`/api/series?metric=cache.memory&attr.cache=a&since=${now - 60_000}`)).body.series as Array<{ points: unknown[] }>;
      expect(abs[0]!.points).toHaveLength(2);
      const noMetric = await json('/api/series?since=5m');
      expect(noMetric.status).toBe(400);
      expect(noMetric.body.error).toContain('need a metric filter');
    });

    it('/api/series/<id> returns one series with its points, windowed by since/until', async () => {
      const id = store.lookup('cache.memory', { cache: 'a', db: 0 })!.id;
      const all = await json(`/api/series/${id}`);
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ id, metric: 'cache.memory', value: 109 });
      expect((all.body.points as unknown[]).length).toBe(10);
      const win = (await json(`/api/series/${id}?since=${now - 300_000}&until=${now - 120_000}`)).body.points as Array<[number, number]>;
      expect(win.map((p) => p[1])).toEqual([104, 105, 106, 107]);
      expect((await json(`/api/series/${id}?since=yesterday`)).status).toBe(400);
      expect((await json('/api/series/99999')).status).toBe(404);
      expect((await json('/api/series/abc')).status).toBe(404);
    });

    it('writes null for non-finite values (JSON has no NaN)', async () => {
      const s = store.record('x', 'odd', {}, Number.NaN, now, 1000)!;
      const { body } = await json(`/api/series/${s.id}`);
      expect(body.value).toBeNull();
      expect(body.points).toEqual([[now, null]]);
    });
  });

  it('/metrics is 404 when telemetry is not running', async () => {
    const s2 = createHttpServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    registerCoreRoutes(s2, { telemetry: undefined, store, statuses: () => [], ready: () => true, startedAt, version: 'x' });
    const { port } = await s2.listen();
    try {
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      await s2.close();
    }
  });
});
