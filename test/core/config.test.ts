import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../agent/config/load.ts';
import { ConfigError } from '../../agent/config/issues.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'plugins');

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function errorsOf(file: string, env: NodeJS.ProcessEnv = {}): Promise<readonly string[]> {
  try {
    await loadConfig({ file, env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('config loading', () => {
  it('loads the embedded default config', async () => {
    const loaded = await loadConfig({ env: {} });
    expect(loaded.source).toBe('<embedded default config>');
    expect(loaded.plugins.map((p) => p.name)).toContain('system');
    expect(loaded.config.server.port).toBe(9464);
  });

  it('names file, line and field for a bad duration, and reports every error', async () => {
    const f = write(
      'agent.yaml',
      ['agent:', '  interval: 5s', 'plugins:', '  - use: system', '  - use: system', '    name: sys2', '  - use: system', '    name: sys3', '    interval: ten', '    bogus_option: 1', 'server:', '  port: "nine"', ''].join('\n'),
    );
    const errors = await errorsOf(f);
    expect(errors).toContain(`${f}:9 plugins[2].interval: expected a duration like "10s", got "ten"`);
    expect(errors.some((e) => e.startsWith(`${f}:12 server.port: expected number, got string "nine"`))).toBe(true);
    expect(errors).toHaveLength(2);
  });

  it('reports unknown keys at their line', async () => {
    const f = write('unknown.yaml', 'agent:\n  interval: 5s\n  intervall: 3s\n');
    expect(await errorsOf(f)).toEqual([`${f}:3 agent: unknown key "intervall"`]);
  });

  it('validates a plugin\'s own options with their path', async () => {
    const f = write('opts.yaml', 'plugins:\n  - use: system\n    proc_rooot: /x\n');
    const errors = await errorsOf(f);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^${f}:2 plugins\\[0\\]: .*proc_rooot`));
  });

  it('points at the YAML syntax error', async () => {
    const f = write('bad.yaml', 'agent:\n  interval: 5s\n plugins: [\n');
    const errors = await errorsOf(f);
    expect(errors[0]).toMatch(new RegExp(`^${f}:\\d+:\\d+ invalid YAML`));
  });

  it('substitutes ${VAR} and ${VAR:-default}, typed when the whole value, and rejects a missing one', async () => {
    const ok = write('env.yaml', 'server:\n  port: ${PORT}\n  host: ${HOST:-127.0.0.1}\nagent:\n  data_dir: "$${literal}"\n');
    const loaded = await loadConfig({ file: ok, env: { PORT: '9999' } });
    expect(loaded.config.server.port).toBe(9999);
    expect(loaded.config.server.host).toBe('127.0.0.1');
    expect(loaded.config.agent.data_dir).toBe('${literal}');
    const missing = write('env-missing.yaml', 'agent:\n  interval: 5s\nserver:\n  host: ${NO_SUCH_HOST}\n');
    expect(await errorsOf(missing)).toEqual([`${missing}:4 server.host: environment variable NO_SUCH_HOST is not set and has no default (write \${NO_SUCH_HOST:-default})`]);
  });

  it('reads *_file secrets and keeps their values for redaction', async () => {
    const secret = write('token.txt', 's3cr3t-token\n');
    const f = write('secret.yaml', `server:\n  api_token_file: ${secret}\n`);
    const loaded = await loadConfig({ file: f, env: {} });
    expect(loaded.config.server.api_token).toBe('s3cr3t-token');
    expect(loaded.secrets).toContain('s3cr3t-token');
    const bad = write('secret-missing.yaml', 'server:\n  api_token_file: /nonexistent/token\n');
    expect((await errorsOf(bad))[0]).toBe(`${bad}:2 server.api_token_file: cannot read secret file /nonexistent/token: ENOENT`);
  });

  it('loads a third-party plugin from a file path and reports an unloadable one', async () => {
    const f = write('third.yaml', `plugins:\n  - use: ${join(fixtures, 'faulty.ts')}\n    mode: ok\n  - use: ./does-not-exist.ts\n  - use: no-such-vigil-plugin-package\n`);
    const errors = await errorsOf(f);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^${f}:4 plugins\\[1\\]\\.use: cannot load plugin file ./does-not-exist.ts`));
    expect(errors[1]).toMatch(/plugins\[2\]\.use: cannot load plugin "no-such-vigil-plugin-package" \(not a built-in/);
    const good = write('third-ok.yaml', `plugins:\n  - use: ${join(fixtures, 'faulty.ts')}\n    name: mine\n    mode: ok\n    interval: 2s\n`);
    const loaded = await loadConfig({ file: good, env: {} });
    expect(loaded.plugins[0]).toMatchObject({ name: 'mine', intervalMs: 2000, options: { mode: 'ok' } });
  });

  it('rejects a missing file with its path', async () => {
    expect(await errorsOf(join(dir, 'nope.yaml'))).toEqual([`${join(dir, 'nope.yaml')}: cannot read config: ENOENT`]);
  });
});
