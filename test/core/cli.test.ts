import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, startAgentProcess, type AgentProcess } from '../helpers/agent-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
const faulty = join(import.meta.dirname, '..', 'fixtures', 'plugins', 'faulty.ts');
const agents: AgentProcess[] = [];
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
});

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('vigil CLI', () => {
  it('has --help on every command', async () => {
    for (const cmd of [[], ['run'], ['check'], ['collect'], ['plugins']]) {
      const r = await runCli([...cmd, '--help']);
      expect(r.code, `vigil ${cmd.join(' ')} --help`).toBe(0);
      expect(r.stdout).toMatch(/Usage: vigil/);
    }
  });

  it('check: exit 0 with a summary for a valid config, 1 with every error for a bad one', async () => {
    const good = write('good.yaml', 'plugins:\n  - use: system\n    interval: 2s\n');
    const ok = await runCli(['check', '--config', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${good}: valid`);
    expect(ok.stdout).toContain('system (system, every 2s)');
    const bad = write('bad.yaml', 'agent:\n  interval: ten\nplugins:\n  - use: system\n    interval: 1x\n');
    const r = await runCli(['check', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:2 agent.interval: expected a duration like "10s", got "ten"`);
    expect(r.stderr).toContain(`${bad}:5 plugins[0].interval: expected a duration like "10s", got "1x"`);
    expect(r.stderr).toContain('2 errors');
  });

  it('collect --once --json prints one JSON object per sample', async () => {
    const f = write('collect.yaml', `plugins:\n  - use: system\n  - use: ${faulty}\n    name: third\n    mode: ok\n  - use: ${faulty}\n    name: broken\n    mode: throw\n`);
    const r = await runCli(['collect', '--once', '--json', '--config', f]);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const third = rows.find((x) => x.plugin === 'third');
    expect(third).toMatchObject({ metric: 'test.value', unit: '1', attributes: { id: 'a' }, value: 1 });
    expect(typeof third!.timestamp).toBe('number');
    const mem = rows.find((x) => x.metric === 'system.memory.limit');
    expect(mem).toMatchObject({ plugin: 'system', unit: 'By' });
    expect(mem!.value as number).toBeGreaterThan(1 << 20);
    expect(r.stderr).toContain('broken: failed: boom #1');
  });

  it('plugins lists built-ins with their metrics', async () => {
    const r = await runCli(['plugins']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^system — /m);
    expect(r.stdout).toContain('system.memory.usage (gauge, By) {system.memory.state}');
  });

  it('run: SIGHUP with a bad file keeps the old config; a good one applies; SIGTERM exits 0', async () => {
    const port = await freePort();
    const f = write('run.yaml', `agent:\n  data_dir: ${join(dir, 'data')}\nplugins:\n  - use: system\n    interval: 1s\n`);
    const agent = await startAgentProcess(f, port);
    agents.push(agent);
    const status = async () => (await (await fetch(`${agent.url}/api/status`)).json()) as { plugins: Array<{ name: string; state: string }> };
    await expect.poll(async () => (await status()).plugins.map((p) => `${p.name}:${p.state}`), { timeout: 10_000 }).toEqual(['system:ok']);

    writeFileSync(f, 'agent:\n  interval: nope\n');
    agent.child.kill('SIGHUP');
    await agent.waitForLog(/config reload rejected/);
    expect(agent.logs()).toContain('expected a duration like');
    expect((await status()).plugins.map((p) => p.name)).toEqual(['system']);
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);

    writeFileSync(f, `agent:\n  data_dir: ${join(dir, 'data')}\nplugins:\n  - use: system\n    interval: 1s\n  - use: ${faulty}\n    name: added\n    mode: ok\n    interval: 1s\n`);
    agent.child.kill('SIGHUP');
    await agent.waitForLog(/config reloaded/);
    await expect.poll(async () => (await status()).plugins.map((p) => `${p.name}:${p.state}`), { timeout: 10_000 }).toEqual(['system:ok', 'added:ok']);
    const metrics = async () => (await fetch(`${agent.url}/metrics`)).text();
    await expect.poll(metrics, { timeout: 10_000 }).toMatch(/^vigil_plugin_up\{plugin="added"\} 1$/m);

    // Removing a plugin on reload removes its series from /metrics too.
    writeFileSync(f, `agent:\n  data_dir: ${join(dir, 'data')}\nplugins:\n  - use: system\n    interval: 1s\n`);
    agent.child.kill('SIGHUP');
    await expect.poll(async () => (await status()).plugins.map((p) => p.name), { timeout: 10_000 }).toEqual(['system']);
    const after = await metrics();
    expect(after).toMatch(/^vigil_plugin_up\{plugin="system"\} 1$/m);
    // (the SDK's cumulative counters/histograms of the removed plugin stay until restart, as counters do)
    expect(after).not.toMatch(/^vigil_plugin_up\{plugin="added"\}/m);

    expect(await agent.stop('SIGTERM')).toBe(0);
  });
});
