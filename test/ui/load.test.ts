import { describe, it, expect, afterAll } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SseClient } from './sse-client.ts';
import { startAgent, tempDir, type AgentHandle } from '../deploy/fixtures/stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Median of a few RSS readings a little apart (RSS jitters with GC). */
async function steadyRss(pid: number, n = 5): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(await rssMiB(pid));
    await sleep(300);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n / 2)]!;
}

// The real agent (`vigil run`, its own process, so its memory is measured alone) with the
// system plugin and 1,000 synthetic series from a file plugin; 100 viewers (raw SSE clients)
// connect from this process.
describe('100 concurrent live-page viewers', () => {
  let agent: AgentHandle | undefined;
  const tmp = tempDir('vigil-ui-load-');
  afterAll(async () => {
    await agent?.proc.stop();
    tmp.cleanup();
  });

  it('shares one update per tick and adds well under 50 MiB to the agent', async () => {
    agent = await startAgent(
      tmp.dir,
      `
agent:
  interval: 1s
  data_dir: ${join(tmp.dir, 'data')}
  log_level: warn
server:
  host: 127.0.0.1
  port: \${PORT}
plugins:
  - use: system
  - use: ${join(import.meta.dirname, 'fixtures/many-series-plugin.ts')}
    name: synthetic
    series: 1000
    history: 300
alerts:
  enabled: false
detect:
  anomaly:
    enabled: false
`,
    );
    const url = agent.url;
    const pid = agent.proc.child.pid!;
    // Let the store fill a little and warm the page code paths once (module load, JIT).
    await sleep(3000);
    const warm = new SseClient(false);
    await warm.open(url + '/api/live');
    await warm.waitFor('frame', 1);
    warm.close();
    await sleep(3000);
    const idle = await steadyRss(pid);

    const viewers = Array.from({ length: 100 }, () => new SseClient(false));
    await Promise.all(viewers.map((v) => v.open(url + '/api/live')));
    expect(viewers.every((v) => v.status === 200)).toBe(true);
    await Promise.all(viewers.map((v) => v.waitFor('snapshot', 1, 15_000)));
    let peak = 0;
    for (let i = 0; i < 8; i++) {
      peak = Math.max(peak, await rssMiB(pid));
      await sleep(1000);
    }
    const watched = await steadyRss(pid);
    peak = Math.max(peak, watched);
    const frames = viewers.map((v) => v.count('frame'));
    const bytesPerViewer = viewers[0]!.bytes;
    for (const v of viewers) v.close();
    await sleep(2000);
    const after = await steadyRss(pid);

    const added = watched - idle;
    // Printed for the report: RSS idle, with 100 viewers (median and peak), after they left.
    console.log(
      `live page load (real agent, 1,000 synthetic series + system): idle ${idle.toFixed(1)} MiB, 100 viewers ${watched.toFixed(1)} MiB (peak ${peak.toFixed(1)}), ` +
        `added ${added.toFixed(1)} MiB (peak +${(peak - idle).toFixed(1)}), after close ${after.toFixed(1)} MiB; ` +
        `frames per viewer ${Math.min(...frames)}..${Math.max(...frames)}; bytes to one viewer in ~9 s ${(bytesPerViewer / 1024).toFixed(0)} KiB`,
    );
    expect(Math.min(...frames)).toBeGreaterThanOrEqual(5);
    expect(peak - idle).toBeLessThan(50);
  }, 90_000);
});
