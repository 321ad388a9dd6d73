import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../agent/plugin/api.ts';
import queuePlugin from '../../../plugins/queue/index.ts';
import { QueueDeriver, queueAttributes } from '../../../plugins/queue/derive.ts';
import { Q } from '../../../plugins/queue/metrics.ts';
import { all, startPlugin, value } from '../cache/harness.ts';
import { freePort } from '../cache/servers.ts';

const attrs = queueAttributes('bullmq', 'h:1', 'q');

function step(d: QueueDeriver, now: number, r: { backlog: number; inflow?: number; enq?: number; deq?: number; epoch?: string }): Sample[] {
  const out: Sample[] = [];
  d.derive({ key: 'k', attributes: attrs, backlog: r.backlog, inflow: r.inflow, enqueuedTotal: r.enq, dequeuedTotal: r.deq, epoch: r.epoch, ceilingKeys: ['bullmq:q', 'q'] }, now, out);
  return out;
}

describe('queue derivations', () => {
  it('uses the most specific ceiling', () => {
    const d = new QueueDeriver({ q: 10, 'bullmq:q': 20 });
    expect(value(step(d, 0, { backlog: 1 }), Q.backlogLimit)).toBe(20);
    expect(all(step(new QueueDeriver({ other: 1 }), 0, { backlog: 1 }), Q.backlogLimit)).toHaveLength(0);
  });

  it('derives the dequeue rate from the enqueue counter and the inflow change', () => {
    const d = new QueueDeriver({});
    step(d, 0, { backlog: 10, inflow: 12, enq: 100 });
    // +8 enqueued, inflow 12 → 14: 6 left in 2 s.
    const s = step(d, 2000, { backlog: 7, inflow: 14, enq: 108 });
    expect(value(s, Q.enqueueRate)).toBe(4);
    expect(value(s, Q.dequeueRate)).toBe(3);
    expect(value(s, Q.growth)).toBe(-1.5);
    expect(value(s, Q.timeToDrain)).toBeCloseTo(7 / 1.5, 12);
  });

  it('derives the enqueue rate from a dequeue counter', () => {
    const d = new QueueDeriver({});
    step(d, 0, { backlog: 5, deq: 50 });
    const s = step(d, 1000, { backlog: 8, deq: 54 });
    expect(value(s, Q.dequeueRate)).toBe(4);
    expect(value(s, Q.enqueueRate)).toBe(7);
    expect(all(s, Q.timeToDrain)).toHaveLength(0);
  });

  it('time to drain is 0 when empty and absent when flat', () => {
    const d = new QueueDeriver({});
    expect(value(step(d, 0, { backlog: 0 }), Q.timeToDrain)).toBe(0);
    step(d, 1000, { backlog: 3 });
    expect(all(step(d, 2000, { backlog: 3 }), Q.timeToDrain)).toHaveLength(0);
  });

  it('never emits negative or non-finite rates, whatever the readings (resets included)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ backlog: fc.nat(1000), extra: fc.nat(50), enq: fc.nat(10_000), dt: fc.integer({ min: 0, max: 5000 }), epoch: fc.constantFrom('a', 'b') }), { maxLength: 40 }),
        (rs) => {
          const d = new QueueDeriver({});
          let t = 0;
          for (const r of rs) {
            t += r.dt;
            for (const s of step(d, t, { backlog: r.backlog, inflow: r.backlog + r.extra, enq: r.enq, epoch: r.epoch })) {
              expect(Number.isFinite(s.value)).toBe(true);
              if (s.metric !== Q.growth) expect(s.value).toBeGreaterThanOrEqual(0);
            }
          }
        },
      ),
    );
  });
});

describe('queue plugin with one broker down', () => {
  it('still reports the healthy broker and marks the dead one', async () => {
    const dead = await freePort();
    const p = await startPlugin(queuePlugin, {
      jetstream: { servers: 'nats://127.0.0.1:4222', streams: ['VIGIL_DOES_NOT_EXIST_X'] },
      rabbitmq: { url: `amqp://guest:guest@127.0.0.1:${dead}`, queues: ['x'] },
      connect_timeout: '500ms',
    });
    try {
      const s = await p.collect(Date.now());
      expect(value(s, Q.sourceUp, { 'messaging.system': 'rabbitmq' })).toBe(0);
      expect(value(s, Q.sourceUp, { 'messaging.system': 'nats' })).toBe(1);
    } finally {
      await p.stop();
    }
  });

  it('rejects bad options with paths', () => {
    const r = queuePlugin.parseOptions({ rabbitmq: { url: 'http://x', queues: [] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['rabbitmq.url', 'rabbitmq.queues']));
    expect(queuePlugin.parseOptions({}).ok).toBe(false);
  });
});
