#!/usr/bin/env node
// A BullMQ producer that outpaces its worker, then a worker that catches up — vigil's queue
// scenario. Uses the real Redis; the queue name must be unique per run.
//   node queue-app.mjs --redis redis://127.0.0.1:6379 --queue NAME --produce 20 --work 5
//                      --catch-up-after 30 --work-after 60 [--duration 90]
// Writes one JSON line per second: {"t":s,"waiting":n}. Removes the queue's keys on exit.
import { Queue, Worker } from 'bullmq';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const redisUrl = new URL(args.redis ?? 'redis://127.0.0.1:6379');
const connection = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379), maxRetriesPerRequest: null };
const name = args.queue;
if (!name) throw new Error('--queue is required');
const produce = Number(args.produce ?? 20);
const work = Number(args.work ?? 5);
const catchUpAfter = Number(args['catch-up-after'] ?? 30);
const workAfter = Number(args['work-after'] ?? 60);
const duration = Number(args.duration ?? 90);

const queue = new Queue(name, { connection });
const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
// The worker's pace: one job per 1/work s, then 1/workAfter s once it catches up.
const worker = new Worker(
  name,
  async () => {
    const rate = elapsed() >= catchUpAfter ? workAfter : work;
    await new Promise((r) => setTimeout(r, 1000 / rate));
  },
  { connection, concurrency: 1, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } },
);
let produced = 0;
const producer = setInterval(async () => {
  const due = Math.floor(elapsed() * produce) - produced;
  if (elapsed() >= catchUpAfter) return; // the burst of work is over; the worker drains it
  if (due <= 0) return;
  produced += due;
  await queue.addBulk(Array.from({ length: due }, (_, i) => ({ name: 'job', data: { n: produced - due + i } })));
}, 100);
const report = setInterval(async () => {
  const waiting = await queue.getWaitingCount();
  process.stdout.write(JSON.stringify({ t: Math.round(elapsed()), waiting }) + '\n');
}, 1000);
process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');

async function shutdown() {
  clearInterval(producer);
  clearInterval(report);
  await worker.close(true).catch(() => {});
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close().catch(() => {});
  process.exit(0);
}
setTimeout(shutdown, duration * 1000);
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
