/**
 * `npm run bench:overhead`: the agent's own cost. Runs the agent as a child process (the real
 * CLI, `node bin/vigil.js run`), scrapes /metrics every second like Prometheus would, and
 * prints RSS (median of 1 s samples), CPU (% of one core over the window) and /metrics
 * scrape time (median of the last 50 scrapes), for:
 *   - synthetic: a plugin loaded by path emitting 1,000 series every second;
 *   - default:   the bare embedded default config (no --config).
 * Goals (issue 2): RSS <= 80 MiB, CPU <= 2 % of one core, scrape <= 10 ms median.
 *
 * Flags: --duration 60s   measuring window per scenario (after a 5 s warm-up)
 *        --series 1000    synthetic series
 *        --only synthetic|default
 *        --embedded       run bench's own assembly of the telemetry/HTTP modules instead of the
 *                         CLI (isolates the export path from the rest of the agent)
 *        --variant producer|observable   (embedded only) how the store is exported: vigil's
 *                         StoreMetricProducer, or one ObservableGauge/Counter per metric (the
 *                         alternative measured when choosing)
 *        --core-only      synthetic scenario with detect, alerts and the UI switched off, to split
 *                         the agent's cost between the core (host, store, export) and the rest
 *        --node-options "--max-semi-space-size=1"   NODE_OPTIONS for the agent process (default
 *                         "--max-semi-space-size=4", as bin/vigil.js and `npm start` launch it)
 *        --node-args "--single-threaded"   extra node/V8 flags on the agent's command line (V8
 *                         flags that NODE_OPTIONS refuses), for comparing launch settings
 *        --source         run the TypeScript sources through tsx (as `node bin/vigil.js` does in a
 *                         checkout). By default the bench first compiles agent/, plugins/ and
 *                         bench/ with tsc into bench/out/dist (what the container image runs):
 *                         tsx's loader thread alone adds ~30 MiB RSS, which production never pays.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../agent/util/duration.ts';
import { freePort } from '../agent/util/net.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SYNTHETIC = join(ROOT, 'bench', 'plugins', 'synthetic.ts');
const OUT = join(ROOT, 'bench', 'out');
const COMPILED = join(OUT, 'dist');

/**
 * Compiles the agent, the built-in plugins and the bench (plugin and child) with the project's
 * tsc settings into bench/out/dist (git-ignored). Other areas' type errors do not stop the
 * emit; a missing output file does.
 */
async function compile(): Promise<void> {
  await rm(COMPILED, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const tsconfig = join(OUT, 'tsconfig.bench.json');
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: false, sourceMap: false, outDir: './dist', rootDir: '../..' },
      include: ['../../agent', '../../plugins', '../../bench/plugins', '../../bench/overhead.ts'],
      exclude: ['../../**/testdata/**'],
    }),
  );
  const t0 = Date.now();
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', tsconfig], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    /* type errors elsewhere still emit; checked below */
  }
  for (const f of ['agent/cli/main.js', 'bench/plugins/synthetic.js', 'bench/overhead.js']) {
    if (!existsSync(join(COMPILED, f))) throw new Error(`compile failed: ${f} was not emitted`);
  }
  // The live page's static files sit next to its module, as the image build copies them.
  await cp(join(ROOT, 'agent', 'ui', 'static'), join(COMPILED, 'agent', 'ui', 'static'), { recursive: true }).catch(() => undefined);
  process.stderr.write(`compiled into ${COMPILED} in ${Date.now() - t0} ms\n`);
}

interface Args {
  durationMs: number;
  series: number;
  only: 'synthetic' | 'default' | undefined;
  embedded: boolean;
  variant: 'producer' | 'observable';
  source: boolean;
  coreOnly: boolean;
  nodeOptions: string | undefined;
  nodeArgs: string[];
  child: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { durationMs: 60_000, series: 1000, only: undefined, embedded: false, variant: 'producer', source: false, coreOnly: false, nodeOptions: '--max-semi-space-size=4', nodeArgs: [], child: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--duration': {
        const v = value();
        const ms = /^\d+$/.test(v) ? Number(v) * 1000 : parseDuration(v);
        if (ms === undefined || ms < 5000) throw new Error(`--duration ${v}: expected a duration of at least 5s, like "60s"`);
        a.durationMs = ms;
        break;
      }
      case '--series':
        a.series = Number(value());
        if (!Number.isInteger(a.series) || a.series < 1) throw new Error('--series: expected a positive whole number');
        break;
      case '--only': {
        const v = value();
        if (v !== 'synthetic' && v !== 'default') throw new Error('--only: synthetic or default');
        a.only = v;
        break;
      }
      case '--embedded':
        a.embedded = true;
        break;
      case '--variant': {
        const v = value();
        if (v !== 'producer' && v !== 'observable') throw new Error('--variant: producer or observable');
        a.variant = v;
        break;
      }
      case '--node-options':
        a.nodeOptions = value();
        break;
      case '--node-args':
        a.nodeArgs = value().split(/\s+/).filter(Boolean);
        break;
      case '--core-only':
        a.coreOnly = true;
        break;
      case '--source':
        a.source = true;
        break;
      case '--child':
        a.child = value();
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return a;
}

// ---------------------------------------------------------------- measurement (parent)

interface Result {
  scenario: string;
  series: number;
  rssMedianMiB: number;
  rssMaxMiB: number;
  cpuPct: number;
  scrapeMedianMs: number;
  scrapeP95Ms: number;
  /** Same request path for /healthz: the floor (connection, scheduling on a busy machine). */
  healthzMedianMs: number;
  scrapes: number;
  bodyKiB: number;
  exportedSeries: number;
  exitCode: number | null;
  stopMs: number;
}


function scrape(port: number, path = '/metrics'): Promise<{ ms: number; body: string; status: number }> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ ms: Number(process.hrtime.bigint() - t0) / 1e6, body: Buffer.concat(chunks).toString(), status: r.statusCode ?? 0 }));
    });
    req.on('error', rej);
    req.setTimeout(5000, () => req.destroy(new Error('scrape timed out')));
    req.end();
  });
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScenario(name: 'synthetic' | 'default', args: Args, work: string): Promise<Result> {
  const port = await freePort();
  const dataDir = join(work, `${name}-data`);
  await mkdir(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_HOST: '127.0.0.1', VIGIL_PORT: String(port), VIGIL_DATA_DIR: dataDir, VIGIL_LOG_LEVEL: 'warn' };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
  if (args.nodeOptions !== undefined) env.NODE_OPTIONS = args.nodeOptions;
  else delete env.NODE_OPTIONS; // tsx's own loader flags must not leak into the compiled agent
  let cmd: string[];
  const js = (rel: string) => join(COMPILED, rel.replace(/\.ts$/, '.js'));
  if (args.embedded) {
    const spec = JSON.stringify({ port, series: name === 'synthetic' ? args.series : 0, variant: args.variant });
    cmd = args.source ? ['--import', 'tsx', join(ROOT, 'bench', 'overhead.ts'), '--child', spec] : [js('bench/overhead.ts'), '--child', spec];
  } else {
    cmd = args.source ? [join(ROOT, 'bin', 'vigil.js'), 'run'] : [js('agent/cli/main.ts'), 'run'];
    if (name === 'synthetic') {
      const cfg = join(work, 'synthetic.yaml');
      const plugin = args.source ? SYNTHETIC : js('bench/plugins/synthetic.ts');
      await writeFile(
        cfg,
        [
          'agent:',
          '  interval: 1s',
          `  data_dir: ${JSON.stringify(dataDir)}`,
          '  log_level: warn',
          'server:',
          '  host: 127.0.0.1',
          `  port: ${port}`,
          'plugins:',
          `  - use: ${JSON.stringify(plugin)}`,
          '    interval: 1s',
          `    series: ${args.series}`,
          ...(args.coreOnly
            ? ['detect:', '  anomaly: { enabled: false }', '  forecast: { enabled: false }', 'alerts:', '  enabled: false', 'ui:', '  enabled: false']
            : []),
          '',
        ].join('\n'),
      );
      cmd.push('--config', cfg);
    }
  }
  const logFile = join(work, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [...args.nodeArgs, ...cmd], { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const pid = child.pid!;
  const fail = async (why: string): Promise<never> => {
    child.kill('SIGKILL');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
    throw new Error(`${name}: ${why}\n--- agent log ---\n${log}`);
  };

  // Up and serving.
  const upBy = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) await fail(`agent exited with ${child.exitCode} before serving`);
    try {
      const r = await scrape(port);
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > upBy) await fail('agent did not serve /metrics within 60 s');
    await sleep(250);
  }

  // Warm-up (JIT, first collections, buffers growing), scraped like the window.
  const warmEnd = Date.now() + 5000;
  while (Date.now() < warmEnd) {
    await scrape(port).catch(() => undefined);
    await sleep(1000);
  }

  const rss: number[] = [];
  const scrapes: number[] = [];
  const floor: number[] = [];
  let lastBody = '';
  const cpu0 = await cpuTicks(pid);
  const t0 = process.hrtime.bigint();
  const end = Date.now() + args.durationMs;
  let next = Date.now();
  while (Date.now() < end) {
    if (child.exitCode !== null) await fail(`agent exited with ${child.exitCode} during the run`);
    const r = await scrape(port);
    if (r.status !== 200) await fail(`/metrics answered ${r.status}`);
    scrapes.push(r.ms);
    lastBody = r.body;
    floor.push((await scrape(port, '/healthz')).ms);
    rss.push(await rssBytes(pid));
    next += 1000;
    await sleep(Math.max(0, next - Date.now()));
  }
  const cpu1 = await cpuTicks(pid);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;

  const stopT0 = Date.now();
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const exitCode = await exited;
  clearTimeout(killer);
  const stopMs = Date.now() - stopT0;

  const last50 = scrapes.slice(-50);
  return {
    scenario: name,
    series: name === 'synthetic' ? args.series : 0,
    rssMedianMiB: median(rss) / 2 ** 20,
    rssMaxMiB: Math.max(...rss) / 2 ** 20,
    cpuPct: ((cpu1 - cpu0) / CLK_TCK / wallS) * 100,
    scrapeMedianMs: median(last50),
    scrapeP95Ms: pct(last50, 0.95),
    healthzMedianMs: median(floor.slice(-50)),
    scrapes: last50.length,
    bodyKiB: Buffer.byteLength(lastBody) / 1024,
    exportedSeries: lastBody.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    exitCode,
    stopMs,
  };
}

function printTable(results: Result[], args: Args): void {
  const how = args.source ? 'TypeScript via tsx' : 'compiled by tsc, plain node';
  const mode = args.embedded
    ? `embedded telemetry+HTTP assembly (variant: ${args.variant}), ${how}`
    : `vigil CLI \`run\`${args.coreOnly ? ' (synthetic: detect, alerts, UI off)' : ''}, ${how}`;
  const opts = args.nodeOptions ? `; NODE_OPTIONS=${args.nodeOptions}` : '';
  console.log(`\nvigil overhead: ${mode}${opts}; ${args.durationMs / 1000} s window after 5 s warm-up, /metrics scraped every 1 s; node ${process.version}\n`);
  const head = ['scenario', 'series/s', 'RSS median', 'RSS max', 'CPU % 1 core', 'scrape median', 'scrape p95', 'n', '/healthz median', '/metrics', 'lines', 'exit', 'stop'];
  const rows = results.map((r) => [
    r.scenario,
    String(r.series),
    `${r.rssMedianMiB.toFixed(1)} MiB`,
    `${r.rssMaxMiB.toFixed(1)} MiB`,
    `${r.cpuPct.toFixed(2)} %`,
    `${r.scrapeMedianMs.toFixed(2)} ms`,
    `${r.scrapeP95Ms.toFixed(2)} ms`,
    String(r.scrapes),
    `${r.healthzMedianMs.toFixed(2)} ms`,
    `${r.bodyKiB.toFixed(0)} KiB`,
    String(r.exportedSeries),
    String(r.exitCode),
    `${r.stopMs} ms`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('\ngoals: RSS <= 80 MiB, CPU <= 2 % of one core, scrape <= 10 ms median');
  for (const r of results) {
    const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER');
    console.log(
      `  ${r.scenario.padEnd(9)} RSS ${verdict(r.rssMedianMiB <= 80)}, CPU ${verdict(r.cpuPct <= 2)}, scrape ${verdict(r.scrapeMedianMs <= 10)}`,
    );
  }
}

// ---------------------------------------------------------------- embedded child

async function runChild(specText: string): Promise<void> {
  const spec = JSON.parse(specText) as { port: number; series: number; variant: 'producer' | 'observable' };
  const { pino } = await import('pino');
  const { SeriesStore } = await import('../agent/store/series-store.ts');
  const { MetricRegistry } = await import('../agent/telemetry/metric-registry.ts');
  const { createHttpServer } = await import('../agent/http/server.ts');
  const { registerCoreRoutes } = await import('../agent/http/core-routes.ts');
  const logger = pino({ level: 'warn' });
  const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 10_000 });
  const metrics = new MetricRegistry();
  let handleMetrics: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
  let shutdown: () => Promise<void>;
  if (spec.variant === 'producer') {
    const { resolveTelemetrySettings, startTelemetry } = await import('../agent/telemetry/index.ts');
    const { settings } = resolveTelemetrySettings(
      { service_name: 'vigil', resource_attributes: {}, prometheus: { enabled: true }, otlp: { headers: {}, traces: { enabled: false, headers: {}, interval: 30_000, timeout: 10_000 }, metrics: { enabled: false, headers: {}, interval: 30_000, timeout: 10_000 } }, traces: { sample_ratio: 1 } },
      { enabled: true, host: '127.0.0.1', port: spec.port },
      {},
    );
    const t = await startTelemetry(settings, { store, metrics, logger });
    handleMetrics = (q, s) => t.handleMetrics(q, s);
    shutdown = () => t.shutdown(1000);
  } else {
    // The alternative: one observable instrument per metric whose callback observes the store.
    const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    const mp = new MeterProvider({ readers: [exporter as never] });
    const meter = mp.getMeter('vigil');
    const add = (m: { name: string; kind: string; unit: string; description: string }) => {
      const opts = { unit: m.unit, description: m.description };
      const inst = m.kind === 'gauge' ? meter.createObservableGauge(m.name, opts) : m.kind === 'counter' ? meter.createObservableCounter(m.name, opts) : meter.createObservableUpDownCounter(m.name, opts);
      inst.addCallback((r) => {
        const now = Date.now();
        const list = store.byMetric(m.name);
        for (let i = 0; i < list.length; i++) {
          const s = list[i]!;
          if (store.isFresh(s, now)) r.observe(s.lastValue, s.attributes);
        }
      });
    };
    for (const m of metrics.all()) add(m);
    metrics.onRegister(add);
    handleMetrics = (q, s) => exporter.getMetricsRequestHandler(q, s);
    shutdown = () => mp.shutdown();
  }
  const http = createHttpServer({ host: '127.0.0.1', port: spec.port, logger });
  registerCoreRoutes(http, { telemetry: { handleMetrics }, store, statuses: () => [], ready: () => true, startedAt: Date.now(), version: 'bench' });
  await http.listen();

  let timer: NodeJS.Timeout | undefined;
  if (spec.series > 0) {
    const def = (await import('./plugins/synthetic.ts')).default;
    const parsed = def.parseOptions({ series: spec.series });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    metrics.register(def.name, def.metrics);
    const ctxLogger = { debug() {}, info() {}, warn() {}, error() {} };
    const inst = def.create(parsed.value, { instance: 'synthetic', logger: ctxLogger, intervalMs: 1000, configDir: ROOT });
    const signal = new AbortController().signal;
    let generation = 0;
    const tick = async () => {
      const now = Date.now();
      const samples = await inst.collect({ signal, now, logger: ctxLogger });
      const gen = ++generation;
      const reported = new Set<string>();
      for (const s of samples) {
        const series = store.record('synthetic', s.metric, s.attributes, s.value, s.timestamp ?? now, 1000);
        if (series) series.generation = gen;
        reported.add(s.metric);
      }
      store.endMissing('synthetic', gen, reported);
    };
    await tick();
    timer = setInterval(() => void tick(), 1000);
  }
  process.once('SIGTERM', () => {
    if (timer) clearInterval(timer);
    void http.close().then(shutdown).then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- main

const args = parseArgs(process.argv.slice(2));
if (args.child !== undefined) {
  await runChild(args.child);
} else {
  if (!args.embedded && !existsSync(join(ROOT, 'agent', 'cli', 'main.ts'))) {
    console.error('the CLI (agent/cli/main.ts) is not there yet; run with --embedded');
    process.exit(2);
  }
  if (!args.source) await compile();
  const work = await mkdtemp(join(tmpdir(), 'vigil-bench-'));
  const results: Result[] = [];
  try {
    for (const name of ['synthetic', 'default'] as const) {
      if (args.only && args.only !== name) continue;
      process.stderr.write(`running ${name} (${args.durationMs / 1000} s + warm-up)...\n`);
      results.push(await runScenario(name, args, work));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  printTable(results, args);
}
