import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '../../../agent/util/net.ts';
export { freePort } from '../../../agent/util/net.ts';


async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

async function startProcess(cmd: string, args: string[], port: number, url: string): Promise<TestServer> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`${cmd} exited early: ${stderr}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Own redis-server on a free loopback port, no persistence. */
export async function startRedis(extraArgs: string[] = [], port?: number): Promise<TestServer> {
  const p = port ?? (await freePort());
  return startProcess('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], p, `redis://127.0.0.1:${p}`);
}

/** Own memcached on a free loopback port (TCP only). */
export async function startMemcached(extraArgs: string[] = [], port?: number): Promise<TestServer> {
  const p = port ?? (await freePort());
  return startProcess('/usr/bin/memcached', ['-l', '127.0.0.1', '-p', String(p), '-U', '0', '-u', 'root', ...extraArgs], p, `127.0.0.1:${p}`);
}

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A logger that records what it was told, to check that errors are logged (once). */
export function recordingLogger() {
  const lines: { level: string; obj: unknown; msg?: string }[] = [];
  const mk = (level: string) => (obj: object | string, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error') } };
}

/** Own redis-server speaking TLS only, on a free port; certificates signed by `caFile`. */
export async function startRedisTls(files: { cert: string; key: string; ca: string }): Promise<TestServer> {
  const p = await freePort();
  return startProcess(
    'redis-server',
    ['--port', '0', '--tls-port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', files.ca, '--tls-auth-clients', 'no'],
    p,
    `rediss://127.0.0.1:${p}`,
  );
}

/** Own nats-server on a free loopback port. */
export async function startNats(extraArgs: string[] = []): Promise<TestServer> {
  const p = await freePort();
  return startProcess('nats-server', ['-a', '127.0.0.1', '-p', String(p), ...extraArgs], p, `nats://127.0.0.1:${p}`);
}
