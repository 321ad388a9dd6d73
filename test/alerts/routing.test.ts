import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import type { WebhookPayload } from '../../agent/alerts/notifiers/webhook.ts';
import { collect, makeHarness, sleep, StandIn, startEngine } from './helpers.ts';

const M = 'vigil.memory.utilization';

describe('routing tiers and rules to notifiers', () => {
  let engine: AlertEngine | undefined;
  let rx: StandIn | undefined;
  afterEach(async () => {
    await engine?.stop();
    await rx?.stop();
  });

  it('INFO only to the webhook, CRITICAL to Slack and the webhook; resolved goes to whoever was told', async () => {
    rx = await new StandIn().start();
    const h = makeHarness();
    engine = await startEngine(h, {
      default_rules: { enabled: false },
      rules: [{ name: 'mem', type: 'threshold', metric: M, above: { info: 0.7, warning: 0.8, critical: 0.9 } }],
      notifiers: [
        { name: 'slack', type: 'slack', url: `${rx.url}/slack`, min_interval: '0ms' },
        { name: 'hook', type: 'webhook', url: `${rx.url}/hook` },
      ],
      routes: [
        { notifiers: ['hook'], tiers: ['info', 'warning', 'critical'] },
        { notifiers: ['slack'], tiers: ['critical'], rules: ['mem'] },
      ],
      group_wait: '0s',
      group_interval: '100ms',
    });
    const at = (path: string) => rx!.received.filter((r) => r.path === path);
    collect(h, [{ metric: M, attrs: { pod: 'a' }, value: 0.75 }], Date.now());
    await rx.waitFor(() => at('/hook').length >= 1);
    await sleep(250);
    expect(at('/slack')).toHaveLength(0);
    expect(at('/hook')[0]!.json<WebhookPayload>().alerts[0]!.labels['severity']).toBe('info');

    collect(h, [{ metric: M, attrs: { pod: 'a' }, value: 0.95 }], Date.now());
    await rx.waitFor(() => at('/slack').length >= 1 && at('/hook').length >= 2);
    expect(at('/hook')[1]!.json<WebhookPayload>().alerts[0]!.labels['severity']).toBe('critical');

    collect(h, [{ metric: M, attrs: { pod: 'a' }, value: 0.3 }], Date.now());
    await rx.waitFor(() => at('/slack').length >= 2 && at('/hook').length >= 3);
    expect(at('/hook')[2]!.json<WebhookPayload>().status).toBe('resolved');
    await sleep(250);
    expect(at('/slack')).toHaveLength(2);
    expect(at('/hook')).toHaveLength(3);
  });
});
