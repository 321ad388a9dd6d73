/**
 * The long-running `nvidia-smi --query-gpu=... -lms N` child of loop mode: one process for the
 * agent's lifetime instead of one per interval. Delivers complete lines as they arrive;
 * restarts the child with exponential backoff when it exits; kills and restarts it when it
 * stalls (no output for `stallTimeoutMs`); remembers driver-failure messages so the plugin
 * can report `unavailable`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { failureMessage, spawnError, unavailableFrom } from './exec.ts';
import { killGroup, trackGroup, waitForExit } from './process-group.ts';

export interface LoopOptions {
  readonly binary: string;
  readonly args: readonly string[];
  /** No output for this long → the child is killed and restarted. */
  readonly stallTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** A child that lived this long resets the backoff (it was healthy, not crash-looping). */
  readonly healthyAfterMs?: number;
  /** Longest line accepted; longer ones are dropped as garbage. */
  readonly maxLineBytes?: number;
  onLine(line: string, receivedAt: number): void;
  /** Dropped output (over-long line, partial last line of a dying child). */
  onGarbage?(reason: string, text: string): void;
  /** Each end of a child: why it ended, and how long until the next start. */
  onExit?(info: LoopExit): void;
}

export interface LoopExit {
  readonly reason: 'exit' | 'stall' | 'spawn-error';
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly message: string;
  readonly restartInMs: number;
}

export class LoopRunner {
  private child: ChildProcess | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private partial = '';
  private tail = '';
  private failures = 0;
  private childStartedAt = 0;
  private stalled = false;
  /** Times the child was (re)started after the first start. */
  restarts = 0;
  /** Last time any output arrived (ms epoch); null before the first. */
  lastOutputAt: number | null = null;
  /** Set while the latest child failed with a driver/permission/missing-binary message. */
  unavailable: Error | null = null;
  /** The latest non-unavailable failure, for the plugin's error message. */
  lastError: Error | null = null;

  constructor(private readonly opts: LoopOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.stopping || this.child || this.restartTimer) return;
    this.spawnChild();
    const tick = Math.max(50, Math.min(1000, Math.floor(this.opts.stallTimeoutMs / 4)));
    this.watchdog = setInterval(() => this.checkStall(), tick);
    this.watchdog.unref();
  }

  private spawnChild(): void {
    this.partial = '';
    this.tail = '';
    this.stalled = false;
    this.childStartedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(this.opts.binary, [...this.opts.args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, shell: false });
    } catch (err) {
      this.onChildGone(null, null, null, spawnError(err as NodeJS.ErrnoException, this.opts.binary));
      return;
    }
    this.child = child;
    trackGroup(child);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.stderr!.on('data', (chunk: string) => this.keepTail(chunk));
    child.once('error', (e: NodeJS.ErrnoException) => {
      // Spawn failure (no 'exit' follows) or a kill error on a live child.
      if (child.pid === undefined) this.onChildGone(child, null, null, spawnError(e, this.opts.binary));
    });
    child.once('exit', (code, signal) => this.onChildGone(child, code, signal, null));
  }

  private keepTail(chunk: string): void {
    this.tail = (this.tail + chunk).slice(-4096);
  }

  private onData(chunk: string): void {
    const now = Date.now();
    this.lastOutputAt = now;
    this.keepTail(chunk);
    const max = this.opts.maxLineBytes ?? 256 * 1024;
    let buf = this.partial + chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      let line = buf.slice(0, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      buf = buf.slice(nl + 1);
      if (line.trim() !== '') {
        // Output flowing again clears a previous "unavailable" (driver came back).
        this.unavailable = null;
        try {
          this.opts.onLine(line, now);
        } catch (err) {
          this.opts.onGarbage?.(`line handler failed: ${err instanceof Error ? err.message : String(err)}`, line);
        }
      }
      nl = buf.indexOf('\n');
    }
    if (buf.length > max) {
      this.opts.onGarbage?.(`line longer than ${max} bytes without a newline`, buf.slice(0, 200));
      buf = '';
    }
    this.partial = buf;
  }

  private checkStall(): void {
    if (!this.child || this.stopping || this.stalled) return;
    const since = this.lastOutputAt !== null && this.lastOutputAt >= this.childStartedAt ? this.lastOutputAt : this.childStartedAt;
    if (Date.now() - since > this.opts.stallTimeoutMs) {
      this.stalled = true;
      this.lastError = new Error(`${this.opts.binary}: no output for ${Date.now() - since} ms (stalled), killed and restarting`);
      killGroup(this.child.pid, 'SIGKILL');
    }
  }

  private onChildGone(child: ChildProcess | null, code: number | null, signal: NodeJS.Signals | null, spawnErr: Error | null): void {
    if (child !== null && this.child !== child) return;
    this.child = null;
    if (child?.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    if (this.partial.trim() !== '') {
      // A child that died mid-line leaves half a row: never parse it as data.
      this.opts.onGarbage?.('incomplete last line from a child that ended', this.partial.slice(0, 200));
    }
    this.partial = '';
    if (this.stopping) return;

    let reason: LoopExit['reason'] = 'exit';
    let message: string;
    if (spawnErr) {
      reason = 'spawn-error';
      message = spawnErr.message;
      this.unavailable = spawnErr.name === 'PluginUnavailableError' ? spawnErr : null;
      if (!this.unavailable) this.lastError = spawnErr;
    } else if (this.stalled) {
      reason = 'stall';
      message = this.lastError?.message ?? 'stalled';
    } else {
      const unavailable = unavailableFrom(this.tail, this.opts.binary);
      message = `${this.opts.binary} exited with ${code ?? signal}${this.tail.trim() ? `: ${failureMessage(this.tail)}` : ''}`;
      if (unavailable) this.unavailable = unavailable;
      else this.lastError = new Error(message);
    }
    const lived = Date.now() - this.childStartedAt;
    if (lived >= (this.opts.healthyAfterMs ?? 60_000)) this.failures = 0;
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    this.opts.onExit?.({ reason, code, signal, message, restartInMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.restarts++;
      this.spawnChild();
    }, delay);
    this.restartTimer.unref();
  }

  /** Stops for good: kills the child's group and waits (bounded) for it to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.restartTimer = null;
    this.watchdog = null;
    const child = this.child;
    if (!child) return;
    killGroup(child.pid, 'SIGTERM');
    if (!(await waitForExit(child, 500))) {
      killGroup(child.pid, 'SIGKILL');
      await waitForExit(child, 1000);
    }
    this.child = null;
  }
}
