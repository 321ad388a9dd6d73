/**
 * The "warn before the OOM kill" scenarios (issue 9), shared by `vigil demo`, the end-to-end
 * tests (test/e2e) and bench/e2e.ts: real processes under real limits (a cgroup v1 memory
 * limit the kernel enforces, a V8 heap limit), a fake nvidia-smi replaying a climbing capture,
 * a BullMQ backlog on the real Redis, and vigil running as a real process with a Slack
 * stand-in and (optionally) an OTLP receiver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryCgroup, type MemoryCgroup } from './cgroup.ts';
import { startSlackStandin, type SlackMessage, type SlackStandin } from './slack-standin.ts';
import { startVigil, type DemoVigil } from './vigil-process.ts';
import { freePort } from '../util/net.ts';
export { freePort } from '../util/net.ts';

const APPS = join(fileURLToPath(new URL('.', import.meta.url)), 'apps');
export const LEAKER = join(APPS, 'leaker.mjs');
const FAKE_SMI = join(APPS, 'fake-nvidia-smi.mjs');
const QUEUE_APP = join(APPS, 'queue-app.mjs');
const MiB = 1024 * 1024;
/** Short scale: when the queue scenario's worker catches up (s after start). */
export const QUEUE_CATCH_UP_S = 58;

/** `short`: each leak under a minute (tests, the quick demo); `long`: leaks over 5–13 minutes (bench). */
export type Scale = 'short' | 'long';

export type ScenarioKind = 'cgroup' | 'v8' | 'gpu' | 'queue';

export const SCENARIO_NAMES = [
  'container-oom',
  'container-oom-fast',
  'container-oom-step',
  'v8-heap-oom',
  'gpu-memory',
  'queue-backlog',
  'control-steady',
  'control-warmup',
  'control-cache',
  'control-stop',
  'control-bursty',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioDef {
  readonly name: ScenarioName;
  readonly kind: ScenarioKind;
  /** A real leak that ends in a kill (or a full GPU / queue ceiling); false for healthy controls. */
  readonly leaking: boolean;
  readonly title: string;
  /** The series the forecast watches (its `metric` attribute on vigil.forecast.*). */
  readonly metric: string;
  /** Memory limit (cgroup) or V8 old-space size, MiB. */
  readonly limitMiB: number;
  /** Leaker arguments (cgroup / v8 kinds). */
  readonly app: readonly string[];
  /** Controls: how long they run. Leaks: the longest to wait for the kill. */
  readonly durationS: number;
}

/** Timing of everything per scale. */
export interface ScaleSettings {
  readonly intervalMs: number;
  readonly forecast: { window: string; bucket: string; min_points: number };
  readonly within: { warning: string; critical: string };
  /** The forecast rule's keep_firing_for: bridges a forecast that drops out for a moment. */
  readonly keepFiringFor: string;
  /** How long after a restart to wait for the resolved message. */
  readonly resolveWaitS: number;
  /** Seconds between starting the apps and starting vigil (0: vigil first, then the apps). */
  readonly settleS: number;
}

export const SCALES: Readonly<Record<Scale, ScaleSettings>> = {
  short: {
    intervalMs: 1000,
    forecast: { window: '36s', bucket: '3s', min_points: 6 },
    within: { warning: '45s', critical: '15s' },
    keepFiringFor: '5s',
    resolveWaitS: 25,
    settleS: 4,
  },
  long: {
    intervalMs: 2000,
    forecast: { window: '10m', bucket: '10s', min_points: 6 },
    within: { warning: '30m', critical: '5m' },
    keepFiringFor: '60s',
    resolveWaitS: 90,
    settleS: 0,
  },
};

const WS = 'container.memory.working_set';
const HEAP = 'v8js.memory.heap.used';
const GPU_MEM = 'hw.gpu.memory.usage';
const BACKLOG = 'vigil.queue.backlog';

/** The scenario catalogue at a scale. */
export function scenarioDefs(scale: Scale): Record<ScenarioName, ScenarioDef> {
  const s = scale === 'short';
  const limit = s ? 192 : 400;
  // Short runs: a fresh Node process's RSS settles for ~20 s (GC and allocator growth under
  // churn) at up to ~2 MiB/s, which under a 192 MiB limit is indistinguishable from a leak
  // with a 45 s horizon; the short controls get 256 MiB so that settling is not what they test.
  // Long runs use the leaks' limit for everything.
  const controlLimit = s ? 256 : 400;
  const controlS = s ? 60 : 780;
  const churn = ['--churn', s ? '10' : '6'];
  // Leaks start after the app's own start-up (a few seconds of loading), as real ones do.
  const delay = ['--delay', s ? '5' : '30'];
  const leakWait = s ? 120 : 1200;
  const def = (name: ScenarioName, kind: ScenarioKind, leaking: boolean, title: string, metric: string, app: string[], durationS: number, limitMiB = limit): ScenarioDef => ({
    name,
    kind,
    leaking,
    title,
    metric,
    limitMiB,
    app,
    durationS,
  });
  return {
    'container-oom': def('container-oom', 'cgroup', true, `container OOM: steady leak under churn in a ${limit} MiB cgroup`, WS, ['--mode', 'rss', '--pattern', 'linear', '--rate', s ? '2.5' : '0.45', ...churn, ...delay], leakWait),
    'container-oom-fast': def('container-oom-fast', 'cgroup', true, `container OOM: fast leak (1 MiB/s) in a ${limit} MiB cgroup`, WS, ['--mode', 'rss', '--pattern', 'linear', '--rate', s ? '5' : '1', ...churn, ...delay], leakWait),
    'container-oom-step': def('container-oom-step', 'cgroup', true, `container OOM: stepwise leak (jumps of tens of MiB) in a ${limit} MiB cgroup`, WS, ['--mode', 'rss', '--pattern', 'step', '--rate', s ? '3' : '0.5', '--step', s ? '12' : '25', ...churn, ...delay], leakWait),
    'v8-heap-oom': def('v8-heap-oom', 'v8', true, `V8 heap OOM: retained objects under --max-old-space-size=${s ? 96 : 256}`, HEAP, ['--mode', 'heap', '--pattern', 'linear', '--rate', s ? '1.5' : '0.35', '--churn', s ? '6' : '4', ...delay], leakWait, s ? 96 : 256),
    'gpu-memory': def('gpu-memory', 'gpu', true, 'GPU memory: a training job whose cached tensors climb to the 80 GB total', GPU_MEM, [], leakWait, 81559),
    'queue-backlog': def('queue-backlog', 'queue', true, 'queue backlog: a BullMQ producer outpacing its worker, then the worker catches up', BACKLOG, [], s ? 90 : 600, 0),
    'control-steady': def('control-steady', 'cgroup', false, 'control: steady churn, no leak', WS, ['--mode', 'rss', '--pattern', 'none', '--base', s ? '40' : '100', ...churn], controlS, controlLimit),
    'control-warmup': def('control-warmup', 'cgroup', false, 'control: warm-up ramp that plateaus well under the limit', WS, ['--mode', 'rss', '--pattern', 'warmup', '--base', s ? '30' : '60', '--plateau', s ? '70' : '200', '--tau', s ? '10' : '60', ...churn], controlS, controlLimit),
    'control-cache': def('control-cache', 'cgroup', false, 'control: cache filling to a plateau', WS, ['--mode', 'rss', '--pattern', 'cache', '--base', s ? '30' : '60', '--plateau', s ? '80' : '220', '--tau', s ? '10' : '180', ...churn], controlS, controlLimit),
    'control-stop': def(
      'control-stop',
      'cgroup',
      false,
      'control: a leak that stops halfway',
      WS,
      ['--mode', 'rss', '--pattern', 'stop', '--rate', s ? '0.5' : '0.5', '--stop-after', s ? '30' : '240', ...churn],
      controlS, controlLimit),
    'control-bursty': def('control-bursty', 'cgroup', false, 'control: bursty allocation (large short-lived spikes)', WS, ['--mode', 'rss', '--pattern', 'bursty', '--base', s ? '30' : '80', '--burst', s ? '50' : '120', ...churn], controlS, controlLimit),
  };
}

/** What happened in one scenario. */
export interface ScenarioOutcome {
  readonly def: ScenarioDef;
  /** Unix ms the app started. */
  startedAt: number;
  /** When the app died (kill / V8 abort / GPU job OOM), or undefined. */
  diedAt?: number;
  death?: string;
  /** cgroup memory.oom_control oom_kill after the run. */
  oomKills?: number;
  restartedAt?: number;
  /** Slack messages about this scenario, in arrival order. */
  messages: SlackMessage[];
  /** First forecast alert message at warning (or higher), and the first critical one. */
  firstWarningAt?: number;
  /** Start of the forecast alert's last firing episode before the death (after any resolution). */
  sustainedWarningAt?: number;
  criticalAt?: number;
  /** The forecast alert's resolved message. */
  resolvedAt?: number;
  /** The OOM-kill alert. */
  oomAlertAt?: number;
  /** vigil.forecast.time_to_exhaustion points [unix ms, s] of the watched series. */
  tte: Array<[number, number]>;
  /** The watched series' points [unix ms, value] and its limit (same unit). */
  usage: Array<[number, number]>;
  limit?: number;
  /** Alerts other than INFO that are not the expected forecast / OOM alerts of a leak. */
  falseAlerts: SlackMessage[];
}

export interface RunResult {
  readonly outcomes: ScenarioOutcome[];
  readonly vigil: { rssMiBMedian: number; rssMiBMax: number; cpuPercent: number };
  readonly slack: SlackMessage[];
  readonly logs: string;
}

export interface LiveRow {
  readonly name: ScenarioName;
  readonly usage?: number;
  readonly limit?: number;
  readonly tte?: number;
  readonly trend?: number;
  readonly state: 'running' | 'died' | 'restarted' | 'done';
}

export interface RunOptions {
  readonly scale: Scale;
  readonly scenarios: readonly ScenarioName[];
  /** OTLP/HTTP base endpoint for vigil's traces. */
  readonly otlpEndpoint?: string;
  /** Restart a killed app (healthy) so the alerts resolve (default true). */
  readonly restart?: boolean;
  readonly redisUrl?: string;
  readonly log?: (line: string) => void;
  readonly onSlack?: (m: SlackMessage) => void;
  /** Called about once a second with the live state (the demo's terminal view). */
  readonly onTick?: (rows: readonly LiveRow[], vigilUrl: string) => void;
  /** Called once vigil is up (the bench starts Prometheus here). */
  readonly onVigilReady?: (vigil: DemoVigil) => Promise<void> | void;
  readonly signal?: AbortSignal;
}


interface Running {
  readonly def: ScenarioDef;
  readonly outcome: ScenarioOutcome;
  cgroup?: MemoryCgroup;
  metricsPort?: number;
  child?: ChildProcess;
  /** GPU: the state file and the computed death time. */
  gpuState?: string;
  queueName?: string;
  /** Text identifying this scenario in alert labels. */
  readonly matchText: string;
  exited: Promise<void>;
  done: boolean;
  stderr: string;
}

/** Runs the scenarios at once under one vigil; cleans up every process, cgroup and file. */
export async function runScenarios(opts: RunOptions): Promise<RunResult> {
  const log = opts.log ?? (() => {});
  const scale = SCALES[opts.scale];
  const defs = scenarioDefs(opts.scale);
  const dir = await mkdtemp(join(tmpdir(), 'vigil-e2e-'));
  const children = new Set<ChildProcess>();
  const running: Running[] = [];
  let slack: SlackStandin | undefined;
  let vigil: DemoVigil | undefined;
  const usageSamples: Array<{ at: number; rss: number; cpu: number }> = [];
  try {
    slack = await startSlackStandin();
    const suffix = Math.random().toString(36).slice(2, 8);
    for (const name of opts.scenarios) {
      const def = defs[name];
      const outcome: ScenarioOutcome = { def, startedAt: 0, messages: [], tte: [], usage: [], falseAlerts: [] };
      const r: Running = { def, outcome, matchText: name, exited: Promise.resolve(), done: false, stderr: '' };
      if (def.kind === 'cgroup') r.cgroup = await createMemoryCgroup(def.limitMiB * MiB);
      if (def.kind === 'v8') r.metricsPort = await freePort();
      if (def.kind === 'gpu') {
        r.gpuState = join(dir, 'gpu-state.json');
        const wrapper = join(dir, 'nvidia-smi');
        await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${FAKE_SMI}" "${r.gpuState}" "$@"\n`);
        await chmod(wrapper, 0o755);
        // Not started yet: memory stays at the baseline until startMs.
        await writeGpuState(r.gpuState, Date.now() + 3_600_000, opts.scale);
        (r as { matchText: string }).matchText = 'GPU-5d1f7c2e-8a47-4c39-9b1e-0f6a2d3c4b5a';
      }
      if (def.kind === 'queue') {
        r.queueName = `vigil-e2e-${suffix}`;
        (r as { matchText: string }).matchText = r.queueName;
      }
      running.push(r);
    }

    slack.onMessage((m) => {
      for (const r of running) if (mentions(m, r.matchText)) r.outcome.messages.push(m);
      opts.onSlack?.(m);
    });
    const port = await freePort();
    const config = vigilConfig(opts, running, slack.url, dir, port);
    const startApps = (): void => {
      for (const r of running) startApp(r, opts, children, log);
    };
    // Short runs compress a leak into under a minute, where the apps' own start-up (a few
    // seconds from 0 to ~50 MiB, slower with many apps starting on two cores) would be a third
    // of the history; there vigil starts once the apps are up, like a sidecar attached to a
    // running pod. Long runs start vigil first and the apps after it, as in a pod.
    if (scale.settleS > 0) {
      startApps();
      await sleep(scale.settleS * 1000);
    }
    log(`starting vigil on 127.0.0.1:${port} (config ${join(dir, 'vigil.yaml')})`);
    vigil = await startVigil(config, dir, port);
    await opts.onVigilReady?.(vigil);
    if (scale.settleS === 0) startApps();

    const started = Date.now();
    const maxS = Math.max(...running.map((r) => r.def.durationS));
    const sampler = setInterval(() => {
      void vigil!
        .usage()
        .then((u) => usageSamples.push({ at: Date.now(), rss: u.rssBytes, cpu: u.cpuSeconds }))
        .catch(() => {});
      if (opts.onTick) void liveRows(vigil!, running).then((rows) => opts.onTick!(rows, vigil!.url)).catch(() => {});
    }, 1000);
    try {
      // Wait until each leak died (then restart it healthy) and each control ran its course.
      for (;;) {
        if (opts.signal?.aborted) throw new Error('aborted');
        const now = Date.now();
        for (const r of running) {
          if (r.done) continue;
          const o = r.outcome;
          if (r.def.kind === 'gpu' && o.diedAt === undefined && now >= gpuDeathAt(o.startedAt, opts.scale)) {
            o.diedAt = gpuDeathAt(o.startedAt, opts.scale);
            o.death = 'CUDA out of memory (memory reached the total; job released it)';
            o.restartedAt = o.diedAt;
          }
          if (o.diedAt !== undefined && (o.restartedAt !== undefined || opts.restart === false)) {
            // Done once the forecast alert resolved (or waited long enough).
            const forecastMsgs = o.messages.filter((m) => isForecast(m));
            const resolved = forecastMsgs.some((m) => m.tier === 'resolved' && m.at > o.diedAt!);
            if (resolved || opts.restart === false || now - o.diedAt > scale.resolveWaitS * 1000) r.done = true;
          } else if (o.diedAt !== undefined && opts.restart !== false && r.def.kind !== 'gpu') {
            restartHealthy(r, opts, children, log);
          } else if (now - o.startedAt > r.def.durationS * 1000) {
            if (r.def.kind === 'queue') {
              // The queue app drains and exits by itself; wait for the resolved message a little longer.
              const resolved = o.messages.some((m) => isForecast(m) && m.tier === 'resolved');
              if (resolved || now - o.startedAt > (r.def.durationS + scale.resolveWaitS) * 1000) r.done = true;
            } else r.done = true;
          }
        }
        if (running.every((r) => r.done)) break;
        if (Date.now() - started > (maxS + scale.resolveWaitS + 60) * 1000) {
          log('scenarios did not finish in time; stopping');
          break;
        }
        await sleep(250);
      }
    } finally {
      clearInterval(sampler);
    }

    // Collect what vigil recorded, then judge each scenario's messages.
    for (const r of running) {
      await collectSeries(vigil, r);
      if (r.cgroup) r.outcome.oomKills = await r.cgroup.oomKills().catch(() => undefined);
      judge(r.outcome);
    }
    const rss = usageSamples.map((u) => u.rss / MiB).sort((a, b) => a - b);
    const first = usageSamples[0];
    const last = usageSamples.at(-1);
    const cpuPercent = first && last && last.at > first.at ? ((last.cpu - first.cpu) / ((last.at - first.at) / 1000)) * 100 : Number.NaN;
    return {
      outcomes: running.map((r) => r.outcome),
      vigil: { rssMiBMedian: rss[rss.length >> 1] ?? Number.NaN, rssMiBMax: rss.at(-1) ?? Number.NaN, cpuPercent },
      slack: slack.messages,
      logs: vigil.logs(),
    };
  } finally {
    // Our own kills below are not deaths to report.
    for (const r of running) r.done = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await vigil?.stop().catch(() => {});
    for (const r of running) await r.cgroup?.remove();
    await slack?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

function vigilConfig(opts: RunOptions, running: readonly Running[], slackUrl: string, dir: string, port: number): Record<string, unknown> {
  const scale = SCALES[opts.scale];
  const interval = `${scale.intervalMs}ms`;
  const plugins: Record<string, unknown>[] = [];
  const ceilings: Record<string, number> = {};
  let queueEntry: Record<string, unknown> | undefined;
  for (const r of running) {
    const d = r.def;
    if (d.kind === 'cgroup') plugins.push({ use: 'heap', name: d.name, interval, cgroup: { from: 'path', path: r.cgroup!.path, name: d.name }, smaps_rollup: false });
    // prom-client's default metrics carry no heap limit; the old space (--max-old-space-size) is what
    // a growing live set runs out of, so that is the limit the forecast is given.
    if (d.kind === 'v8') plugins.push({ use: 'heap', name: d.name, interval, v8: [{ url: `http://127.0.0.1:${r.metricsPort}/metrics`, name: d.name, timeout: '900ms', heap_limit: `${d.limitMiB}MiB` }] });
    if (d.kind === 'gpu') plugins.push({ use: 'gpu', name: d.name, interval, binary: join(dir, 'nvidia-smi'), processes: false });
    if (d.kind === 'queue') {
      ceilings[r.queueName!] = opts.scale === 'short' ? 600 : 6000;
      queueEntry = { use: 'queue', name: d.name, interval, bullmq: { redis: opts.redisUrl ?? 'redis://127.0.0.1:6379', queues: [r.queueName!] } };
    }
  }
  if (queueEntry) plugins.push({ ...queueEntry, ceilings });
  return {
    agent: { interval, data_dir: join(dir, 'data'), log_level: 'info', shutdown_timeout: '3s' },
    server: { host: '127.0.0.1', port },
    telemetry: {
      service_name: 'vigil-e2e',
      ...(opts.otlpEndpoint ? { otlp: { endpoint: opts.otlpEndpoint, traces: { enabled: true } } } : {}),
    },
    plugins,
    detect: {
      forecast: {
        ...scale.forecast,
        metrics: [WS, HEAP, GPU_MEM, BACKLOG],
        // The default peak envelope for the V8 heap too: measured, V8 aborts when heap used
        // peaks at the old-space size (a major GC that frees too little), well before the
        // post-GC floor gets there (the floor envelope forecast ~2x too late).
      },
    },
    alerts: {
      evaluation_interval: '1s',
      group_by: ['alertname', 'vigil.target', 'hw.id', 'messaging.destination.name'],
      group_wait: '0s',
      group_interval: '1s',
      rules: [
        {
          name: 'memory-exhaustion-forecast',
          type: 'forecast',
          within: scale.within,
          keep_firing_for: scale.keepFiringFor,
          annotations: { summary: '{{labels.metric}} forecast to reach 95% of its limit in {{eta}}' },
        },
      ],
      notifiers: [{ name: 'slack', type: 'slack', url: slackUrl, min_interval: '100ms' }],
      outbox: { fsync: false, backoff_initial: '200ms' },
    },
    ui: { enabled: true },
  };
}

function leakerArgs(def: ScenarioDef, metricsPort: number | undefined, healthy: boolean): string[] {
  const args = healthy ? ['--mode', def.kind === 'v8' ? 'heap' : 'rss', '--pattern', 'none', '--base', '20', '--churn', '4'] : [...def.app];
  const node = def.kind === 'v8' ? [`--max-old-space-size=${def.limitMiB}`] : [];
  return [...node, LEAKER, ...args, ...(metricsPort !== undefined ? ['--metrics-port', String(metricsPort)] : [])];
}

function startApp(r: Running, opts: RunOptions, children: Set<ChildProcess>, log: (l: string) => void): void {
  const o = r.outcome;
  o.startedAt = Date.now();
  if (r.def.kind === 'gpu') {
    void writeGpuState(r.gpuState!, o.startedAt, opts.scale);
    return;
  }
  let child: ChildProcess;
  if (r.def.kind === 'queue') {
    const s = opts.scale === 'short';
    child = spawn(
      process.execPath,
      [QUEUE_APP, '--redis', opts.redisUrl ?? 'redis://127.0.0.1:6379', '--queue', r.queueName!, '--produce', s ? '12' : '12', '--work', s ? '3' : '2', '--catch-up-after', s ? String(QUEUE_CATCH_UP_S) : '420', '--work-after', s ? '80' : '40', '--duration', String(r.def.durationS)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } else {
    const args = leakerArgs(r.def, r.metricsPort, false);
    child = r.cgroup ? r.cgroup.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  track(r, child, children, log, true);
}

function restartHealthy(r: Running, _opts: RunOptions, children: Set<ChildProcess>, log: (l: string) => void): void {
  const o = r.outcome;
  o.restartedAt = Date.now();
  const args = leakerArgs(r.def, r.metricsPort, true);
  const child = r.cgroup ? r.cgroup.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  log(`${r.def.name}: restarted the app (healthy) after it died`);
  track(r, child, children, log, false);
}

function track(r: Running, child: ChildProcess, children: Set<ChildProcess>, log: (l: string) => void, first: boolean): void {
  children.add(child);
  r.child = child;
  child.stdout?.resume();
  child.stderr?.on('data', (d: Buffer) => {
    r.stderr = (r.stderr + d.toString()).slice(-4000);
  });
  r.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve();
      if (!first || r.done) return;
      const o = r.outcome;
      if (o.diedAt !== undefined) return;
      if (r.def.kind === 'queue') return;
      o.diedAt = Date.now();
      if (signal === 'SIGKILL' && r.cgroup) o.death = 'killed by the kernel OOM killer (SIGKILL, memory cgroup limit)';
      else if (/heap out of memory/i.test(r.stderr)) o.death = 'V8: FATAL ERROR ... JavaScript heap out of memory';
      else o.death = `exited (code ${code}, signal ${signal})`;
      log(`${r.def.name}: app died after ${((o.diedAt - o.startedAt) / 1000).toFixed(1)} s: ${o.death}`);
    });
  });
}

function gpuDeathAt(startedAt: number, scale: Scale): number {
  const g = gpuParams(scale);
  return startedAt + ((g.totalMiB - g.baseMiB) / g.rateMiBps) * 1000;
}

function gpuParams(scale: Scale): { baseMiB: number; totalMiB: number; rateMiBps: number; sawMiB: number } {
  // short: full in 60 s; long: full in 10 min.
  return scale === 'short' ? { baseMiB: 19818, totalMiB: 81559, rateMiBps: 1029, sawMiB: 600 } : { baseMiB: 19818, totalMiB: 81559, rateMiBps: 103, sawMiB: 600 };
}

async function writeGpuState(file: string, startMs: number, scale: Scale): Promise<void> {
  await writeFile(file, JSON.stringify({ startMs, ...gpuParams(scale) }));
}

interface SeriesList {
  series: Array<{ metric: string; attributes: Record<string, string | number | boolean>; value: number | null; points?: Array<[number, number | null]> }>;
}

/** The watched series' attribute filter for this scenario. */
function watchedFilter(r: Running): string {
  if (r.def.kind === 'cgroup' || r.def.kind === 'v8') return `attr.vigil.target=${encodeURIComponent(r.def.name)}`;
  if (r.def.kind === 'queue') return `attr.messaging.destination.name=${encodeURIComponent(r.queueName!)}`;
  return '';
}

async function collectSeries(vigil: DemoVigil, r: Running): Promise<void> {
  const o = r.outcome;
  const since = o.startedAt - 1000;
  const f = watchedFilter(r);
  const tte = await vigil
    .api<SeriesList>(`/api/series?metric=vigil.forecast.time_to_exhaustion&attr.metric=${encodeURIComponent(r.def.metric)}&${f}&since=${since}`)
    .catch(() => ({ series: [] }) as SeriesList);
  o.tte = (tte.series[0]?.points ?? []).filter((p): p is [number, number] => p[1] !== null);
  const usage = await vigil.api<SeriesList>(`/api/series?metric=${encodeURIComponent(r.def.metric)}&${f}&since=${since}`).catch(() => ({ series: [] }) as SeriesList);
  o.usage = (usage.series[0]?.points ?? []).filter((p): p is [number, number] => p[1] !== null);
  const limitMetric = r.def.kind === 'gpu' ? 'hw.gpu.memory.limit' : r.def.kind === 'queue' ? 'vigil.queue.backlog.limit' : 'vigil.memory.limit';
  const scopeFilter = r.def.kind === 'cgroup' ? '&attr.vigil.memory.scope=container' : r.def.kind === 'v8' ? '&attr.vigil.memory.scope=v8_heap' : '';
  const lim = await vigil.api<SeriesList>(`/api/series?metric=${limitMetric}&${f}${scopeFilter}`).catch(() => ({ series: [] }) as SeriesList);
  const lv = lim.series[0]?.value;
  if (typeof lv === 'number') o.limit = lv;
}

async function liveRows(vigil: DemoVigil, running: readonly Running[]): Promise<LiveRow[]> {
  const rows: LiveRow[] = [];
  for (const r of running) {
    const f = watchedFilter(r);
    const [u, t, tr] = await Promise.all([
      vigil.api<SeriesList>(`/api/series?metric=${encodeURIComponent(r.def.metric)}&${f}`),
      vigil.api<SeriesList>(`/api/series?metric=vigil.forecast.time_to_exhaustion&attr.metric=${encodeURIComponent(r.def.metric)}&${f}`),
      vigil.api<SeriesList>(`/api/series?metric=vigil.forecast.trend&attr.metric=${encodeURIComponent(r.def.metric)}&${f}`),
    ]);
    const o = r.outcome;
    const tteSeries = t.series[0] as (SeriesList['series'][number] & { fresh?: boolean }) | undefined;
    rows.push({
      name: r.def.name,
      ...(u.series[0]?.value != null ? { usage: u.series[0].value } : {}),
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      ...(tteSeries?.value != null && tteSeries.fresh ? { tte: tteSeries.value } : {}),
      ...(tr.series[0]?.value != null ? { trend: tr.series[0].value } : {}),
      state: r.done ? 'done' : o.restartedAt !== undefined ? 'restarted' : o.diedAt !== undefined ? 'died' : 'running',
    });
    if (o.limit === undefined) {
      const limitMetric = r.def.kind === 'gpu' ? 'hw.gpu.memory.limit' : r.def.kind === 'queue' ? 'vigil.queue.backlog.limit' : 'vigil.memory.limit';
      const scope = r.def.kind === 'cgroup' ? '&attr.vigil.memory.scope=container' : r.def.kind === 'v8' ? '&attr.vigil.memory.scope=v8_heap' : '';
      const l = await vigil.api<SeriesList>(`/api/series?metric=${limitMetric}&${f}${scope}`).catch(() => ({ series: [] }) as SeriesList);
      if (typeof l.series[0]?.value === 'number') o.limit = l.series[0].value;
    }
  }
  return rows;
}

/** The alert name in a Slack message's title (`[FIRING:1] name — TIER` / `[RESOLVED] name`). */
export function alertName(m: SlackMessage): string | undefined {
  return /\] (\S+)/.exec(m.text)?.[1];
}

export function isForecast(m: SlackMessage): boolean {
  return alertName(m) === 'memory-exhaustion-forecast';
}

/** The message carries this scenario's label value exactly (`="container-oom"`, not `="container-oom-fast"`). */
function mentions(m: SlackMessage, value: string): boolean {
  const quoted = `="${value}"`;
  return m.text.includes(quoted) || m.lines.some((l) => l.includes(quoted) || l.includes(`=${value},`) || l.includes(`: ${value}`));
}

/** Fills the outcome's alert times and false alerts from its messages. */
function judge(o: ScenarioOutcome): void {
  for (const m of o.messages) {
    const name = alertName(m);
    if (name === 'memory-exhaustion-forecast') {
      if ((m.tier === 'warning' || m.tier === 'critical') && o.firstWarningAt === undefined) o.firstWarningAt = m.at;
      if (m.tier === 'critical' && o.criticalAt === undefined) o.criticalAt = m.at;
      // The resolution that counts comes after the kill (restart) — or, for a queue, after the catch-up.
      const after = o.diedAt ?? (o.def.kind === 'queue' ? o.criticalAt ?? o.firstWarningAt : undefined);
      if (m.tier === 'resolved' && o.resolvedAt === undefined && after !== undefined && m.at > after) o.resolvedAt = m.at;
    }
    if (name === 'oom-kills' && m.tier !== 'resolved' && o.oomAlertAt === undefined) o.oomAlertAt = m.at;
    if (name === 'memory-exhaustion-forecast' && (o.diedAt === undefined || m.at <= o.diedAt)) {
      if (m.tier === 'resolved') o.sustainedWarningAt = undefined;
      else if (o.sustainedWarningAt === undefined) o.sustainedWarningAt = m.at;
    }
    // On a leak every alert about it is deserved (the anomaly detector may flag the climb too).
    const expected = o.def.leaking && name !== undefined;
    if (!expected && m.tier !== 'info' && m.tier !== 'resolved') o.falseAlerts.push(m);
  }
}

/** Forecast error at `beforeS` seconds before the kill: |tte − truth| / truth, truth = time until usage first reached 95 % of the limit. */
export function forecastErrorBefore(o: ScenarioOutcome, beforeS: number): { error: number; tte: number; truth: number; at: number } | undefined {
  if (o.diedAt === undefined || o.limit === undefined) return undefined;
  const line = 0.95 * o.limit;
  const crossed = o.usage.find((p) => p[1] >= line && p[0] >= o.startedAt)?.[0] ?? o.diedAt;
  const at = o.diedAt - beforeS * 1000;
  let best: [number, number] | undefined;
  for (const p of o.tte) if (p[0] <= at && (!best || p[0] > best[0])) best = p;
  if (!best || at - best[0] > 5000) return undefined;
  const truth = (crossed - best[0]) / 1000;
  if (truth <= 0) return undefined;
  return { error: Math.abs(best[1] - truth) / truth, tte: best[1], truth, at: best[0] };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
