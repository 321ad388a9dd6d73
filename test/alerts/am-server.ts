import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, tempDir } from './helpers.ts';
import { freePort } from '../../agent/util/net.ts';
export { freePort } from '../../agent/util/net.ts';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';


/** A real Alertmanager on a free loopback port, its webhook receiver pointed at `hookUrl`. */
export class AlertmanagerProcess {
  url = '';
  private child: ChildProcess | undefined;
  private log = '';

  constructor(private readonly hookUrl: string) {}

  async start(): Promise<this> {
    const dir = tempDir('vigil-am-');
    const cfg = join(dir, 'alertmanager.yml');
    writeFileSync(
      cfg,
      [
        'route:',
        '  receiver: hook',
        "  group_by: ['alertname']",
        '  group_wait: 0s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: hook',
        '    webhook_configs:',
        `      - url: ${this.hookUrl}`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(
      ALERTMANAGER_BIN,
      [`--config.file=${cfg}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const r = await fetch(`${this.url}/-/ready`);
        if (r.ok) return this;
      } catch {
        // not listening yet
      }
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`alertmanager did not start: ${this.log}`);
      await sleep(100);
    }
  }

  async alerts(): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; status: { state: string }; generatorURL?: string }[]> {
    const r = await fetch(`${this.url}/api/v2/alerts`);
    return (await r.json()) as never;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
}
