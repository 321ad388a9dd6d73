/**
 * One-shot nvidia-smi runs (`-q -x`, `--help-query-gpu`, `--query-compute-apps`): no shell
 * (argument list only), a hard timeout that kills the whole process group, capped output,
 * and at most one run per kind in flight (a second asks while one hangs → ExecBusyError,
 * never a pile-up of hung children).
 */
import { spawn } from 'node:child_process';
import { PluginUnavailableError } from '../../../agent/plugin/api.ts';
import { killGroup, trackGroup, waitForExit } from './process-group.ts';

export interface ExecOptions {
  readonly binary: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
  /** Aborts the run (kills the group) when fired, e.g. the host's collection timeout. */
  readonly signal?: AbortSignal;
  /** Output beyond this is a failure (a runaway child must not eat the agent's memory). */
  readonly maxOutputBytes?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
}

export class ExecTimeoutError extends Error {
  override readonly name = 'ExecTimeoutError';
}

export class ExecBusyError extends Error {
  override readonly name = 'ExecBusyError';
}

export class ExecFailedError extends Error {
  override readonly name = 'ExecFailedError';
  constructor(
    message: string,
    readonly result: ExecResult,
  ) {
    super(message);
  }
}

const DRIVER_FAILURE_RE =
  /NVIDIA-SMI has failed|couldn't communicate with the NVIDIA driver|No devices were found|Driver\/library version mismatch|Insufficient Permissions|Permission denied|Failed to initialize NVML|NVML library not found|Unable to load the NVIDIA kernel module/i;

/** First meaningful lines of nvidia-smi's complaint, for the plugin status (bounded). */
export function failureMessage(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const msg = lines.slice(0, 3).join(' ');
  return msg.length > 300 ? `${msg.slice(0, 299)}…` : msg;
}

/**
 * The "nothing to watch here" failures: driver not loaded or not talking, no GPU, no
 * permission. Returns the error to throw, or null when the text shows none of them.
 */
export function unavailableFrom(text: string, binary: string): PluginUnavailableError | null {
  if (!DRIVER_FAILURE_RE.test(text)) return null;
  return new PluginUnavailableError(`${binary}: ${failureMessage(text)}`);
}

/** Spawn failures: a missing or non-executable binary is "unavailable", not "failing". */
export function spawnError(err: NodeJS.ErrnoException, binary: string): Error {
  if (err.code === 'ENOENT') return new PluginUnavailableError(`${binary} not found (is the NVIDIA driver installed and ${binary} on PATH?)`, { cause: err });
  if (err.code === 'EACCES' || err.code === 'EPERM') return new PluginUnavailableError(`${binary}: permission denied`, { cause: err });
  return new Error(`${binary}: could not start: ${err.message}`, { cause: err });
}

/** Runs the binary once. Rejects on spawn failure, timeout, abort or oversize output. */
export function execOnce(opts: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const max = opts.maxOutputBytes ?? 32 * 1024 * 1024;
  return new Promise<ExecResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new ExecTimeoutError(`${opts.binary} ${opts.args.join(' ')}: aborted before start`));
      return;
    }
    const child = spawn(opts.binary, [...opts.args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, shell: false });
    trackGroup(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: Error | null = null;
    let settled = false;

    const stop = (why: Error): void => {
      if (failure) return;
      failure = why;
      killGroup(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => stop(new ExecTimeoutError(`${opts.binary} ${opts.args.join(' ')}: no answer within ${opts.timeoutMs} ms, killed`)), opts.timeoutMs);
    const onAbort = (): void => stop(new ExecTimeoutError(`${opts.binary} ${opts.args.join(' ')}: aborted (collection timeout), killed`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout!.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > max) stop(new Error(`${opts.binary}: output over ${max} bytes, killed`));
      else out.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      // stderr only feeds error messages; keep its head.
      if (errBytes < 64 * 1024) err.push(b);
      errBytes += b.length;
    });

    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };

    child.once('error', (e: NodeJS.ErrnoException) => {
      // Spawn failed (ENOENT/EACCES): no process exists, nothing to reap.
      finish(() => reject(spawnError(e, opts.binary)));
    });
    child.once('exit', (code, signal) => {
      // A grandchild may still hold the pipes open; do not wait for 'close' forever.
      killGroup(child.pid, 'SIGKILL');
      const collect = (): void =>
        finish(() => {
          if (failure) {
            reject(failure);
            return;
          }
          resolve({
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
            code,
            signal,
            durationMs: Date.now() - started,
          });
        });
      // Let buffered pipe data arrive, but bounded.
      let pending = 2;
      const done = (): void => {
        if (--pending === 0) {
          clearTimeout(grace);
          collect();
        }
      };
      const grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        collect();
      }, 200);
      if (child.stdout!.readableEnded || child.stdout!.destroyed) done();
      else child.stdout!.once('close', done);
      if (child.stderr!.readableEnded || child.stderr!.destroyed) done();
      else child.stderr!.once('close', done);
    });
  });
}

/**
 * At most one run per kind in flight. A second request while one is still running fails
 * at once with ExecBusyError: the hung run is killed by its own timeout, and callers never
 * stack up children behind it.
 */
export class ExecGate {
  private readonly inFlight = new Map<string, { since: number; done: Promise<unknown> }>();

  busy(kind: string): boolean {
    return this.inFlight.has(kind);
  }

  async run(kind: string, opts: ExecOptions): Promise<ExecResult> {
    const cur = this.inFlight.get(kind);
    if (cur) throw new ExecBusyError(`${opts.binary} ${kind}: previous run still in flight for ${Date.now() - cur.since} ms`);
    const p = execOnce(opts);
    const entry = { since: Date.now(), done: p };
    this.inFlight.set(kind, entry);
    try {
      return await p;
    } finally {
      this.inFlight.delete(kind);
    }
  }

  /** Waits for every in-flight run to end (each is bounded by its own timeout). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()].map((e) => e.done));
  }
}

/**
 * Checks a finished run: driver failure text → PluginUnavailableError; other non-zero exit
 * → ExecFailedError with nvidia-smi's message; success → the result.
 */
export function checkResult(r: ExecResult, binary: string, what: string): ExecResult {
  const all = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0) {
    const unavailable = unavailableFrom(all, binary);
    if (unavailable) throw unavailable;
    throw new ExecFailedError(`${binary} ${what} exited with ${r.code ?? r.signal}: ${failureMessage(r.stderr || r.stdout) || 'no output'}`, r);
  }
  // Some failures exit 0 and say so on stdout (old drivers); only when the output is that alone.
  if (r.stdout.length < 2000) {
    const unavailable = unavailableFrom(all, binary);
    if (unavailable) throw unavailable;
  }
  return r;
}

export { waitForExit };
