import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackPayload } from '../../agent/alerts/notifiers/slack.ts';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import { collect, makeHarness, sleep, StandIn, startEngine, type Harness } from './helpers.ts';

const SECRET_PATH = '/services/T000SECRET/B000SECRET/xxxxSECRETxxxx';
const M = 'vigil.memory.utilization';

function config(url: string, extra: Record<string, unknown> = {}, slack: Record<string, unknown> = {}) {
  return {
    default_rules: { enabled: false },
    rules: [{ name: 'heap-high', type: 'threshold', metric: M, above: { warning: 0.8, critical: 0.9 }, clear: 0.75 }],
    notifiers: [
      {
        name: 'slack',
        type: 'slack',
        url: url + SECRET_PATH,
        timeout: '3s',
        min_interval: '0ms',
        links: { grafana: 'https://grafana.test/d/vigil?var-fp={{fingerprint}}&from={{from_ms}}', jaeger: 'https://jaeger.test/trace/{{trace_id}}' },
        ...slack,
      },
    ],
    group_wait: '0s',
    group_interval: '200ms',
    outbox: { backoff_initial: '50ms', backoff_max: '200ms' },
    ...extra,
  };
}

const pods = (n: number, value: number) => Array.from({ length: n }, (_, i) => ({ metric: M, attrs: { pod: `api-${i}` }, value }));

describe('Slack notifier against a loopback stand-in', () => {
  let h: Harness;
  let slack: StandIn;
  let engine: AlertEngine | undefined;

  beforeEach(async () => {
    h = makeHarness();
    slack = await new StandIn().start();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await slack.stop();
  });

  it('sends one grouped Block Kit message for a burst of 30 series, then one resolved message', async () => {
    engine = await startEngine(h, config(slack.url));
    collect(h, pods(30, 0.93), Date.now());
    await slack.waitFor((r) => r.length >= 1);
    await sleep(600); // several group intervals: nothing more may arrive
    expect(slack.received).toHaveLength(1);
    const req = slack.received[0]!;
    expect(req.path).toBe(SECRET_PATH);
    expect(req.headers['content-type']).toContain('application/json');
    const p = req.json<SlackPayload>();
    expect(p.text).toContain('[FIRING:30] heap-high');
    expect(p.attachments).toHaveLength(1);
    const att = p.attachments[0]!;
    expect(att.color).toBe('#D00000');
    const blocks = att.blocks as { type: string; text?: { type: string; text: string }; elements?: { text: string }[] }[];
    expect(blocks[0]!.type).toBe('header');
    expect(blocks[0]!.text!.text).toMatch(/\[FIRING:30\] heap-high — CRITICAL/);
    expect(blocks.length).toBeLessThanOrEqual(50); // Slack's limit
    const sections = blocks.filter((b) => b.type === 'section').map((b) => b.text!.text);
    expect(sections.some((t) => /Value: \*93\.0%\* vs threshold ≥ 90\.0%/.test(t))).toBe(true);
    const context = blocks.filter((b) => b.type === 'context').map((b) => b.elements![0]!.text);
    expect(context.at(-1)).toMatch(/and 20 more/);
    // Links: Grafana from the template, Jaeger with the trace id of the alert's span.
    const links = context.find((t) => t.includes('Grafana'))!;
    expect(links).toMatch(/<https:\/\/grafana\.test\/d\/vigil\?var-fp=[0-9a-f]{16}&from=\d+\|Grafana>/);
    const traceId = /jaeger\.test\/trace\/([0-9a-f]{32})/.exec(links)?.[1];
    expect(traceId).toBeDefined();
    const alertSpans = h.spans.getFinishedSpans().filter((s) => s.name === 'alert firing heap-high');
    expect(alertSpans).toHaveLength(30);
    expect(alertSpans.map((s) => s.spanContext().traceId)).toContain(traceId);
    // The delivery span is a child of an alert span.
    const deliver = h.spans.getFinishedSpans().find((s) => s.name === 'alert deliver slack')!;
    expect(deliver).toBeDefined();
    expect(alertSpans.map((s) => s.spanContext().spanId)).toContain(deliver.parentSpanContext?.spanId);

    collect(h, pods(30, 0.5), Date.now());
    await slack.waitFor((r) => r.length >= 2);
    await sleep(400);
    expect(slack.received).toHaveLength(2);
    const resolved = slack.received[1]!.json<SlackPayload>();
    expect(resolved.attachments[0]!.color).toBe('#2EB67D');
    expect(resolved.text).toContain('[RESOLVED] heap-high');
    expect(engine.active()).toHaveLength(0);
  });

  it('escalates the same alert and says so', async () => {
    engine = await startEngine(h, config(slack.url));
    collect(h, pods(1, 0.85), Date.now());
    await slack.waitFor((r) => r.length >= 1);
    expect(slack.received[0]!.json<SlackPayload>().attachments[0]!.color).toBe('#F2A900');
    await sleep(250);
    collect(h, pods(1, 0.95), Date.now());
    await slack.waitFor((r) => r.length >= 2);
    const p = slack.received[1]!.json<SlackPayload>();
    expect(p.attachments[0]!.color).toBe('#D00000');
    expect(p.text).toContain('escalated from warning');
    expect(engine.active()).toHaveLength(1);
    expect(engine.history(10).map((t) => `${t.from}->${t.to}:${t.tier}`)).toEqual(['firing->firing:critical', 'inactive->firing:warning']);
  });

  it('honours 429 Retry-After', async () => {
    slack.behaviour = (_r, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' } : { status: 200, body: 'ok' });
    engine = await startEngine(h, config(slack.url));
    collect(h, pods(1, 0.95), Date.now());
    await slack.waitFor((r) => r.length >= 2, 5000);
    const gap = slack.received[1]!.at - slack.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(990); // not the 50 ms backoff
    expect(gap).toBeLessThan(2500);
    expect(slack.received[1]!.json<SlackPayload>().text).toBe(slack.received[0]!.json<SlackPayload>().text);
    await sleep(100);
    expect(engine.delivery.counter('slack')).toMatchObject({ sent: 1, retried: 1, failed: 1, deadLettered: 0 });
  });

  it('retries 500s with backoff until delivered', async () => {
    slack.behaviour = (_r, n) => (n <= 3 ? { status: 500, body: 'oops' } : { status: 200, body: 'ok' });
    engine = await startEngine(h, config(slack.url));
    collect(h, pods(1, 0.95), Date.now());
    await slack.waitFor((r) => r.length >= 4, 5000);
    await sleep(100);
    expect(engine.delivery.counter('slack')).toMatchObject({ sent: 1, retried: 3 });
    expect(engine.outbox.size).toBe(0);
    // Exponential: later gaps are not shorter than the first (jitter is within [d/2, d]).
    const t = slack.received.map((r) => r.at);
    expect(t[3]! - t[2]!).toBeGreaterThanOrEqual(90);
  });

  it('times out a hanging endpoint and retries', async () => {
    slack.behaviour = (_r, n) => (n === 1 ? 'hang' : { status: 200, body: 'ok' });
    engine = await startEngine(h, config(slack.url, {}, { timeout: '300ms' }));
    collect(h, pods(1, 0.95), Date.now());
    await slack.waitFor((r) => r.length >= 2, 5000);
    const gap = slack.received[1]!.at - slack.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(290); // the 300 ms timeout
    await sleep(100);
    expect(engine.delivery.counter('slack').sent).toBe(1);
  });

  it('dead-letters a 4xx without leaking the webhook secret', async () => {
    slack.behaviour = () => ({ status: 404, body: 'no_service' });
    engine = await startEngine(h, config(slack.url));
    collect(h, pods(1, 0.95), Date.now());
    await slack.waitFor((r) => r.length >= 1);
    await sleep(300);
    expect(slack.received).toHaveLength(1);
    const dl = engine.outbox.deadLetters();
    expect(dl).toHaveLength(1);
    expect(dl[0]!.status).toBe(404);
    expect(dl[0]!.error).toContain('HTTP 404 no_service');
    expect(JSON.stringify(dl)).not.toContain('SECRET');
    expect(JSON.stringify(engine.notifierInfo())).not.toContain('SECRET');
  });

  it('keeps about one message per second per webhook', async () => {
    const cfg = config(slack.url, {}, { min_interval: '1s' });
    cfg.rules.push({ name: 'heap-high-2', type: 'threshold', metric: M, above: { warning: 0.8, critical: 0.9 }, clear: 0.75 });
    cfg.rules.push({ name: 'heap-high-3', type: 'threshold', metric: M, above: { warning: 0.8, critical: 0.9 }, clear: 0.75 });
    engine = await startEngine(h, cfg);
    collect(h, pods(1, 0.95), Date.now());
    await slack.waitFor((r) => r.length >= 3, 5000);
    const t = slack.received.map((r) => r.at);
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(990);
    expect(t[2]! - t[1]!).toBeGreaterThanOrEqual(990);
  });

  it('gives up after max_age into the dead-letter list', async () => {
    slack.behaviour = () => ({ status: 503, body: 'down' });
    engine = await startEngine(h, config(slack.url, { outbox: { backoff_initial: '50ms', backoff_max: '100ms', max_age: '500ms' } }));
    collect(h, pods(1, 0.95), Date.now());
    const deadline = Date.now() + 5000;
    while (engine.outbox.deadLetters().length === 0 && Date.now() < deadline) await sleep(50);
    const dl = engine.outbox.deadLetters();
    expect(dl).toHaveLength(1);
    expect(dl[0]!.error).toMatch(/^undelivered after \d+s: http:\/\/127\.0\.0\.1:\d+: HTTP 503 down$/);
    expect(slack.received.length).toBeGreaterThanOrEqual(3);
    expect(engine.outbox.size).toBe(0);
  });
});
