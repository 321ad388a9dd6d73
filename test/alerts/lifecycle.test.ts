import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import type { SlackPayload } from '../../agent/alerts/notifiers/slack.ts';
import { collect, makeHarness, sleep, StandIn, startEngine, type Harness } from './helpers.ts';

const M = 'vigil.memory.utilization';
const T0 = Date.UTC(2026, 0, 1);

describe('alert lifecycle (fake clock)', () => {
  let engine: AlertEngine | undefined;
  let slack: StandIn | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await slack?.stop();
    slack = undefined;
  });

  function step(h: Harness, value: number, dtMs = 1000, attrs: Record<string, string> = { pod: 'a' }): void {
    h.clock.now += dtMs;
    collect(h, [{ metric: M, attrs, value }], h.clock.now);
  }

  it('goes inactive → pending → firing → resolved, honouring `for` and keep_firing_for', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(
      h,
      { default_rules: { enabled: false }, rules: [{ name: 'hot', type: 'threshold', metric: M, above: { warning: 0.8 }, for: '3s', keep_firing_for: '2s' }] },
      true,
    );
    step(h, 0.5);
    expect(engine.active()).toHaveLength(0);
    step(h, 0.85);
    expect(engine.active()[0]).toMatchObject({ status: 'pending', tier: 'warning' });
    step(h, 0.86);
    step(h, 0.87);
    expect(engine.active()[0]!.status).toBe('pending');
    step(h, 0.88); // 3 s after it became pending
    const a = engine.active()[0]!;
    expect(a.status).toBe('firing');
    expect(a.startsAt).toBe(T0 + 5000);
    step(h, 0.5); // condition false, but keep_firing_for 2s
    expect(engine.active()).toHaveLength(1);
    step(h, 0.5);
    expect(engine.active()).toHaveLength(0);
    const hist = engine.history(10).map((t) => `${t.from}->${t.to}`);
    expect(hist).toEqual(['firing->resolved', 'pending->firing', 'inactive->pending']);
  });

  it('a pending alert that clears before `for` never fires', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(h, { default_rules: { enabled: false }, rules: [{ name: 'hot', type: 'threshold', metric: M, above: { warning: 0.8 }, for: '5s' }] }, true);
    for (let i = 0; i < 30; i++) step(h, i % 4 === 3 ? 0.5 : 0.9); // bad 3 s, good 1 s...
    expect(engine.history(100).filter((t) => t.to === 'firing')).toHaveLength(0);
    expect(engine.history(100).filter((t) => t.to === 'pending').length).toBeGreaterThan(5);
  });

  it('de-escalates only past the clear margin, then resolves', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(
      h,
      { default_rules: { enabled: false }, rules: [{ name: 'mem', type: 'threshold', metric: M, above: { info: 0.7, warning: 0.8, critical: 0.9 }, clear: 0.65 }] },
      true,
    );
    step(h, 0.92);
    expect(engine.active()[0]!.tier).toBe('critical');
    step(h, 0.88); // within the 0.05 margin of critical
    expect(engine.active()[0]!.tier).toBe('critical');
    step(h, 0.84); // past it: warning
    expect(engine.active()[0]!.tier).toBe('warning');
    step(h, 0.68); // info holds down to 0.65
    expect(engine.active()[0]!.tier).toBe('info');
    step(h, 0.66);
    expect(engine.active()).toHaveLength(1);
    step(h, 0.64);
    expect(engine.active()).toHaveLength(0);
  });

  it('flapping: a value oscillating around the threshold yields one alert, not dozens', async () => {
    slack = await new StandIn().start();
    const run = async (rule: Record<string, unknown>): Promise<{ messages: number; firings: number }> => {
      const h = makeHarness();
      h.clock.now = T0;
      const before = slack!.received.length;
      const e = await startEngine(
        h,
        {
          default_rules: { enabled: false },
          rules: [{ name: 'flappy', type: 'threshold', metric: M, above: { warning: 0.8 }, ...rule }],
          notifiers: [{ name: 'slack', type: 'slack', url: `${slack!.url}/hook`, min_interval: '0ms' }],
          group_wait: '0s',
          group_interval: '0s',
        },
        true,
      );
      // 60 collections, 1 s apart: 0.78, 0.82, 0.79, 0.83... around the 0.80 line.
      for (let i = 0; i < 60; i++) step(h, 0.8 + (i % 2 === 0 ? -0.02 : 0.02) + (i % 4 === 1 ? 0.01 : 0));
      await e.idle();
      await sleep(500);
      const firings = e.history(1000).filter((t) => t.to === 'firing').length;
      await e.stop();
      return { messages: slack!.received.length - before, firings };
    };
    // With a clear threshold (hysteresis), one alert that stays firing: one message.
    const damped = await run({ clear: 0.75 });
    expect(damped).toEqual({ messages: 1, firings: 1 });
    expect(slack.received.at(-1)!.json<SlackPayload>().text).toContain('[FIRING:1] flappy');
    // Control: the same signal without hysteresis flaps (proves the signal really crosses the line).
    const raw = await run({});
    expect(raw.firings).toBeGreaterThan(20);
  });

  it('missing series resolve after the grace period; restored alerts survive the first evaluations', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(h, { default_rules: { enabled: false }, evaluation_interval: '10s', rules: [{ name: 'hot', type: 'threshold', metric: M, above: { warning: 0.8 } }] }, true);
    step(h, 0.9);
    expect(engine.active()).toHaveLength(1);
    step(h, 0.9, 1000, { pod: 'other' }); // pod a stops reporting
    expect(engine.active()).toHaveLength(2);
    for (let i = 0; i < 20; i++) step(h, 0.5, 1000, { pod: 'other' });
    expect(engine.active()).toHaveLength(1); // still within 30 s grace... pod a
    for (let i = 0; i < 15; i++) step(h, 0.5, 1000, { pod: 'other' });
    expect(engine.active()).toHaveLength(0);
  });

  it('repeats long-firing alerts every repeat_interval and records delivery and alert metrics', async () => {
    slack = await new StandIn().start();
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(
      h,
      {
        default_rules: { enabled: false },
        rules: [{ name: 'hot', type: 'threshold', metric: M, above: { warning: 0.8, critical: 0.9 } }],
        notifiers: [{ name: 'slack', type: 'slack', url: `${slack.url}/hook`, min_interval: '0ms' }],
        group_wait: '0s',
        group_interval: '1s',
        repeat_interval: '10s',
      },
      true,
    );
    step(h, 0.95);
    await slack.waitFor((r) => r.length >= 1);
    for (let i = 0; i < 25; i++) {
      step(h, 0.95);
      await engine.idle();
    }
    await slack.waitFor((r) => r.length >= 3);
    await sleep(200);
    expect(slack.received).toHaveLength(3);
    expect(slack.received[1]!.json<SlackPayload>().text).toContain('(still firing)');
    step(h, 0.95);
    const sent = h.store.lookup('vigil.alerts.notifications.sent', { 'vigil.alert.notifier': 'slack' });
    expect(sent?.lastValue).toBe(3);
    expect(h.store.lookup('vigil.alerts.active', { 'vigil.alert.tier': 'critical' })?.lastValue).toBe(1);
    expect(h.store.lookup('vigil.alerts.active', { 'vigil.alert.tier': 'warning' })?.lastValue).toBe(0);
    expect(h.store.lookup('vigil.alerts.outbox.queued', { 'vigil.alert.notifier': 'slack' })?.lastValue).toBe(0);
    expect(h.services.metrics.get('vigil.alerts.notifications.sent')?.kind).toBe('counter');
  });
});
