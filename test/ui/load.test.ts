import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { SseClient } from './sse-client.ts';

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

// The agent side runs in its own process so its memory is measured alone; 100 viewers
// (raw SSE clients) connect from this process.
describe('100 concurrent live-page viewers', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('shares one update per tick and adds well under 50 MiB to the agent', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'test/ui/fixtures/ui-host.ts'], {
      env: { ...process.env, EXTRA_SERIES: '60' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child!.stdout! });
      rl.once('line', resolve);
      child!.once('exit', (code) => reject(new Error(`ui host exited ${code}`)));
    });
    const { url, pid } = JSON.parse(line) as { url: string; pid: number };
    // Warm the code paths once (module loading, JIT), then let the host settle idle.
    const warm = new SseClient(false);
    await warm.open(url + '/api/live');
    await warm.waitFor('frame', 1);
    warm.close();
    await sleep(2000);
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
    const snapshotBytes = viewers[0]!.bytes;
    for (const v of viewers) v.close();
    await sleep(2000);
    const after = await steadyRss(pid);

    const added = watched - idle;
    // Printed for the report: RSS idle, with 100 viewers (median and peak), after they left.
    console.log(
      `live page load: idle ${idle.toFixed(1)} MiB, 100 viewers ${watched.toFixed(1)} MiB (peak ${peak.toFixed(1)}), ` +
        `added ${added.toFixed(1)} MiB (peak +${(peak - idle).toFixed(1)}), after close ${after.toFixed(1)} MiB; ` +
        `frames per viewer ${Math.min(...frames)}..${Math.max(...frames)}; bytes to one viewer ${(snapshotBytes / 1024).toFixed(0)} KiB`,
    );
    expect(Math.min(...frames)).toBeGreaterThanOrEqual(5);
    expect(peak - idle).toBeLessThan(50);
  }, 60_000);
});
