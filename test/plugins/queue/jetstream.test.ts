import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, connect, RetentionPolicy, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import queuePlugin from '../../../plugins/queue/index.ts';
import { Q } from '../../../plugins/queue/metrics.ts';
import { all, startPlugin, value } from '../cache/harness.ts';
import { freePort, startNats } from '../cache/servers.ts';

const SERVER = 'nats://127.0.0.1:4222';
const suffix = Math.random().toString(36).slice(2, 8).toUpperCase();
const stream = `VIGIL_${suffix}`;
const wqStream = `VIGIL_WQ_${suffix}`;
const durable = `worker_${suffix}`;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nc = await connect({ servers: SERVER });
  jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`vigil.${suffix}.>`] });
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit });
  await jsm.streams.add({ name: wqStream, subjects: [`vigilwq.${suffix}.>`], retention: RetentionPolicy.Workqueue });
});

afterAll(async () => {
  await jsm.streams.delete(stream).catch(() => undefined);
  await jsm.streams.delete(wqStream).catch(() => undefined);
  await nc.close();
});

describe('queue plugin: NATS JetStream', () => {
  it('reports pending = N - K after publishing N and acking K, with rates from the stream sequence', async () => {
    const p = await startPlugin(queuePlugin, { jetstream: { servers: SERVER, streams: [stream], consumers: [`${stream}/${durable}`] }, ceilings: { [`${stream}/${durable}`]: 1000 } });
    try {
      const js = nc.jetstream();
      const at = { 'messaging.destination.name': stream, 'messaging.consumer.group.name': durable };
      const s0 = await p.collect(50_000);
      expect(value(s0, Q.backlog, at)).toBe(0);
      const N = 25;
      const K = 7;
      for (let i = 0; i < N; i++) await js.publish(`vigil.${suffix}.a`, new TextEncoder().encode(String(i)));
      const consumer = await js.consumers.get(stream, durable);
      const batch = await consumer.fetch({ max_messages: K, expires: 2000 });
      let acked = 0;
      for await (const m of batch) {
        await m.ackAck();
        acked++;
        if (acked === K) break;
      }
      expect(acked).toBe(K);
      const s1 = await p.collect(55_000);
      expect(value(s1, Q.messages, { ...at, 'vigil.queue.state': 'pending' })).toBe(N - K);
      expect(value(s1, Q.messages, { ...at, 'vigil.queue.state': 'ack_pending' })).toBe(0);
      expect(value(s1, Q.backlog, at)).toBe(N - K);
      expect(value(s1, Q.backlogLimit, at)).toBe(1000);
      expect(value(s1, Q.enqueueRate, at)).toBeCloseTo(N / 5, 12);
      expect(value(s1, Q.dequeueRate, at)).toBeCloseTo(K / 5, 12);
      expect(all(s1, Q.timeToDrain, at)).toHaveLength(0); // grew
      const sa = { 'messaging.destination.name': stream };
      const streamMsgs = all(s1, Q.messages, { ...sa, 'vigil.queue.state': 'stored' }).filter((s) => s.attributes?.['messaging.consumer.group.name'] === undefined);
      expect(streamMsgs.map((s) => s.value)).toEqual([N]); // limits retention keeps acked messages
      expect(value(s1, Q.consumers, sa)).toBe(1);

      // Fetch 5 more without acking: they move from pending to ack pending, backlog unchanged.
      const b2 = await consumer.fetch({ max_messages: 5, expires: 2000 });
      let got = 0;
      for await (const _ of b2) if (++got === 5) break;
      const s2 = await p.collect(60_000);
      expect(value(s2, Q.messages, { ...at, 'vigil.queue.state': 'pending' })).toBe(N - K - 5);
      expect(value(s2, Q.messages, { ...at, 'vigil.queue.state': 'ack_pending' })).toBe(5);
      expect(value(s2, Q.backlog, at)).toBe(N - K);
    } finally {
      await p.stop();
    }
  });

  it('treats a work-queue stream as a backlog and lists consumers when none are configured', async () => {
    const p = await startPlugin(queuePlugin, { jetstream: { servers: [SERVER], streams: [wqStream, stream] } });
    try {
      const js = nc.jetstream();
      await p.collect(1_000);
      for (let i = 0; i < 4; i++) await js.publish(`vigilwq.${suffix}.x`, new Uint8Array(10));
      const s = await p.collect(3_000);
      const wa = { 'messaging.destination.name': wqStream };
      expect(value(s, Q.backlog, wa)).toBe(4);
      expect(value(s, Q.enqueueRate, wa)).toBeCloseTo(2, 12);
      // The durable of the other stream was found by listing.
      expect(all(s, Q.backlog, { 'messaging.consumer.group.name': durable })).toHaveLength(1);
    } finally {
      await p.stop();
    }
  });

  it('is unavailable when no NATS server listens', async () => {
    const port = await freePort();
    const p = await startPlugin(queuePlugin, { jetstream: { servers: `nats://127.0.0.1:${port}` }, connect_timeout: '500ms' });
    try {
      const err = (await p.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('PluginUnavailableError');
    } finally {
      await p.stop();
    }
  });
});

describe('queue plugin: JetStream with authentication (own nats-server)', () => {
  it('logs in with a password file, and reports a wrong password as a failing error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-nats-'));
    const server = await startNats(['--user', 'vigil', '--pass', 'nats-pw-42', '-js', '-sd', dir]);
    try {
      await writeFile(join(dir, 'pw'), 'nats-pw-42\n');
      const ok = await startPlugin(queuePlugin, { jetstream: { servers: server.url, username: 'vigil', password_file: join(dir, 'pw') } });
      try {
        const s = await ok.collect(Date.now());
        expect(value(s, Q.sourceUp, { 'messaging.system': 'nats' })).toBe(1);
      } finally {
        await ok.stop();
      }
      const bad = await startPlugin(queuePlugin, { jetstream: { servers: server.url, username: 'vigil', password: 'nope-nope' } });
      try {
        const err = (await bad.collect(Date.now()).catch((e: unknown) => e)) as Error;
        expect(err.name).not.toBe('PluginUnavailableError');
        expect(err.message).toMatch(/authentication failed/);
        expect(err.message).not.toContain('nope-nope');
      } finally {
        await bad.stop();
      }
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
