import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { run } from './k8s-helpers.ts';
import { freePort } from '../../agent/util/net.ts';

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}


describe('Dockerfile', () => {
  const text = readFileSync('deploy/Dockerfile', 'utf8');
  const lines = text.split('\n').filter((l) => !l.trim().startsWith('#'));
  it('is multi-stage, non-root, without HEALTHCHECK, and runs the bundle', () => {
    const froms = lines.filter((l) => /^FROM /i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)).toMatch(/distroless\/nodejs/);
    const user = lines.filter((l) => /^USER /.test(l)).at(-1);
    expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/); // numeric, so runAsNonRoot can verify it
    expect(text).not.toMatch(/^HEALTHCHECK/m);
    expect(text).toMatch(/npm ci/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/build-bundle\.sh \/bundle/);
    expect(text).toMatch(/COPY --from=build [^\n]*\/bundle \/app/);
    expect(text).toMatch(/ENTRYPOINT \["\/nodejs\/bin\/node", "--max-semi-space-size=4", "\/app\/bin\/vigil\.js"\]/);
  });
  it('copies only paths that exist in the repository', () => {
    for (const l of lines) {
      const m = /^COPY (?!--from)(.+) \S+$/.exec(l);
      if (!m) continue;
      for (const src of m[1]!.split(/\s+/).filter((s) => !s.startsWith('--'))) expect(existsSync(src), `COPY ${src}`).toBe(true);
    }
  });
});

// The bundle the image ships, built by the same script outside Docker, must run on its own.
describe('production bundle (deploy/image/build-bundle.sh)', () => {
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-bundle-'));
    bundle = join(dir, 'app');
    await run('sh', ['deploy/image/build-bundle.sh', bundle], { timeout: 120_000, maxBuffer: 16 << 20 });
  }, 150_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds dist/, page assets and production dependencies only', () => {
    const files = walk(bundle).map((f) => relative(bundle, f));
    expect(files).toContain('bin/vigil.js');
    expect(files).toContain('dist/agent/cli/main.js');
    expect(files).toContain('dist/agent/ui/static/index.html');
    expect(files).toContain('dist/agent/ui/static/app.js');
    expect(files).toContain('node_modules/uplot/dist/uPlot.iife.min.js');
    expect(files.some((f) => f.startsWith('node_modules/@opentelemetry/sdk-metrics/'))).toBe(true);
    // No sources, tests, fixtures or dev tools.
    expect(files.filter((f) => f.startsWith('dist/') && /(?<!\.d)\.ts$/.test(f))).toEqual([]);
    expect(files.some((f) => f.startsWith('agent/') || f.startsWith('test/'))).toBe(false);
    expect(files.some((f) => f.includes('/testdata/'))).toBe(false);
    for (const dev of ['vitest', 'playwright-core', 'typescript', 'fast-check', 'prom-client']) {
      expect(existsSync(join(bundle, 'node_modules', dev)), dev).toBe(false);
    }
  });

  it('runs `vigil --help` from dist/', async () => {
    const { stdout } = await run(process.execPath, [join(bundle, 'bin/vigil.js'), '--help'], {
      env: { ...process.env, VIGIL_USE_DIST: '1' },
      cwd: dir,
      timeout: 30_000,
    });
    expect(stdout).toMatch(/Usage: vigil/);
    expect(stdout).toMatch(/run/);
    expect(stdout).toMatch(/check/);
  });

  it('starts the agent from the bundle: probes, /metrics and the live page answer', async () => {
    const port = await freePort();
    const cfg = join(dir, 'vigil.yaml');
    writeFileSync(
      cfg,
      `agent:\n  interval: 1s\n  data_dir: ${join(dir, 'data')}\nserver:\n  host: 127.0.0.1\n  port: ${port}\nplugins:\n  - use: system\n`,
    );
    const child = spawn(process.execPath, [join(bundle, 'bin/vigil.js'), 'run', '--config', cfg], {
      cwd: dir,
      env: { ...process.env, VIGIL_USE_DIST: '1', OTEL_EXPORTER_PROMETHEUS_PORT: '', OTEL_EXPORTER_PROMETHEUS_HOST: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      let ready = false;
      while (!ready && Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${stderr}`);
        ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 250));
      }
      expect(ready, stderr).toBe(true);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^system_/m);
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/ui/uplot.js');
      expect((await fetch(`${base}/ui/uplot.js`)).status).toBe(200);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 40_000);
});
