/** What `vigil demo` does; loaded only when the demo runs. */
import { cgroupUnavailableReason } from './cgroup.ts';
import { runScenarios, type LiveRow, type Scale, type ScenarioName } from './scenarios.ts';
import type { SlackMessage } from './slack-standin.ts';
import { formatSlackMessage } from './format.ts';

export interface DemoOptions {
  scenario: string;
  scale: string;
  restart: boolean;
}

/** Runs the demo in the terminal; returns the exit code. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const scale: Scale = opts.scale === 'long' ? 'long' : 'short';
  let scenario: ScenarioName = opts.scenario === '2' ? 'v8-heap-oom' : 'container-oom';
  if (scenario === 'container-oom') {
    const reason = await cgroupUnavailableReason();
    if (reason) {
      console.log(`scenario 1 needs a writable memory cgroup (${reason}); running scenario 2 instead: the V8 heap limit (--max-old-space-size) is the limit.`);
      scenario = 'v8-heap-oom';
    }
  }
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) return;
    console.log('\nstopping: killing the app, removing its cgroup, stopping vigil…');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = Date.now();
  const stamp = (): string => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  console.log(
    scenario === 'container-oom'
      ? `scenario 1 — container OOM: a Node.js app leaks memory under allocation churn inside a memory cgroup; the kernel will OOM-kill it.`
      : `scenario 2 — V8 heap OOM: a Node.js app (prom-client default metrics) retains objects until "JavaScript heap out of memory".`,
  );
  console.log(`vigil forecasts the post-GC trend and alerts when the limit is ${scale === 'short' ? '45 s (WARNING) / 15 s (CRITICAL)' : '30 min (WARNING) / 5 min (CRITICAL)'} away. Ctrl-C stops and cleans up.\n`);
  try {
    const result = await runScenarios({
      scale,
      scenarios: [scenario],
      restart: opts.restart,
      signal: ac.signal,
      log: (l) => console.log(`${stamp()} ${l}`),
      onVigilReady: (v) => console.log(`${stamp()} vigil is running — live page: ${v.url}/  (metrics: ${v.url}/metrics)`),
      onSlack: (m: SlackMessage) => console.log(`${stamp()} Slack message:\n${formatSlackMessage(m)}`),
      onTick: (rows: readonly LiveRow[]) => {
        for (const r of rows) console.log(`${stamp()} ${liveLine(r)}`);
      },
    });
    const o = result.outcomes[0]!;
    console.log('\nsummary:');
    const at = (t: number | undefined): string => (t === undefined ? 'never' : `${((t - o.startedAt) / 1000).toFixed(1)} s after start`);
    console.log(`  app died:        ${at(o.diedAt)}${o.death ? ` — ${o.death}` : ''}`);
    console.log(`  first WARNING:   ${at(o.firstWarningAt)}${o.diedAt && o.firstWarningAt ? ` (${((o.diedAt - o.firstWarningAt) / 1000).toFixed(1)} s before it died)` : ''}`);
    console.log(`  CRITICAL:        ${at(o.criticalAt)}${o.diedAt && o.criticalAt ? ` (${((o.diedAt - o.criticalAt) / 1000).toFixed(1)} s before it died)` : ''}`);
    console.log(`  resolved:        ${at(o.resolvedAt)}`);
    console.log(`  vigil:           RSS ${result.vigil.rssMiBMedian.toFixed(0)} MiB, CPU ${result.vigil.cpuPercent.toFixed(1)} % of one core`);
    return 0;
  } catch (err) {
    if (ac.signal.aborted) return 130;
    console.error(`demo failed: ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const MiB = 1024 * 1024;

function liveLine(r: LiveRow): string {
  const used = r.usage === undefined ? '—' : `${(r.usage / MiB).toFixed(0)} MiB`;
  const limit = r.limit === undefined ? '' : ` / ${(r.limit / MiB).toFixed(0)} MiB (${(((r.usage ?? 0) / r.limit) * 100).toFixed(0)} %)`;
  const bar = r.limit && r.usage !== undefined ? ` ${gauge(r.usage / r.limit)}` : '';
  const trend = r.trend === 1 ? 'degrading' : r.trend === -1 ? 'improving' : r.trend === 0 ? 'stable' : '…';
  const eta = r.tte === undefined ? 'no exhaustion forecast' : `limit in ${r.tte.toFixed(0)} s`;
  return `${r.name}: ${used}${limit}${bar}  trend ${trend}, ${eta}  [${r.state}]`;
}

function gauge(ratio: number): string {
  const n = Math.max(0, Math.min(20, Math.round(ratio * 20)));
  return `[${'#'.repeat(n)}${'.'.repeat(20 - n)}]`;
}
