/**
 * npm run bench:e2e — "warn before the OOM kill", measured: real leaks in real memory cgroups
 * (and a V8 heap limit), watched by vigil and, side by side, by a real Prometheus scraping
 * vigil's raw working-set metric with the rules people use today:
 *   predict_linear(<metric>[5m], 300) > LIMIT   for: 1m
 *   <metric> > 0.9 * LIMIT
 * Prints per scenario: when the app died, lead time of vigil's first WARNING and of its
 * CRITICAL before the kill, vigil's forecast error 60 s before the kill, the two Prometheus
 * rules' lead times, false alerts on the healthy controls, and vigil's own RSS and CPU.
 *
 *   npx tsx bench/e2e.ts [--scale long|short] [--scenarios a,b,...]
 *
 * Needs root (cgroup v1 memory controller) and /usr/bin/prometheus. A long run takes ~15 min.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cgroupUnavailableReason } from '../agent/demo/cgroup.ts';
import { forecastErrorBefore, freePort, runScenarios, scenarioDefs, type Scale, type ScenarioName, type ScenarioOutcome } from '../agent/demo/scenarios.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'long' },
    scenarios: {
      type: 'string',
      default: 'container-oom,container-oom-fast,container-oom-step,v8-heap-oom,control-steady,control-warmup,control-cache,control-stop,control-bursty',
    },
    prometheus: { type: 'string', default: '/usr/bin/prometheus' },
  },
});
const scale = values.scale as Scale;
const names = values.scenarios.split(',') as ScenarioName[];
const defs = scenarioDefs(scale);
const MiB = 1024 * 1024;

const reason = await cgroupUnavailableReason();
if (reason) {
  console.error(`bench:e2e needs a writable cgroup v1 memory controller: ${reason}`);
  process.exit(1);
}

/** Prometheus-side rules for a watched series: same metric, same limit. */
function promRules(): string {
  const lines = ['groups:', '  - name: vigil-e2e-bench', '    interval: 5s', '    rules:'];
  for (const n of names) {
    const d = defs[n];
    if (d.kind !== 'cgroup' && d.kind !== 'v8') continue;
    const metric = d.kind === 'cgroup' ? 'container_memory_working_set' : 'v8js_memory_heap_used';
    const sel = `${metric}{vigil_target="${n}"}`;
    const limit = d.limitMiB * MiB;
    lines.push(
      `      - alert: PredictLinear`,
      `        expr: predict_linear(${sel}[5m], 300) > ${limit}`,
      `        for: 1m`,
      `        labels: { scenario: "${n}" }`,
      `      - alert: Above90`,
      `        expr: ${sel} > ${0.9 * limit}`,
      `        labels: { scenario: "${n}" }`,
    );
  }
  return lines.join('\n') + '\n';
}

interface PromState {
  child: ChildProcess;
  url: string;
  dir: string;
  /** First time each (alert, scenario) was seen firing, Unix ms. */
  firing: Map<string, number>;
  /** Every (alert, scenario) ever firing, with the times. */
  timer: NodeJS.Timeout | undefined;
}

async function startPrometheus(vigilUrl: string): Promise<PromState> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-prom-'));
  const port = await freePort();
  const target = new URL(vigilUrl).host;
  await writeFile(join(dir, 'rules.yml'), promRules());
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: vigil\n    static_configs: [{ targets: ["${target}"] }]\n`,
  );
  const child = spawn(values.prometheus, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // starting
    }
    if (i > 100 || child.exitCode !== null) throw new Error(`prometheus did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const state: PromState = { child, url, dir, firing: new Map(), timer: undefined };
  state.timer = setInterval(() => {
    void (async () => {
      const res = await fetch(`${url}/api/v1/alerts`);
      const body = (await res.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt: string }> } };
      for (const a of body.data.alerts) {
        if (a.state !== 'firing') continue;
        const key = `${a.labels['alertname']}/${a.labels['scenario']}`;
        if (!state.firing.has(key)) state.firing.set(key, Date.now());
      }
    })().catch(() => {});
  }, 2000);
  return state;
}

let prom: PromState | undefined;
console.log(`bench:e2e — scale ${scale}, scenarios: ${names.join(', ')}`);
const started = Date.now();
// Ctrl-C / SIGTERM: the scenarios kill their apps and remove their cgroups, then Prometheus stops.
const ac = new AbortController();
const abort = (): void => {
  if (!ac.signal.aborted) console.log('\nstopping: killing the apps, removing their cgroups, stopping vigil and Prometheus…');
  ac.abort();
};
process.once('SIGINT', abort);
process.once('SIGTERM', abort);
const stopPrometheus = async (): Promise<void> => {
  if (!prom) return;
  clearInterval(prom.timer);
  prom.child.kill('SIGTERM');
  await rm(prom.dir, { recursive: true, force: true }).catch(() => {});
  prom = undefined;
};
const result = await runScenarios({
  scale,
  scenarios: names,
  signal: ac.signal,
  log: (l) => console.log(`  [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${l}`),
  onSlack: (m) => {
    if (m.tier !== 'info') console.log(`  [${((m.at - started) / 1000).toFixed(0).padStart(4)} s] slack ${m.tier.toUpperCase()}: ${m.text.slice(0, 140)}`);
  },
  onVigilReady: async (v) => {
    prom = await startPrometheus(v.url);
    console.log(`  prometheus ${prom.url} scraping ${v.url} every 5 s`);
  },
}).catch(async (err: unknown) => {
  await stopPrometheus();
  throw err;
});
if (process.env.VIGIL_E2E_DUMP) (await import('node:fs')).writeFileSync(process.env.VIGIL_E2E_DUMP, JSON.stringify(result.outcomes));
const promFiring = prom?.firing;
await stopPrometheus();

const fmt = (x: number | undefined, digits = 0): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const lead = (o: ScenarioOutcome, at: number | undefined): number | undefined => (o.diedAt === undefined || at === undefined ? undefined : (o.diedAt - at) / 1000);
const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

console.log('\nleaks (lead = seconds before the kill; "—" = never fired before it; "sustained" = the warning episode that lasted to the kill):');
console.log(
  pad('scenario', 22) +
    pad('killed after', 14) +
    pad('vigil WARN', 12) +
    pad('(sustained)', 13) +
    pad('vigil CRIT', 12) +
    pad('err@60s', 10) +
    pad('predict_linear', 16) +
    pad('>90% limit', 12) +
    'death',
);
for (const o of result.outcomes.filter((x) => x.def.leaking)) {
  const pl = promFiring?.get(`PredictLinear/${o.def.name}`);
  const p90 = promFiring?.get(`Above90/${o.def.name}`);
  const killedAfter = o.diedAt === undefined ? 'not killed' : `${fmt((o.diedAt - o.startedAt) / 1000)} s`;
  const beforeKill = (t: number | undefined) => (t !== undefined && o.diedAt !== undefined && t <= o.diedAt ? fmt(lead(o, t)) : '—');
  const e60 = forecastErrorBefore(o, 60);
  console.log(
    pad(o.def.name, 22) +
      pad(killedAfter, 14) +
      pad(beforeKill(o.firstWarningAt), 12) +
      pad(beforeKill(o.sustainedWarningAt), 13) +
      pad(beforeKill(o.criticalAt), 12) +
      pad(e60 ? `${(e60.error * 100).toFixed(1)}%` : '—', 10) +
      pad(beforeKill(pl), 16) +
      pad(beforeKill(p90), 12) +
      (o.death ?? ''),
  );
  if (e60) console.log(`${' '.repeat(22)}60 s before the kill: forecast ${e60.tte.toFixed(0)} s to 95 % of the limit, truth ${e60.truth.toFixed(0)} s`);
}

console.log('\ncontrols (false alerts over the run; vigil counts WARNING/CRITICAL messages at the Slack stand-in):');
console.log(pad('scenario', 22) + pad('vigil', 8) + pad('predict_linear', 16) + pad('>90% limit', 12) + 'vigil min ETA seen');
for (const o of result.outcomes.filter((x) => !x.def.leaking)) {
  const pl = promFiring?.has(`PredictLinear/${o.def.name}`) ? 'FIRED' : '0';
  const p90 = promFiring?.has(`Above90/${o.def.name}`) ? 'FIRED' : '0';
  const minEta = o.tte.length ? Math.min(...o.tte.map((p) => p[1])) : undefined;
  console.log(pad(o.def.name, 22) + pad(String(o.falseAlerts.length), 8) + pad(pl, 16) + pad(p90, 12) + (minEta === undefined ? 'none' : `${fmt(minEta)} s`));
}
console.log(`\nvigil process: RSS median ${fmt(result.vigil.rssMiBMedian, 1)} MiB (max ${fmt(result.vigil.rssMiBMax, 1)}), CPU ${fmt(result.vigil.cpuPercent, 2)} % of one core over the run`);
console.log(`total wall time ${((Date.now() - started) / 60000).toFixed(1)} min`);
process.exit(0);
