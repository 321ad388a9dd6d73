import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const VIGIL_BIN = join(REPO_ROOT, 'bin', 'vigil.js');

export interface VigilProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly configFile: string;
  logs(): string;
  /** Resident memory (bytes) and total CPU seconds of the vigil process, from /proc. */
  usage(): Promise<{ rssBytes: number; cpuSeconds: number }>;
  /** GET a JSON document from the agent's HTTP API. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

const CLK_TCK = 100;

/** Writes `config` as YAML and runs `node bin/vigil.js run --config <file>` as a real process. */
export async function startVigil(config: Record<string, unknown>, dir: string, port: number): Promise<VigilProcess> {
  const configFile = join(dir, 'vigil.yaml');
  await writeFile(configFile, stringify(config));
  const child = spawn(process.execPath, [VIGIL_BIN, 'run', '--config', configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, OTEL_SDK_DISABLED: undefined, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const proc: VigilProcess = {
    child,
    url,
    configFile,
    logs: () => out,
    async usage() {
      const pid = child.pid!;
      const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      return { rssBytes: rssKb * 1024, cpuSeconds };
    },
    async api<T>(path: string) {
      const res = await fetch(`${url}${path}`);
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
  // Ready when /readyz answers 200 (plugins collected once), or fail with the logs.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vigil exited with ${child.exitCode} before it was ready:\n${out}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`vigil not ready within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return proc;
}
