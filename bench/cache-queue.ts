/**
 * Collection cost of the cache and queue plugins at a realistic size:
 * 4 Redis nodes (own redis-servers) for the cache plugin; 20 BullMQ queues (on an own
 * redis-server, so its commandstats are exact), 10 RabbitMQ queues and 5 JetStream
 * consumers for the queue plugin. Prints wall time and CPU per collection, samples per
 * collection, and the commands each collection puts on Redis (INFO commandstats deltas).
 *
 *   npx tsx bench/cache-queue.ts [collections=50]
 */
import { Queue } from 'bullmq';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { AckPolicy, connect } from 'nats';
import type { PluginInstance, Sample } from '../agent/plugin/api.ts';
import cache from '../plugins/cache/index.ts';
import { parseCommandStats } from '../plugins/cache/redis/info-parser.ts';
import queuePlugin from '../plugins/queue/index.ts';
import { startRedis, silentLogger, type TestServer } from '../test/plugins/cache/servers.ts';

const COLLECTIONS = Number(process.argv[2] ?? 50);
const suffix = Math.random().toString(36).slice(2, 8);

async function create(def: typeof cache | typeof queuePlugin, raw: Record<string, unknown>): Promise<PluginInstance> {
  const parsed = (def.parseOptions as (r: Record<string, unknown>) => ReturnType<typeof def.parseOptions>)(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const init = { instance: 'bench', logger: silentLogger, intervalMs: 10_000, configDir: process.cwd() };
  const inst = (def.create as (o: unknown, c: typeof init) => PluginInstance)(parsed.value, init);
  await inst.start?.(init);
  return inst;
}

async function commandTotals(clients: Redis[]): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const c of clients) {
    for (const [cmd, n] of parseCommandStats(await c.info('commandstats'))) total.set(cmd, (total.get(cmd) ?? 0) + n);
  }
  return total;
}

function diff(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

interface Figures {
  wallMs: number[];
  cpuMs: number[];
  samples: number;
}

async function measure(inst: PluginInstance, n: number): Promise<Figures> {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let samples = 0;
  let now = Date.now();
  for (let i = 0; i < n; i++) {
    now += 10_000; // collection timestamps 10 s apart, as with a 10 s interval
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out: readonly Sample[] = await inst.collect({ signal: new AbortController().signal, now, logger: silentLogger });
    wallMs.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    samples = out.length;
  }
  return { wallMs, cpuMs, samples };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (x: number) => x.toFixed(2);

function report(title: string, fig: Figures, cmds: Map<string, number>, perCollectionDivisor: number): void {
  const total = [...cmds.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${title}`);
  console.log(`  wall per collection: mean ${f(mean(fig.wallMs))} ms, p50 ${f(pct(fig.wallMs, 50))} ms, p95 ${f(pct(fig.wallMs, 95))} ms, max ${f(Math.max(...fig.wallMs))} ms`);
  console.log(`  agent CPU per collection: mean ${f(mean(fig.cpuMs))} ms, p95 ${f(pct(fig.cpuMs, 95))} ms`);
  console.log(`  samples per collection: ${fig.samples}`);
  console.log(`  Redis commands per collection: ${f(total / perCollectionDivisor)}  (${[...cmds].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f(v / perCollectionDivisor)}`).join(', ')})`);
}

const servers: TestServer[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
try {
  // --- Redis: 4 own nodes with uneven data.
  for (let i = 0; i < 4; i++) servers.push(await startRedis());
  const clients = servers.map((s) => new Redis(s.port, '127.0.0.1'));
  cleanups.push(async () => clients.forEach((c) => c.disconnect()));
  for (const [i, c] of clients.entries()) {
    const p = c.pipeline();
    for (let k = 0; k < 1000 * (i + 1); k++) p.set(`key:${k}`, 'x');
    await p.exec();
  }

  // --- BullMQ: 20 queues on node 0 with a few jobs each.
  const bullPrefix = `bench${suffix}`;
  const queues: Queue[] = [];
  for (let q = 0; q < 20; q++) {
    const queue = new Queue(`q${q}`, { connection: { host: '127.0.0.1', port: servers[0]!.port }, prefix: bullPrefix });
    for (let j = 0; j < 5; j++) await queue.add('job', { j });
    queues.push(queue);
  }
  cleanups.push(async () => Promise.all(queues.map((q) => q.close())));

  // --- RabbitMQ: 10 fresh queues on the shared broker.
  const amqpConn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch = await amqpConn.createChannel();
  const rabbitQueues = Array.from({ length: 10 }, (_, i) => `vigil-bench-${suffix}-${i}`);
  for (const q of rabbitQueues) {
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    for (let m = 0; m < 10; m++) ch.sendToQueue(q, Buffer.from('x'));
  }
  cleanups.push(async () => {
    for (const q of rabbitQueues) await ch.deleteQueue(q);
    await amqpConn.close();
  });

  // --- JetStream: one stream, 5 durable consumers.
  const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
  const jsm = await nc.jetstreamManager();
  const stream = `VIGIL_BENCH_${suffix.toUpperCase()}`;
  await jsm.streams.add({ name: stream, subjects: [`vigilbench.${suffix}.>`] });
  const consumers: string[] = [];
  for (let i = 0; i < 5; i++) {
    await jsm.consumers.add(stream, { durable_name: `c${i}`, ack_policy: AckPolicy.Explicit });
    consumers.push(`${stream}/c${i}`);
  }
  const js = nc.jetstream();
  for (let m = 0; m < 20; m++) await js.publish(`vigilbench.${suffix}.x`, new Uint8Array(8));
  cleanups.push(async () => {
    await jsm.streams.delete(stream);
    await nc.close();
  });

  console.log(`vigil cache/queue collection cost, ${COLLECTIONS} collections each (Node ${process.version})`);

  // Calibrate: what reading commandstats itself costs (subtracted below).
  const c0 = await commandTotals(clients);
  const c1 = await commandTotals(clients);
  const calib = diff(c0, c1);

  // --- cache plugin: 4 nodes.
  const cacheInst = await create(cache, { redis: servers.map((s, i) => ({ url: s.url, name: `n${i}`, group: 'bench' })) });
  await measure(cacheInst, 3); // warm-up: connections, first baselines
  const a0 = await commandTotals(clients);
  const cacheFig = await measure(cacheInst, COLLECTIONS);
  const a1 = await commandTotals(clients);
  const cacheCmds = diff(a0, a1);
  for (const [k, v] of calib) cacheCmds.set(k, Math.max(0, (cacheCmds.get(k) ?? 0) - v));
  report('cache plugin: 4 Redis nodes', cacheFig, cacheCmds, COLLECTIONS);
  await cacheInst.stop?.();

  // --- queue plugin: 20 BullMQ + 10 RabbitMQ + 5 JetStream consumers.
  const queueOptions = (parts: { bullmq?: boolean; rabbitmq?: boolean; jetstream?: boolean }) => ({
    ...(parts.bullmq ? { bullmq: { redis: servers[0]!.url, prefix: bullPrefix, queues: queues.map((q) => q.name) } } : {}),
    ...(parts.rabbitmq ? { rabbitmq: { url: 'amqp://guest:guest@127.0.0.1:5672', queues: rabbitQueues } } : {}),
    ...(parts.jetstream ? { jetstream: { servers: 'nats://127.0.0.1:4222', consumers } } : {}),
  });
  const queueInst = await create(queuePlugin, queueOptions({ bullmq: true, rabbitmq: true, jetstream: true }));
  await measure(queueInst, 3);
  const b0 = await commandTotals([clients[0]!]);
  const queueFig = await measure(queueInst, COLLECTIONS);
  const b1 = await commandTotals([clients[0]!]);
  const queueCmds = diff(b0, b1);
  const calib0 = diff(await commandTotals([clients[0]!]), await commandTotals([clients[0]!]));
  for (const [k, v] of calib0) queueCmds.set(k, Math.max(0, (queueCmds.get(k) ?? 0) - v));
  report('queue plugin: 20 BullMQ + 10 RabbitMQ + 5 JetStream consumers (Redis commands = BullMQ only)', queueFig, queueCmds, COLLECTIONS);
  await queueInst.stop?.();

  // Per backend, to see where the time goes.
  for (const part of ['bullmq', 'rabbitmq', 'jetstream'] as const) {
    const inst = await create(queuePlugin, queueOptions({ [part]: true }));
    await measure(inst, 3);
    const fig = await measure(inst, COLLECTIONS);
    console.log(`  ${part.padEnd(9)} alone: wall mean ${f(mean(fig.wallMs))} ms, p95 ${f(pct(fig.wallMs, 95))} ms; CPU mean ${f(mean(fig.cpuMs))} ms; ${fig.samples} samples`);
    await inst.stop?.();
  }

  // Discovery cost: one SCAN pass over node 0's keyspace (the 20 queues + 1000 keys).
  const disc = await create(queuePlugin, { bullmq: { redis: servers[0]!.url, prefix: bullPrefix } });
  const d0 = await commandTotals([clients[0]!]);
  const t0 = performance.now();
  const ds = await disc.collect({ signal: new AbortController().signal, now: Date.now(), logger: silentLogger });
  const dt = performance.now() - t0;
  const d1 = await commandTotals([clients[0]!]);
  const dcmds = diff(d0, d1);
  const found = new Set(ds.filter((s) => s.metric === 'vigil.queue.backlog').map((s) => s.attributes?.['messaging.destination.name'])).size;
  console.log(`\nBullMQ discovery by prefix (first collection, ${(await clients[0]!.dbsize()) as number} keys): ${f(dt)} ms, found ${found} queues, SCAN calls ${dcmds.get('scan') ?? 0}`);
  await disc.stop?.();
} finally {
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', e));
  await Promise.all(servers.map((s) => s.stop()));
}
