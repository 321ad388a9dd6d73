import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';

/** Where the cgroup v1 memory controller is mounted on the machines this runs on. */
export const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';

/** A memory cgroup (v1) created for one scenario, with its limit; removed by `remove()`. */
export interface MemoryCgroup {
  /** Path inside the hierarchy, e.g. `/vigil-e2e-3fa2c1` (what the heap plugin's `cgroup.path` takes). */
  readonly path: string;
  /** Its directory, e.g. `/sys/fs/cgroup/memory/vigil-e2e-3fa2c1`. */
  readonly dir: string;
  readonly limitBytes: number;
  /** Spawns a command whose process starts inside this cgroup (moved in before exec). */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  usageBytes(): Promise<number>;
  /** The kernel's OOM-kill count for this cgroup (memory.oom_control `oom_kill`). */
  oomKills(): Promise<number>;
  /** Kills whatever is still inside and removes the directory. Never throws. */
  remove(): Promise<void>;
}

/** Why a memory cgroup cannot be created here, or undefined when it can. */
export async function cgroupUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  try {
    await access(`${V1_MEMORY_ROOT}/memory.limit_in_bytes`, constants.R_OK);
  } catch {
    return `no cgroup v1 memory controller at ${V1_MEMORY_ROOT}`;
  }
  try {
    await access(V1_MEMORY_ROOT, constants.W_OK);
  } catch {
    return `${V1_MEMORY_ROOT} is not writable (run as root)`;
  }
  return undefined;
}

export async function createMemoryCgroup(limitBytes: number, prefix = 'vigil-e2e'): Promise<MemoryCgroup> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const dir = `${V1_MEMORY_ROOT}/${name}`;
  await mkdir(dir);
  try {
    await writeFile(`${dir}/memory.limit_in_bytes`, String(limitBytes));
    // No swap: the limit is what the app gets (the swappiness file is absent on some kernels).
    await writeFile(`${dir}/memory.swappiness`, '0').catch(() => {});
  } catch (err) {
    await rmdir(dir).catch(() => {});
    throw new Error(`cannot set the limit of ${dir}: ${(err as Error).message}`);
  }
  return {
    path: `/${name}`,
    dir,
    limitBytes,
    spawn(command, args, options = {}) {
      // The shell moves itself into the cgroup, then execs the command (same pid, already inside).
      return spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', `${dir}/cgroup.procs`, command, ...args], options);
    },
    async usageBytes() {
      return Number((await readFile(`${dir}/memory.usage_in_bytes`, 'utf8')).trim());
    },
    async oomKills() {
      const text = await readFile(`${dir}/memory.oom_control`, 'utf8');
      const m = /^oom_kill (\d+)$/m.exec(text);
      return m ? Number(m[1]) : 0;
    },
    async remove() {
      for (let attempt = 0; attempt < 50; attempt++) {
        let pids: number[] = [];
        try {
          pids = (await readFile(`${dir}/cgroup.procs`, 'utf8')).split('\n').filter(Boolean).map(Number);
        } catch {
          return; // already gone
        }
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // exited meanwhile
          }
        }
        try {
          await rmdir(dir);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}
