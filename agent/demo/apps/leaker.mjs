#!/usr/bin/env node
// A test app that allocates memory in a chosen pattern, for vigil's end-to-end scenarios.
// Plain JavaScript so it starts fast and needs nothing but Node (and prom-client for --metrics-port).
//
//   node leaker.mjs --mode rss|heap --pattern linear|step|warmup|cache|stop|bursty|none
//                   [--rate MiB/s] [--base MiB] [--plateau MiB] [--tau s] [--stop-after s]
//                   [--churn MiB/s] [--burst MiB] [--step MiB] [--delay s] [--metrics-port N] [--tick ms] [--seed N]
//
// mode rss:  retained memory is Buffers filled with data (outside the V8 heap, charged to the
//            memory cgroup), churn is short-lived Buffers (a sawtooth in usage as GC frees them).
// mode heap: retained memory is arrays of numbers on the V8 heap (run with --max-old-space-size),
//            churn is short-lived arrays (the GC sawtooth of heap used).
// Writes one JSON line per second to stdout: {"t":s,"retained_mib":n}.
import http from 'node:http';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']] : acc), []),
);
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const mode = args.mode ?? 'rss';
const pattern = args.pattern ?? 'linear';
const rate = num('rate', 2); // MiB/s
const base = num('base', 0); // MiB retained at start
const plateau = num('plateau', 64); // MiB: where warmup/cache level off
const tau = num('tau', 8); // s: time constant of warmup/cache
const stopAfter = num('stop-after', 15); // s
const churn = num('churn', 8); // MiB/s of garbage
const burst = num('burst', 40); // MiB per burst
const stepMiB = num('step', 12);
const tickMs = num('tick', 100);
const delay = num('delay', 0); // s before the pattern starts (start-up, then the leak)
let seed = num('seed', 1) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const MiB = 1024 * 1024;
const retained = [];
let retainedMiB = 0;
function chunk(mib) {
  if (mode === 'heap') {
    // 1 MiB of doubles in a packed array lives on the V8 heap.
    const n = Math.round((mib * MiB) / 8);
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = i + 0.5;
    return a;
  }
  const b = Buffer.allocUnsafe(Math.round(mib * MiB));
  b.fill(retained.length & 0xff); // touch every page so the kernel charges it
  return b;
}
function retain(mib) {
  if (mib <= 0) return;
  retained.push(chunk(mib));
  retainedMiB += mib;
}
function release(mib) {
  while (mib > 0 && retained.length > 0) {
    const c = retained.pop();
    const size = mode === 'heap' ? (c.length * 8) / MiB : c.length / MiB;
    retainedMiB -= size;
    mib -= size;
  }
}

/** Target retained MiB at time t (s) for the pattern. */
let nextStepAt = 2 + rand() * 6;
let stepLevel = base;
function target(t) {
  switch (pattern) {
    case 'linear':
      return base + rate * t;
    case 'step':
      if (t >= nextStepAt) {
        stepLevel += stepMiB * (0.5 + rand());
        nextStepAt = t + stepMiB / rate * (0.4 + 1.2 * rand());
      }
      return stepLevel;
    case 'warmup':
    case 'cache':
      return base + (plateau - base) * (1 - Math.exp(-t / tau));
    case 'stop':
      return base + rate * Math.min(t, stopAfter);
    default:
      return base;
  }
}

retain(base);
const t0 = Date.now();
let garbage = [];
let burstUntil = 0;
setInterval(() => {
  const t = Math.max(0, (Date.now() - t0) / 1000 - delay);
  const want = target(t);
  // Leak in chunks of at most 1 MiB so usage climbs smoothly.
  while (retainedMiB + 1 <= want) retain(1);
  if (want - retainedMiB > 0.05) retain(want - retainedMiB);
  if (retainedMiB > want + 1) release(retainedMiB - want);
  // Allocation churn: short-lived garbage, dropped a few ticks later.
  if (churn > 0) {
    garbage.push(chunk((churn * tickMs) / 1000));
    if (garbage.length > 10) garbage = [];
  }
  if (pattern === 'bursty') {
    if (burstUntil === 0 && rand() < tickMs / 1000 / 6) {
      garbage.push(chunk(burst));
      burstUntil = t + 1 + rand();
    } else if (burstUntil !== 0 && t >= burstUntil) {
      garbage = [];
      burstUntil = 0;
    }
  }
}, tickMs).unref();
// The interval is unref'd so the metrics server (or this keepalive) decides the lifetime.
setInterval(() => process.stdout.write(JSON.stringify({ t: Math.round((Date.now() - t0) / 1000), retained_mib: Math.round(retainedMiB) }) + '\n'), 1000);

if (args['metrics-port'] !== undefined) {
  const client = (await import('prom-client')).default;
  client.collectDefaultMetrics();
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': client.register.contentType });
      res.end(await client.register.metrics());
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(Number(args['metrics-port']), '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, port: server.address().port }) + '\n');
  });
} else {
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
}
process.on('SIGTERM', () => process.exit(0));
