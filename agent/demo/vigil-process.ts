import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/*
 * One way to run the real `vigil` CLI as a child process, for the demo, the tests and the
 * benches: output collected, log lines awaited, readiness polled, usage read from /proc.
 */

export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const VIGIL_BIN = join(REPO_ROOT, 'bin', 'vigil.js');

export interface VigilProcess {
  readonly child: ChildProcess;
  /** Exit code (null when killed by a signal), once it has exited. */
  readonly exited: Promise<number | null>;
  /** stdout and stderr so far, interleaved. */
  logs(): string;
  /** Resolves with the first log line matching `re`; rejects after `timeoutMs` or if vigil exits first. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Polls `url` until it answers 2xx; throws with the logs if vigil exits or the time runs out. */
  waitReady(url: string, timeoutMs?: number): Promise<void>;
  /** Resident memory (bytes) and total CPU seconds of the process, from /proc. */
  usage(): Promise<{ rssBytes: number; cpuSeconds: number }>;
  /** Sends `signal` (SIGKILL after 10 s) and returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnVigilOptions {
  readonly cwd?: string;
  /** Added to (or, when a value is undefined, removed from) this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
}

const CLK_TCK = 100;

/** Runs `node bin/vigil.js <args>`. */
export function spawnVigil(args: readonly string[], opts: SpawnVigilOptions = {}): VigilProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [VIGIL_BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const proc: VigilProcess = {
    child,
    exited,
    logs: () => out,
    waitForLog(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const done = (): void => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          const line = out.split('\n').find((l) => re.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no vigil log line matching ${re} within ${timeoutMs} ms; logs:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (!waiters.has(check)) return;
          check();
          if (!waiters.has(check)) return;
          done();
          reject(new Error(`vigil exited (${code}) with no log line matching ${re}; logs:\n${out.slice(-3000)}`));
        });
      });
    },
    async waitReady(url, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`vigil exited with ${child.exitCode ?? child.signalCode} before ${url} answered:\n${out}`);
        try {
          if ((await fetch(url)).ok) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) {
          await proc.stop('SIGKILL');
          throw new Error(`vigil: ${url} did not answer within ${timeoutMs} ms:\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async usage() {
      const pid = child.pid!;
      const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      return { rssBytes: rssKb * 1024, cpuSeconds };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return proc;
}

/** A `vigil run` started by the demo: its config file, HTTP base URL and JSON API. */
export interface DemoVigil extends VigilProcess {
  readonly url: string;
  readonly configFile: string;
  /** GET a JSON document from the agent's HTTP API. */
  api<T>(path: string): Promise<T>;
}

/** Writes `config` as YAML and runs `vigil run --config <file>`; resolves once /readyz answers. */
export async function startVigil(config: Record<string, unknown>, dir: string, port: number): Promise<DemoVigil> {
  const configFile = join(dir, 'vigil.yaml');
  await writeFile(configFile, stringify(config));
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnVigil(['run', '--config', configFile], { env: { OTEL_SDK_DISABLED: undefined, NODE_OPTIONS: '' } });
  await proc.waitReady(`${url}/readyz`, 30_000);
  return Object.assign(proc, {
    url,
    configFile,
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${url}${path}`);
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  });
}
