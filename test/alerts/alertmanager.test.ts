import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import type { WebhookPayload } from '../../agent/alerts/notifiers/webhook.ts';
import { AlertmanagerProcess } from './am-server.ts';
import { collect, makeHarness, sleep, StandIn, startEngine, type Harness } from './helpers.ts';

const M = 'vigil.memory.utilization';
const HMAC_KEY = 'hmac-test-key';

async function until<T>(f: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('real Alertmanager (prometheus-alertmanager)', () => {
  let hook: StandIn;
  const ams: AlertmanagerProcess[] = [];
  let h: Harness;
  let engine: AlertEngine;

  beforeAll(async () => {
    hook = await new StandIn().start();
    // Two Alertmanagers, as an HA pair would be: both must receive every alert.
    ams.push(await new AlertmanagerProcess(`${hook.url}/am-hook`).start());
    ams.push(await new AlertmanagerProcess(`${hook.url}/am-hook`).start());
    h = makeHarness();
    engine = await startEngine(h, {
      default_rules: { enabled: false },
      rules: [{ name: 'heap-high', type: 'threshold', metric: M, above: { warning: 0.8, critical: 0.9 }, clear: 0.75, labels: { team: 'core' } }],
      notifiers: [
        { name: 'am', type: 'alertmanager', urls: ams.map((a) => a.url), resend_interval: '1s', timeout: '2s' },
        { name: 'hook', type: 'webhook', url: `${hook.url}/ours`, hmac_key: HMAC_KEY },
      ],
      group_wait: '0s',
      group_interval: '300ms',
    });
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await Promise.all(ams.map((a) => a.stop()));
    await hook?.stop();
  });

  it('pushes the alert to every Alertmanager, which routes it to its webhook receiver; resolving ends it', async () => {
    collect(h, [{ metric: M, attrs: { pod: 'api-0', 'k8s.namespace.name': 'prod' }, value: 0.95 }], Date.now());

    for (const am of ams) {
      const a = await until(async () => (await am.alerts()).find((x) => x.labels['alertname'] === 'heap-high'), 10_000, 'alert in Alertmanager');
      expect(a.labels).toEqual({ alertname: 'heap-high', severity: 'critical', team: 'core', pod: 'api-0', k8s_namespace_name: 'prod' });
      expect(a.status.state).toBe('active');
      expect(a.annotations['summary']).toBeTruthy();
      expect(a.annotations['value']).toBe('95.0%');
      expect(a.generatorURL).toMatch(/^http:\/\/vigil\.test:9464\/api\/alerts\?fingerprint=[0-9a-f]{16}$/);
      expect(Date.parse(a.endsAt)).toBeGreaterThan(Date.now()); // endsAt ahead: kept alive by re-sends
    }

    // Alertmanager's own webhook (v4) reaches the test server...
    await hook.waitFor((r) => r.some((x) => x.path === '/am-hook' && x.json<WebhookPayload>().status === 'firing'), 15_000, 'Alertmanager webhook');
    const amPayload = hook.received.find((x) => x.path === '/am-hook')!.json<WebhookPayload>();
    expect(amPayload.version).toBe('4');
    expect(amPayload.alerts[0]!.labels).toMatchObject({ alertname: 'heap-high', pod: 'api-0', severity: 'critical' });

    // ...and our generic webhook speaks the same format: same keys at both levels, HMAC-signed.
    await hook.waitFor((r) => r.some((x) => x.path === '/ours'), 5000, 'our webhook');
    const oursReq = hook.received.find((x) => x.path === '/ours')!;
    const ours = oursReq.json<WebhookPayload>();
    expect(Object.keys(ours).sort()).toEqual(Object.keys(amPayload).sort());
    expect(Object.keys(ours.alerts[0]!).sort()).toEqual(Object.keys(amPayload.alerts[0]!).sort());
    expect(ours).toMatchObject({ version: '4', status: 'firing', receiver: 'hook', groupLabels: { alertname: 'heap-high' }, truncatedAlerts: 0 });
    expect(ours.commonLabels).toMatchObject({ alertname: 'heap-high', severity: 'critical', team: 'core' });
    expect(ours.alerts[0]!.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(ours.alerts[0]!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const expected = `sha256=${createHmac('sha256', HMAC_KEY).update(oursReq.body).digest('hex')}`;
    expect(oursReq.headers['x-vigil-signature']).toBe(expected);

    // Re-sent while firing (resend_interval 1s), as Alertmanager expects.
    const before = hook.received.length;
    await sleep(2500);
    for (const am of ams) expect((await am.alerts()).filter((x) => x.labels['alertname'] === 'heap-high')).toHaveLength(1);
    expect(engine.delivery.counter('am').sent).toBeGreaterThanOrEqual(4);
    expect(hook.received.slice(before).filter((x) => x.path === '/ours')).toHaveLength(0); // webhook: no change, no re-send

    collect(h, [{ metric: M, attrs: { pod: 'api-0', 'k8s.namespace.name': 'prod' }, value: 0.5 }], Date.now());
    for (const am of ams) {
      await until(async () => ((await am.alerts()).some((x) => x.labels['alertname'] === 'heap-high' && x.status.state === 'active') ? undefined : true), 10_000, 'alert to end');
    }
    await hook.waitFor((r) => r.some((x) => x.path === '/am-hook' && x.json<WebhookPayload>().status === 'resolved'), 15_000, 'resolved via Alertmanager');
    await hook.waitFor((r) => r.some((x) => x.path === '/ours' && x.json<WebhookPayload>().status === 'resolved'), 5000, 'resolved via our webhook');
    const resolved = hook.received.filter((x) => x.path === '/ours').at(-1)!.json<WebhookPayload>();
    expect(Date.parse(resolved.alerts[0]!.endsAt)).toBeGreaterThan(Date.parse(resolved.alerts[0]!.startsAt));
  }, 60_000);
});
