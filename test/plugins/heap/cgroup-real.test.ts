import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { checkDeclared, harness, pick, value, MiB } from './helpers.ts';

/**
 * This machine's real cgroup v1 memory controller (writable as root): a cgroup with a 64 MiB
 * limit, a child inside, usage/limit/utilization checked, then an allocation past the limit
 * and the kernel's OOM kill counted. Skipped, with the reason printed, where no memory cgroup
 * can be created (not root, cgroup v2 without delegation, read-only mount).
 */
const ROOT = '/sys/fs/cgroup';
const NAME = `vigil-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const DIR = `${ROOT}/memory/${NAME}`;
const LIMIT = 64 * MiB;

let skipReason: string | undefined;
try {
  if (!existsSync(`${ROOT}/memory/memory.limit_in_bytes`)) throw new Error(`no cgroup v1 memory controller at ${ROOT}/memory`);
  mkdirSync(DIR);
  writeFileSync(`${DIR}/memory.limit_in_bytes`, String(LIMIT));
  // Without a memsw limit a machine with swap would swap instead of OOM-killing.
  if (existsSync(`${DIR}/memory.memsw.limit_in_bytes`)) writeFileSync(`${DIR}/memory.memsw.limit_in_bytes`, String(LIMIT));
} catch (err) {
  skipReason = `cannot create a memory cgroup at ${DIR}: ${(err as Error).message}`;
  console.warn(`[heap cgroup-real] SKIPPED: ${skipReason}`);
  try {
    rmdirSync(DIR);
  } catch {
    // never created
  }
}

/** Allocates and touches 16 MiB per "a" line. */
const PY = `
import sys
keep = []
print("ready", flush=True)
for line in sys.stdin:
    keep.append(b"\\x07" * (16 * 1024 * 1024))
    print("ok %d" % (len(keep) * 16), flush=True)
`;

let child: ChildProcess | undefined;

/** rmdir with retries: the kernel needs a moment to uncharge a killed task. */
async function removeCgroup(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(DIR);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  if (!skipReason) {
    await removeCgroup();
    expect(existsSync(DIR)).toBe(false);
  }
});

describe('real cgroup v1 memory controller', () => {
  it.skipIf(skipReason !== undefined)('usage, limit, utilization of a child in a 64 MiB cgroup, then its OOM kill is counted', async () => {
    child = spawn('python3', ['-c', PY], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => (await lines.next()).value as string | undefined;
    expect(await next()).toBe('ready');
    await writeFile(`${DIR}/cgroup.procs`, String(child.pid));

    const h = harness({ process: [{ pid: child.pid!, name: 'py' }], cgroup: { path: `/${NAME}`, root: ROOT } });
    const C = { 'vigil.target': 'container' };
    const CS = { ...C, 'vigil.memory.scope': 'container' };
    const P = { 'vigil.target': 'py', 'process.pid': child.pid! };
    let s = await h.collect();
    checkDeclared(s);
    const u0 = value(s, 'container.memory.usage', C);
    expect(value(s, 'vigil.memory.limit', CS)).toBe(LIMIT);
    // The process is paired with its cgroup's limit.
    expect(value(s, 'vigil.memory.limit', { ...P, 'vigil.memory.scope': 'process' })).toBe(LIMIT);
    expect(value(s, 'vigil.container.memory.oom_kills', C)).toBe(0);

    for (let k = 1; k <= 2; k++) {
      child.stdin!.write('a\n');
      expect(await next()).toBe(`ok ${k * 16}`);
    }
    s = await h.collect();
    const usage = value(s, 'container.memory.usage', C);
    const ws = value(s, 'container.memory.working_set', C);
    expect(usage - u0).toBeGreaterThan(30 * MiB);
    expect(usage).toBeLessThanOrEqual(LIMIT);
    expect(ws).toBeLessThanOrEqual(usage);
    const util = value(s, 'vigil.memory.utilization', CS);
    expect(util).toBeCloseTo(ws / LIMIT, 9);
    expect(util).toBeGreaterThan(0.45);
    const level = value(s, 'vigil.memory.pressure.level', CS);
    expect(level).toBe(util >= 0.9 ? 3 : util >= 0.8 ? 2 : util >= 0.7 ? 1 : 0);
    expect(value(s, 'vigil.memory.utilization', { ...P, 'vigil.memory.scope': 'process' })).toBeCloseTo(
      value(s, 'process.memory.usage', P) / LIMIT,
      9,
    );

    // Past the limit: the kernel kills the child.
    for (let k = 0; k < 4 && child.exitCode === null && child.signalCode === null; k++) child.stdin!.write('a\n');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    expect(child.signalCode).toBe('SIGKILL');
    s = await h.collect();
    expect(value(s, 'vigil.container.memory.oom_kills', C)).toBe(1);
    expect(pick(s, 'process.memory.usage', P)).toHaveLength(0);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'process' })).toBe(0);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'cgroup' })).toBe(1);

    // The container restarts: its cgroup is removed (kept descriptors now read ENODEV) and
    // created again; the source reports it gone, then finds the new one.
    const h2 = harness({ cgroup: { path: `/${NAME}`, root: ROOT } });
    await h2.collect();
    await removeCgroup();
    await expect(h2.collect()).rejects.toThrow(new RegExp(`no memory cgroup at /${NAME}`));
    mkdirSync(DIR);
    writeFileSync(`${DIR}/memory.limit_in_bytes`, String(LIMIT / 2));
    s = await h2.collect();
    expect(value(s, 'vigil.memory.limit', CS)).toBe(LIMIT / 2);
    expect(value(s, 'vigil.container.memory.oom_kills', C)).toBe(0);
    await h2.stop();
  });

  it.skipIf(skipReason !== undefined)('auto mode (no source configured) reads the agent\'s own cgroup, as the default config does', async () => {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
    const own = `${ROOT}/memory${line!.split(':')[2]}`.replace(/\/$/, '');
    const h = harness({});
    const s = await h.collect();
    const truth = Number(readFileSync(`${own}/memory.usage_in_bytes`, 'utf8'));
    // Our own usage moves while we read it: within 16 MiB.
    expect(Math.abs(value(s, 'container.memory.usage', { 'vigil.target': 'container' }) - truth)).toBeLessThan(16 * MiB);
    await h.stop();
  });
});
