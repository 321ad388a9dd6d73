import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import type { SlackPayload } from '../../agent/alerts/notifiers/slack.ts';
import { createHttpServer, type HttpServer } from '../../agent/http/server.ts';
import { createAlerts } from '../../agent/alerts/index.ts';
import { alertsConfig, collect, makeHarness, sleep, StandIn, startEngine } from './helpers.ts';

const M = 'vigil.memory.utilization';
const TOKEN = 'silence-token-123';

describe('alerts HTTP API (real server)', () => {
  let server: HttpServer | undefined;
  let engine: AlertEngine | undefined;
  let slack: StandIn | undefined;
  afterEach(async () => {
    await engine?.stop();
    await server?.close();
    await slack?.stop();
  });

  it('lists alerts and history, manages silences with a bearer token, redacts secrets', async () => {
    slack = await new StandIn().start();
    server = createHttpServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    const h = makeHarness({ http: server });
    engine = await startEngine(h, {
      default_rules: { enabled: false },
      api_token: TOKEN,
      rules: [{ name: 'heap-high', type: 'threshold', metric: M, above: { warning: 0.8 } }],
      notifiers: [
        { name: 'slack', type: 'slack', url: `${slack.url}/services/SECRETPATH`, min_interval: '0ms' },
        { name: 'hook', type: 'webhook', url: `${slack.url}/hook`, hmac_key: 'SECRETKEY', headers: { authorization: 'Bearer SECRETHDR' }, enabled: false },
      ],
      group_wait: '0s',
      group_interval: '100ms',
    });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string) => (await fetch(base + path)).json() as Promise<Record<string, unknown>>;

    // Silence pod api-0 before anything fires.
    const body = JSON.stringify({ matchers: [{ name: 'pod', value: 'api-0' }], duration: '1h', comment: 'deploying', createdBy: 'test' });
    expect((await fetch(`${base}/api/silences`, { method: 'POST', body })).status).toBe(401);
    expect((await fetch(`${base}/api/silences`, { method: 'POST', body, headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const bad = await fetch(`${base}/api/silences`, { method: 'POST', body: JSON.stringify({ matchers: { pod: 'x' } }), headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bad.status).toBe(400);
    const created = await fetch(`${base}/api/silences`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(created.status).toBe(201);
    const silence = (await created.json()) as { id: string; endsAt: string };
    expect(Date.parse(silence.endsAt) - Date.now()).toBeGreaterThan(3_500_000);
    expect(((await get('/api/silences'))['silences'] as unknown[]).length).toBe(1);

    collect(h, [0, 1].map((i) => ({ metric: M, attrs: { pod: `api-${i}` }, value: 0.9 })), Date.now());
    await slack.waitFor((r) => r.length >= 1);
    await sleep(300);
    expect(slack.received).toHaveLength(1);
    expect(slack.received[0]!.json<SlackPayload>().text).toContain('[FIRING:1]'); // api-0 held back

    const alerts = (await get('/api/alerts'))['alerts'] as { labels: Record<string, string>; silencedBy: string | null; status: string; traceId: string | null }[];
    expect(alerts).toHaveLength(2);
    expect(alerts.find((a) => a.labels['pod'] === 'api-0')!.silencedBy).toBe(silence.id);
    expect(alerts.every((a) => a.status === 'firing')).toBe(true);
    const hist = (await get('/api/alerts/history?limit=5'))['transitions'] as { to: string }[];
    expect(hist.map((t) => t.to)).toEqual(['firing', 'firing']);

    // Removing the silence releases the held-back alert.
    expect((await fetch(`${base}/api/silences/${silence.id}`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${base}/api/silences/${silence.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    await slack.waitFor((r) => r.length >= 2);
    expect(slack.received[1]!.json<SlackPayload>().text).toContain('[FIRING:2]');

    const notifiers = JSON.stringify(await get('/api/alerts/notifiers'));
    expect(notifiers).toContain('"queued":0');
    expect(notifiers).not.toMatch(/SECRET|silence-token/);
    expect(JSON.stringify(await get('/api/alerts/deadletter'))).toBe('{"deadLetters":[]}');
  });

  it('refuses silence changes when no token is configured', async () => {
    server = createHttpServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    const h = makeHarness({ http: server });
    engine = await startEngine(h, { default_rules: { enabled: false } });
    const { port } = await server.listen();
    const r = await fetch(`http://127.0.0.1:${port}/api/silences`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer x' } });
    expect(r.status).toBe(403);
  });

  it('survives a config reload: a new engine takes over the routes registered once', async () => {
    server = createHttpServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    const h = makeHarness({ http: server });
    const rule = (above: number) => ({ default_rules: { enabled: false }, rules: [{ name: 'hot', type: 'threshold', metric: M, above: { warning: above } }] });
    const first = createAlerts(alertsConfig(rule(0.8)), h.services);
    await first.start();
    const { port } = await server.listen();
    collect(h, [{ metric: M, attrs: { pod: 'a' }, value: 0.85 }], Date.now());
    const list = async () => ((await (await fetch(`http://127.0.0.1:${port}/api/alerts`)).json()) as { alerts: unknown[] }).alerts.length;
    expect(await list()).toBe(1);
    await first.stop();
    expect((await fetch(`http://127.0.0.1:${port}/api/alerts`)).status).toBe(503);
    const second = createAlerts(alertsConfig(rule(0.9)), h.services);
    await second.start(); // registering the routes again would throw on the real router
    engine = second.engine;
    collect(h, [{ metric: M, attrs: { pod: 'a' }, value: 0.85 }], Date.now());
    expect(await list()).toBe(0); // the new rule (0.9) is in force; the old alert resolved
  });
});
