/**
 * npm run bench:heap — cost of one heap-plugin collection:
 *   A) 1 process + 1 cgroup (this machine's real one) + 1 v8 source (a prom-client app on loopback)
 *   B) 50 processes (one `match` target) + 1 cgroup
 *   C) B without smaps_rollup and fd counting
 * Prints wall time per collection (median, p99) and the agent's CPU time per collection
 * (user+sys of this process), which is what "% of one core at 1 Hz" is computed from.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import plugin from '../plugins/heap/index.ts';
import type { PluginInstance } from '../agent/plugin/api.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const APP = fileURLToPath(new URL('../test/plugins/heap/v8-app.cjs', import.meta.url));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const children: ChildProcess[] = [];

function make(raw: Record<string, unknown>): PluginInstance {
  const r = plugin.parseOptions(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return plugin.create(r.value, { instance: 'heap', logger: quiet, intervalMs: 1000, configDir: REPO });
}

async function measure(label: string, inst: PluginInstance, n: number): Promise<void> {
  const signal = new AbortController().signal;
  const run = () => inst.collect({ signal, now: Date.now(), logger: quiet });
  let samples = 0;
  for (let i = 0; i < 50; i++) samples = (await run()).length; // warm-up (JIT, scans, connections)
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await run();
    wall.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  wall.sort((a, b) => a - b);
  const cpuPer = (cpu.user + cpu.system) / n;
  const q = (p: number) => wall[Math.min(wall.length - 1, Math.floor(p * wall.length))]!.toFixed(0);
  console.log(
    `${label.padEnd(58)} samples=${String(samples).padStart(4)}  wall median ${q(0.5).padStart(5)} µs  p99 ${q(0.99).padStart(5)} µs  ` +
      `mean ${(total / n).toFixed(0).padStart(5)} µs  CPU ${cpuPer.toFixed(0).padStart(5)} µs/collection = ${(cpuPer / 1e4).toFixed(3)} % of one core at 1 Hz`,
  );
  await inst.stop?.();
}

async function main(): Promise<void> {
  const n = Number(process.env['BENCH_N'] ?? 1000);
  const app = spawn(process.execPath, [APP], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(app);
  const port = String((await createInterface({ input: app.stdout! })[Symbol.asyncIterator]().next()).value).trim();

  const marker = `vigil-bench-${process.pid}`;
  for (let i = 0; i < 50; i++) {
    children.push(spawn('bash', ['-c', `exec -a ${marker}-${i} sleep 600`], { stdio: 'ignore' }));
  }
  await new Promise((r) => setTimeout(r, 500));

  console.log(`heap plugin collection cost (${n} collections each, node ${process.version})`);
  await measure(
    'A) 1 process + 1 cgroup + 1 v8 (prom-client) source',
    make({ process: [{ pid: app.pid, name: 'app' }], cgroup: { from: 'self' }, v8: [{ url: `http://127.0.0.1:${port}/metrics`, name: 'app' }] }),
    n,
  );
  await measure('A0) 1 process + 1 cgroup (no v8 scrape)', make({ process: [{ pid: app.pid, name: 'app' }], cgroup: { from: 'self' } }), n);
  await measure('A1) 1 v8 source alone (HTTP scrape + parse)', make({ v8: [{ url: `http://127.0.0.1:${port}/metrics`, name: 'app' }] }), n);
  await measure('B) 50 processes (match) + 1 cgroup', make({ process: [{ match: `^${marker}-` }], cgroup: { from: 'self' } }), n);
  await measure(
    'C) 50 processes, smaps_rollup and fd counting off',
    make({ process: [{ match: `^${marker}-` }], cgroup: { from: 'self' }, smaps_rollup: false, file_descriptors: false }),
    n,
  );
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)));
}
