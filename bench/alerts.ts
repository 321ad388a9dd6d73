/**
 * Alert latency and outbox throughput.
 *
 * 1. Crossing → stand-in: a signal crosses a threshold at a random instant; a simulated plugin
 *    collects every 1 s (store write + `cycle` event, as the plugin host does); the rule has
 *    `for: 0`. Measured: real time from the crossing to the HTTP request arriving at a loopback
 *    Slack stand-in (median, p99, max), and the agent's own share (collection → request).
 *    Goal: ≤ one collection interval + 1 s.
 * 2. Outbox throughput: N alerts in separate groups fire at once → N notifications journaled
 *    (fsync'd) and delivered to a webhook stand-in; messages/s end to end. Also the journal's
 *    accept rate alone.
 *
 *   npx tsx bench/alerts.ts [trials=30] [messages=2000]
 */
import { join } from 'node:path';
import { Outbox } from '../agent/alerts/outbox/outbox.ts';
import { collect, makeHarness, sleep, StandIn, startEngine, tempDir } from '../test/alerts/helpers.ts';

const TRIALS = Number(process.argv[2] ?? 30);
const MESSAGES = Number(process.argv[3] ?? 2000);
const INTERVAL = 1000;
const M = 'vigil.memory.utilization';

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function latency(): Promise<void> {
  const slack = await new StandIn().start();
  const h = makeHarness();
  const engine = await startEngine(h, {
    default_rules: { enabled: false },
    rules: [{ name: 'heap-high', type: 'threshold', metric: M, above: { warning: 0.8, critical: 0.9 }, clear: 0.75, for: '0s' }],
    notifiers: [{ name: 'slack', type: 'slack', url: `${slack.url}/services/T/B/bench` }],
    group_wait: '0s',
    group_interval: '1s',
  });
  let value = 0.5;
  let lastTick = 0;
  const ticks: number[] = [];
  // The simulated plugin: collect every second, whatever the signal is doing.
  const timer = setInterval(() => {
    lastTick = Date.now();
    ticks.push(lastTick);
    collect(h, [{ metric: M, attrs: { pod: 'api-0' }, value }], lastTick, INTERVAL);
  }, INTERVAL);

  const total: number[] = [];
  const agent: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    await sleep(Math.random() * INTERVAL); // random phase against the collection ticks
    const before = slack.received.length;
    value = 0.95;
    const crossedAt = Date.now();
    await slack.waitFor((r) => r.length > before, 10_000, 'firing');
    const got = slack.received[before]!;
    total.push(got.at - crossedAt);
    const tick = ticks.filter((t) => t >= crossedAt)[0] ?? lastTick;
    agent.push(got.at - tick);
    value = 0.5;
    await slack.waitFor((r) => r.length > before + 1, 10_000, 'resolved');
    await sleep(1100); // Slack min interval
  }
  clearInterval(timer);
  await engine.stop();
  await slack.stop();
  console.log(`crossing → Slack stand-in, 1 s collection, for: 0 (${TRIALS} crossings):`);
  console.log(`  total   median ${fmt(pct(total, 50))}  p99 ${fmt(pct(total, 99))}  max ${fmt(Math.max(...total))}   (goal ≤ ${INTERVAL + 1000} ms)`);
  console.log(`  agent   median ${fmt(pct(agent, 50))}  p99 ${fmt(pct(agent, 99))}  max ${fmt(Math.max(...agent))}   (collection → request: evaluate, group, fsync, HTTP)`);
}

async function throughput(): Promise<void> {
  const rx = await new StandIn().start();
  const h = makeHarness();
  const engine = await startEngine(h, {
    default_rules: { enabled: false },
    rules: [{ name: 'heap-high', type: 'threshold', metric: M, above: { warning: 0.8 } }],
    notifiers: [{ name: 'hook', type: 'webhook', url: `${rx.url}/hook` }],
    group_by: ['alertname', 'pod'], // one message per series
    group_wait: '0s',
  });
  const points = Array.from({ length: MESSAGES }, (_, i) => ({ metric: M, attrs: { pod: `p${i}` }, value: 0.9 }));
  const t0 = performance.now();
  collect(h, points, Date.now(), 10_000);
  const tEval = performance.now();
  await engine.idle();
  const tJournal = performance.now();
  await rx.waitFor((r) => r.length >= MESSAGES, 120_000, 'all deliveries');
  const t1 = performance.now();
  await engine.stop();
  await rx.stop();
  console.log(`outbox → webhook stand-in, ${MESSAGES} notifications fired in one evaluation:`);
  console.log(`  evaluate + group ${fmt(tEval - t0)}, journal (one fsync'd batch) ${fmt(tJournal - tEval)}, all delivered after ${fmt(t1 - t0)}`);
  console.log(`  delivery throughput ${(MESSAGES / ((t1 - t0) / 1000)).toFixed(0)} notifications/s (one in-flight request per target, in order)`);

  // The journal alone: accept in batches of 1 (fsync each) and of 100.
  for (const batch of [1, 100]) {
    const o = new Outbox({ file: join(tempDir(), 'outbox.journal'), maxEntries: 1_000_000, dedupWindowMs: 600_000, maxDeadLetters: 10, fsync: true });
    await o.open(Date.now());
    const n = batch === 1 ? 500 : 20_000;
    const s = performance.now();
    for (let i = 0; i < n; i += batch) {
      const entries = Array.from({ length: batch }, (_, j) => ({
        target: 'hook#0',
        notifier: 'hook',
        targetIndex: 0,
        tier: 'warning' as const,
        createdAt: Date.now(),
        dedupKey: `k${i + j}`,
        message: { receiver: 'hook', groupKey: `{}:{pod="${i + j}"}`, groupLabels: {}, status: 'firing' as const, alerts: [], at: 0, repeat: false },
      }));
      await o.accept(entries, Date.now());
    }
    const e = performance.now();
    await o.close();
    console.log(`  journal accept, batches of ${batch}: ${((n / (e - s)) * 1000).toFixed(0)} notifications/s (${fmt((e - s) / (n / batch))} per fsync'd batch)`);
  }
}

await latency();
await throughput();
