import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import queuePlugin from '../../../plugins/queue/index.ts';
import { Q } from '../../../plugins/queue/metrics.ts';
import { parseQueueStats } from '../../../plugins/queue/rabbitmq-management.ts';
import { all, startPlugin, value } from '../cache/harness.ts';
import { freePort, recordingLogger } from '../cache/servers.ts';

const run = promisify(execFile);
const URL = 'amqp://guest:guest@127.0.0.1:5672';
const suffix = Math.random().toString(36).slice(2, 8);
const qname = `vigil-test-${suffix}`;
let conn: Awaited<ReturnType<typeof amqp.connect>>;
let ch: Awaited<ReturnType<typeof conn.createChannel>>;

beforeAll(async () => {
  conn = await amqp.connect(URL);
  ch = await conn.createChannel();
  await ch.assertQueue(qname, { durable: false });
});

afterAll(async () => {
  await ch.deleteQueue(qname).catch(() => undefined);
  await conn.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queue plugin: RabbitMQ over AMQP', () => {
  it('sees ready = N with no consumer, then one consumer draining it with a time to drain', async () => {
    const { logger, lines } = recordingLogger();
    const missing = `vigil-missing-${suffix}`;
    const p = await startPlugin(queuePlugin, { rabbitmq: { url: URL, queues: [missing, qname] }, ceilings: { [qname]: 500 } }, { logger });
    try {
      const N = 60;
      for (let i = 0; i < N; i++) ch.sendToQueue(qname, Buffer.from(`m${i}`));
      // Publishes are async on the channel; wait until the broker counts them all.
      for (let i = 0; i < 50 && (await ch.checkQueue(qname)).messageCount < N; i++) await sleep(20);
      const s1 = await p.collect(Date.now());
      const at = { 'messaging.destination.name': qname };
      expect(value(s1, Q.messages, { ...at, 'vigil.queue.state': 'ready' })).toBe(N);
      expect(value(s1, Q.consumers, at)).toBe(0);
      expect(value(s1, Q.backlog, at)).toBe(N);
      expect(value(s1, Q.backlogLimit, at)).toBe(500);
      // The missing queue closed the channel; the next queue was still read, and it is logged once.
      expect(all(s1, Q.backlog, { 'messaging.destination.name': missing })).toHaveLength(0);

      // A slow consumer: prefetch 1, ack after 25 ms → about 40 messages/s.
      const cch = await conn.createChannel();
      await cch.prefetch(1);
      await cch.consume(qname, (msg) => {
        if (msg) setTimeout(() => cch.ack(msg), 25);
      });
      const seen: { consumers: number; backlog: number; ttd?: number }[] = [];
      for (let i = 0; i < 30; i++) {
        await sleep(250);
        const s = await p.collect(Date.now());
        const ttd = all(s, Q.timeToDrain, at)[0]?.value;
        seen.push({ consumers: value(s, Q.consumers, at), backlog: value(s, Q.backlog, at), ttd });
        if (seen.at(-1)!.backlog === 0) break;
      }
      expect(seen.every((x) => x.consumers === 1)).toBe(true);
      expect(seen.at(-1)!.backlog).toBe(0);
      expect(seen.at(-1)!.ttd).toBe(0);
      // While draining (backlog > 0 and shrinking) a finite, positive time to drain shows.
      const draining = seen.filter((x) => x.backlog > 0 && x.ttd !== undefined);
      expect(draining.length).toBeGreaterThan(0);
      for (const d of draining) expect(d.ttd).toBeGreaterThan(0);
      await cch.close();
      expect(lines.filter((l) => l.msg === 'rabbitmq queue not found')).toHaveLength(1);
    } finally {
      await p.stop();
    }
  });

  it('is unavailable when nothing listens, and a wrong password is a clear failing error', async () => {
    const port = await freePort();
    const p = await startPlugin(queuePlugin, { rabbitmq: { url: `amqp://guest:guest@127.0.0.1:${port}`, queues: ['x'] }, connect_timeout: '500ms' });
    try {
      const err = (await p.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('PluginUnavailableError');
    } finally {
      await p.stop();
    }
    const q = await startPlugin(queuePlugin, { rabbitmq: { url: 'amqp://guest:not-the-password@127.0.0.1:5672', queues: [qname] } });
    try {
      const err = (await q.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).not.toBe('PluginUnavailableError');
      expect(err.message).toMatch(/authentication failed/);
      expect(err.message).not.toContain('not-the-password');
    } finally {
      await q.stop();
    }
  });
});

describe('queue plugin: RabbitMQ connection closed by the broker', () => {
  it('reconnects within the next collection', async () => {
    const instance = `rmqkill${suffix}`;
    const p = await startPlugin(queuePlugin, { rabbitmq: { url: URL, queues: [qname] } }, { instance });
    try {
      const at = { 'messaging.destination.name': qname };
      expect(all(await p.collect(Date.now()), Q.backlog, at)).toHaveLength(1);
      // Plain table output: `<rabbit@host.1.2.0>\t[{"connection_name","vigil-…"},…]`.
      const { stdout } = await run('rabbitmqctl', ['-s', 'list_connections', 'pid', 'client_properties']);
      const mine = stdout.split('\n').filter((l) => l.includes(`"vigil-${instance}"`));
      expect(mine).toHaveLength(1);
      await run('rabbitmqctl', ['close_connection', mine[0]!.split('\t')[0]!, 'vigil test: forced close']);
      const s = await p.collect(Date.now() + 1000);
      expect(value(s, Q.sourceUp, { 'messaging.system': 'rabbitmq' })).toBe(1);
      expect(all(s, Q.backlog, at)).toHaveLength(1);
    } finally {
      await p.stop();
    }
  }, 30_000);
});

describe('queue plugin: RabbitMQ management API', () => {
  // No management plugin runs on the shared broker, so a local HTTP server answers with a
  // recorded /api/queues/{vhost}/{name} document; AMQP figures come from the real broker.
  let server: Server;
  let port: number;
  let doc: Record<string, unknown>;
  let authSeen: string | undefined;

  beforeAll(async () => {
    doc = JSON.parse(readFileSync(new globalThis.URL('../../../plugins/queue/testdata/rabbitmq-queue.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    port = await freePort();
    server = createServer((req, res) => {
      authSeen = req.headers.authorization;
      if (req.url?.startsWith(`/api/queues/%2F/${encodeURIComponent(qname)}`)) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(doc));
      } else {
        res.statusCode = 404;
        res.end('{"error":"Object Not Found"}');
      }
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('parses the recorded queue document', () => {
    const s = parseQueueStats(doc);
    expect(s).toMatchObject({ ready: 10, unacknowledged: 2, consumers: 2, bytes: 3072, publish: 1520, ack: 1500, deliverNoAck: 6, getNoAck: 2, redeliver: 3 });
  });

  it('adds unacked messages, bytes and publish/ack counters, and rates from their deltas', async () => {
    const p = await startPlugin(queuePlugin, {
      rabbitmq: { url: URL, queues: [qname], management: { url: `http://127.0.0.1:${port}`, username: 'monitor', password: 'mon-pass' } },
    });
    try {
      await ch.purgeQueue(qname);
      const at = { 'messaging.destination.name': qname };
      const s1 = await p.collect(100_000);
      expect(authSeen).toBe(`Basic ${Buffer.from('monitor:mon-pass').toString('base64')}`);
      expect(value(s1, Q.messages, { ...at, 'vigil.queue.state': 'unacknowledged' })).toBe(2);
      expect(value(s1, Q.backlog, at)).toBe(0 + 2); // AMQP ready (purged: 0) + unacked
      expect(value(s1, Q.operations, { ...at, 'vigil.queue.operation': 'publish' })).toBe(1520);
      expect(value(s1, Q.enqueued, at)).toBe(1520);
      expect(value(s1, Q.dequeued, at)).toBe(1500 + 6 + 2);
      expect(value(s1, Q.bytes, at)).toBe(3072);
      const ms = doc.message_stats as Record<string, number>;
      ms.publish = 1520 + 40;
      ms.ack = 1500 + 30;
      const s2 = await p.collect(110_000);
      expect(value(s2, Q.enqueueRate, at)).toBeCloseTo(4, 12);
      expect(value(s2, Q.dequeueRate, at)).toBeCloseTo(3, 12);
      expect(value(s2, Q.operationRate, { ...at, 'vigil.queue.operation': 'publish' })).toBeCloseTo(4, 12);
      expect(value(s2, Q.operationRate, { ...at, 'vigil.queue.operation': 'deliver' })).toBe(0);
      // A broker restart resets the counters: no rate for that interval, never negative.
      ms.publish = 5;
      ms.ack = 1;
      const s3 = await p.collect(120_000);
      expect(all(s3, Q.enqueueRate, at)).toHaveLength(0);
      expect(all(s3, Q.dequeueRate, at)).toHaveLength(0);
      expect(all(s3, Q.operationRate, { ...at, 'vigil.queue.operation': 'publish' })).toHaveLength(0);
    } finally {
      await p.stop();
    }
  });
});
