import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { REPO_ROOT, VIGIL_BIN, spawnVigil, type VigilProcess } from '../../agent/demo/vigil-process.ts';

export { freePort } from '../../agent/util/net.ts';
export { REPO_ROOT, VIGIL_BIN, spawnVigil };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the vigil CLI to completion. */
export async function runCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [VIGIL_BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A running `vigil run` child (agent/demo/vigil-process.ts) with its port and URL. */
export interface AgentProcess extends VigilProcess {
  port: number;
  url: string;
}

/** Runs `vigil run --config <file>` serving on 127.0.0.1:<port>; resolves once /healthz answers. */
export async function startAgentProcess(configFile: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const proc = spawnVigil(['run', '--config', configFile], { env: { OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(port), ...env } });
  const url = `http://127.0.0.1:${port}`;
  await proc.waitReady(`${url}/healthz`, 20_000);
  return Object.assign(proc, { port, url });
}
