/**
 * Children run in their own process group (spawn `detached`) so that a wrapper script and
 * everything it started can be killed together: `kill(-pgid)`. Every live group is also
 * killed if the agent exits, so no nvidia-smi outlives it.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<number>();
let hooked = false;

function killAllOnExit(): void {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function trackGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  live.add(child.pid);
  if (!hooked) {
    hooked = true;
    process.once('exit', killAllOnExit);
  }
  const pid = child.pid;
  child.once('exit', () => {
    // The leader is gone; kill stragglers of its group (e.g. a `sleep` a script started).
    killGroup(pid, 'SIGKILL');
    live.delete(pid);
  });
}

/** Sends a signal to a whole process group; never throws. */
export function killGroup(pgid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Resolves when the child has exited (immediately if it already has), or after `maxMs`. */
export function waitForExit(child: ChildProcess, maxMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, maxMs);
    const onExit = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}
