import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import queuePlugin from '../../../plugins/queue/index.ts';
import { Q } from '../../../plugins/queue/metrics.ts';
import { all, startPlugin, value } from '../cache/harness.ts';

// The shared Redis on 6379, with a unique key prefix per run so nothing collides.
const REDIS = 'redis://127.0.0.1:6379';
const prefix = `vigiltest${Math.random().toString(36).slice(2, 8)}`;
const name = `orders-${Math.random().toString(36).slice(2, 8)}`;
const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
let queue: Queue;
let worker: Worker;
let raw: Redis;

async function snapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      const d = await raw.dumpBuffer(k);
      out.set(k, d ? d.toString('base64') : '');
    }
  } while (cursor !== '0');
  return out;
}

async function processOne(outcome: 'complete' | 'fail'): Promise<void> {
  const token = randomUUID();
  const job = await worker.getNextJob(token, { block: false });
  if (!job) throw new Error('no job to process');
  if (outcome === 'complete') await job.moveToCompleted('ok', token, false);
  else await job.moveToFailed(new Error('boom'), token, false);
}

beforeAll(async () => {
  raw = new Redis(6379, '127.0.0.1');
  queue = new Queue(name, { connection, prefix });
  worker = new Worker(name, null, { connection, prefix, autorun: false });
  await queue.waitUntilReady();
  await worker.waitUntilReady();
});

afterAll(async () => {
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  raw.disconnect();
});

describe('queue plugin: BullMQ on the shared Redis', () => {
  it('counts jobs by state exactly, measures enqueue/dequeue rates and the oldest waiting age, never changing data', async () => {
    const p = await startPlugin(queuePlugin, { bullmq: { redis: REDIS, prefix, queues: [name] }, ceilings: { [name]: 100 } });
    try {
      const N = 10;
      const K = 4;
      const F = 2;
      for (let i = 0; i < N; i++) await queue.add('job', { i });
      await queue.add('later', {}, { delay: 600_000 });
      await queue.add('prio', {}, { priority: 5 });
      for (let i = 0; i < K; i++) await processOne('complete');
      for (let i = 0; i < F; i++) await processOne('fail');

      const before = await snapshot();
      const t0 = Date.now();
      const s1 = await p.collect(t0);
      const st = (s: typeof s1, state: string) => value(s, Q.messages, { 'messaging.destination.name': name, 'vigil.queue.state': state });
      expect(st(s1, 'waiting')).toBe(N - K - F);
      expect(st(s1, 'completed')).toBe(K);
      expect(st(s1, 'failed')).toBe(F);
      expect(st(s1, 'active')).toBe(0);
      expect(st(s1, 'delayed')).toBe(1);
      expect(st(s1, 'prioritized')).toBe(1);
      expect(value(s1, Q.backlog)).toBe(N - K - F + 1);
      expect(value(s1, Q.backlogLimit)).toBe(100);
      expect(value(s1, Q.enqueued)).toBe(N + 2);
      expect(value(s1, Q.paused)).toBe(0);
      expect(one(s1, Q.backlog).attributes).toEqual({ 'messaging.system': 'bullmq', 'messaging.destination.name': name, 'server.address': '127.0.0.1:6379' });

      // The oldest waiting job ages with the clock.
      const s2 = await p.collect(t0 + 5000);
      expect(value(s2, Q.oldestAge) - value(s1, Q.oldestAge)).toBeCloseTo(5, 6);
      expect(await snapshot()).toEqual(before); // the plugin only read

      // 6 added and 3 taken in the next 2 s: rates from the id counter and conservation.
      for (let i = 0; i < 6; i++) await queue.add('job', { i });
      for (let i = 0; i < 3; i++) await processOne('complete');
      const s3 = await p.collect(t0 + 7000);
      expect(value(s3, Q.enqueueRate)).toBeCloseTo(6 / 2, 9);
      expect(value(s3, Q.dequeueRate)).toBeCloseTo(3 / 2, 9);
      expect(value(s3, Q.growth)).toBeCloseTo(3 / 2, 9);
      expect(all(s3, Q.timeToDrain)).toHaveLength(0); // growing: no finite drain time

      // Draining: 4 taken, none added → time to drain = backlog / (4 per 2 s).
      for (let i = 0; i < 4; i++) await processOne('complete');
      const s4 = await p.collect(t0 + 9000);
      const backlog = value(s4, Q.backlog);
      expect(backlog).toBe(N - K - F + 1 + 6 - 3 - 4);
      expect(value(s4, Q.timeToDrain)).toBeCloseTo(backlog / 2, 9);

      await queue.pause();
      const s5 = await p.collect(t0 + 11_000);
      expect(value(s5, Q.paused)).toBe(1);
      expect(st(s5, 'paused') + st(s5, 'waiting')).toBe(st(s4, 'waiting'));
      await queue.resume();
    } finally {
      await p.stop();
    }
  });

  it('discovers queues under the prefix with a bounded SCAN', async () => {
    const other = new Queue(`${name}-b`, { connection, prefix });
    await other.add('x', {});
    const p = await startPlugin(queuePlugin, { bullmq: { redis: REDIS, prefix } });
    try {
      const s = await p.collect(Date.now());
      const names = all(s, Q.backlog).map((x) => x.attributes?.['messaging.destination.name']).sort();
      expect(names).toEqual([name, `${name}-b`].sort());
      expect(value(s, Q.backlog, { 'messaging.destination.name': `${name}-b` })).toBe(1);
    } finally {
      await p.stop();
      await other.obliterate({ force: true });
      await other.close();
    }
  });

  it('is unavailable when its Redis is not there', async () => {
    const p = await startPlugin(queuePlugin, { bullmq: { redis: 'redis://127.0.0.1:1', queues: ['x'] }, connect_timeout: '300ms' });
    try {
      const err = (await p.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('PluginUnavailableError');
    } finally {
      await p.stop();
    }
  });
});

function one(samples: readonly { metric: string; attributes?: Record<string, unknown> }[], metric: string) {
  const f = samples.filter((s) => s.metric === metric);
  if (f.length !== 1) throw new Error(`expected one ${metric}, found ${f.length}`);
  return f[0]!;
}
