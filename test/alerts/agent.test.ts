import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnVigil, type VigilProcess } from '../../agent/demo/vigil-process.ts';
import type { SlackPayload } from '../../agent/alerts/notifiers/slack.ts';
import { sleep, StandIn, tempDir } from './helpers.ts';

const PLUGIN = fileURLToPath(new URL('./fixtures/value-plugin.ts', import.meta.url));
const SECRET = '/services/TAGENT/BAGENT/agentSECRETtoken';

/** `vigil run` on a config whose port is 0: the port is read from its "serving" log line. */
class Agent {
  readonly proc: VigilProcess;
  constructor(config: string) {
    this.proc = spawnVigil(['run', '--config', config]);
  }
  get out(): string {
    return this.proc.logs();
  }
  async port(): Promise<number> {
    const line = await this.proc.waitForLog(/"port":\d+[^\n]*serving/, 30_000);
    return Number(/"port":(\d+)/.exec(line)![1]);
  }
  async kill(signal: NodeJS.Signals): Promise<void> {
    await this.proc.stop(signal);
  }
}

describe('full agent (`vigil run`): SIGKILL during a Slack outage', () => {
  const agents: Agent[] = [];
  let slack: StandIn | undefined;
  afterEach(async () => {
    for (const a of agents) await a.kill('SIGKILL');
    await slack?.stop();
  });

  it('delivers after restart, none twice; secrets never reach logs or the API', async () => {
    try {
      await scenario();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- agent output ---\n${agents.map((a) => a.out.slice(-3000)).join('\n---\n')}`);
    }
  }, 90_000);

  async function scenario(): Promise<void> {
    slack = await new StandIn().start();
    let healthy = false;
    const ok: string[] = []; // bodies answered 200: what was actually delivered
    slack.behaviour = (r) => {
      if (!healthy) return { status: 503, body: 'unavailable' };
      ok.push(r.json<SlackPayload>().text);
      return { status: 200, body: 'ok' };
    };
    const dir = tempDir();
    const valueFile = join(dir, 'value');
    writeFileSync(join(dir, 'slack-url'), `${slack.url}${SECRET}\n`);
    writeFileSync(valueFile, '0.5');
    const config = join(dir, 'vigil.yaml');
    writeFileSync(
      config,
      `agent:
  interval: 250ms
  data_dir: ${join(dir, 'data')}
  log_level: info
server:
  host: 127.0.0.1
  port: 0
  api_token: t0ken
plugins:
  - use: ${PLUGIN}
    name: fake
    file: ${valueFile}
detect:
  anomaly: { enabled: false }
  forecast: { enabled: false }
alerts:
  default_rules: { enabled: false }
  rules:
    - name: value-high
      type: threshold
      metric: test.alerts.value
      above: { warning: 0.8, critical: 0.9 }
      clear: 0.75
  notifiers:
    - name: slack
      type: slack
      url_file: ${join(dir, 'slack-url')}
      min_interval: 0ms
      timeout: 1s
  group_wait: 0s
  group_interval: 250ms
  outbox: { backoff_initial: 100ms, backoff_max: 300ms }
`,
    );
    const a = new Agent(config);
    agents.push(a);
    const port = await a.port();
    writeFileSync(valueFile, '0.95');
    await slack.waitFor((r) => r.length >= 3, 30_000, 'failing attempts');
    const alerts = (await (await fetch(`http://127.0.0.1:${port}/api/alerts`)).json()) as { alerts: { status: string; tier: string }[] };
    expect(alerts.alerts.map((x) => `${x.status}:${x.tier}`)).toEqual(['firing:critical', 'firing:critical', 'firing:critical']);
    const notifiers = await (await fetch(`http://127.0.0.1:${port}/api/alerts/notifiers`)).text();
    expect(notifiers).not.toContain('SECRET');
    await a.kill('SIGKILL');

    const b = new Agent(config);
    agents.push(b);
    await b.port();
    healthy = true;
    await slack.waitFor(() => ok.length >= 1, 30_000, 'delivery after restart');
    await sleep(1500);
    writeFileSync(valueFile, '0.5');
    await slack.waitFor(() => ok.some((t) => t.includes('RESOLVED')), 30_000, 'resolved');
    await sleep(800);
    await b.kill('SIGTERM');

    const texts = ok;
    expect(texts.filter((t) => t.includes('[FIRING:3] value-high'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('[RESOLVED] value-high'))).toHaveLength(1);
    expect(texts).toHaveLength(2);
    expect(slack.received.every((r) => r.path === SECRET)).toBe(true);
    expect(a.out + b.out).not.toContain('SECRET');
  }
});
