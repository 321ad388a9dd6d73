import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { SlackPayload } from '../../agent/alerts/notifiers/slack.ts';
import { StandIn, tempDir } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./fixtures/engine-child.ts', import.meta.url));

interface ChildStatus {
  started?: boolean;
  pending?: number;
  outbox?: number;
  active?: number;
  sent?: number;
}

class EngineChild {
  readonly proc: ChildProcess;
  last: ChildStatus = {};
  private stderr = '';
  private waiters: (() => void)[] = [];

  constructor(dataDir: string, url: string, initial = 0.5) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, url, String(initial)], { stdio: ['pipe', 'pipe', 'pipe'], cwd: process.cwd() });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      try {
        this.last = { ...this.last, ...(JSON.parse(l) as ChildStatus) };
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  send(cmd: string): void {
    this.proc.stdin!.write(`${cmd}\n`);
  }

  async waitFor(pred: (s: ChildStatus) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.last)) {
      if (this.proc.exitCode !== null) throw new Error(`child exited ${this.proc.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`child status timeout; last ${JSON.stringify(this.last)} ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  kill(signal: NodeJS.Signals): Promise<void> {
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill(signal);
    return done;
  }
}

describe('crash safety: SIGKILL during a Slack outage', () => {
  const children: EngineChild[] = [];
  let slack: StandIn | undefined;
  afterEach(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) await c.kill('SIGKILL');
    await slack?.stop();
  });

  it('delivers every accepted notification after restart, none twice', async () => {
    slack = await new StandIn().start();
    let healthy = false;
    const ok: string[] = []; // bodies answered 200: what was actually delivered
    slack.behaviour = (r) => {
      if (!healthy) return { status: 503, body: 'unavailable' };
      ok.push(r.json<SlackPayload>().text);
      return { status: 200, body: 'ok' };
    };
    const dataDir = tempDir();

    const a = new EngineChild(dataDir, slack.url);
    children.push(a);
    await a.waitFor((s) => s.started === true);
    a.send('fire');
    // Two groups (one per rule) → two messages queued; the stand-in refuses them.
    await a.waitFor((s) => s.outbox === 2 && s.active === 8);
    await slack.waitFor((r) => r.length >= 3, 10_000, 'failing attempts');
    expect(a.last.sent).toBe(0);
    await a.kill('SIGKILL');

    const b = new EngineChild(dataDir, slack.url, 0.95); // the app is still in trouble
    children.push(b);
    await b.waitFor((s) => s.started === true);
    expect(b.last.pending).toBe(2); // the outbox came back from disk
    healthy = true;
    await slack.waitFor(() => ok.filter((t) => t.includes('FIRING')).length >= 2, 10_000, 'deliveries after restart');
    await new Promise((r) => setTimeout(r, 1500)); // several collections and group intervals
    b.send('resolve');
    await slack.waitFor(() => ok.filter((t) => t.includes('RESOLVED')).length >= 2, 10_000, 'resolved');
    await new Promise((r) => setTimeout(r, 1000));
    await b.kill('SIGTERM');

    const delivered = ok;
    // Exactly: one firing message per group, one resolved per group. Nothing twice.
    expect(delivered.filter((t) => t.includes('[FIRING:5] heap-high'))).toHaveLength(1);
    expect(delivered.filter((t) => t.includes('[FIRING:3] worker-heap-high'))).toHaveLength(1);
    expect(delivered.filter((t) => t.includes('[RESOLVED] heap-high'))).toHaveLength(1);
    expect(delivered.filter((t) => t.includes('[RESOLVED] worker-heap-high'))).toHaveLength(1);
    expect(delivered).toHaveLength(4);
  }, 60_000);
});
