import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUnavailableError } from '../../../agent/plugin/api.ts';
import { checkDeclared, harness, pick, value, MiB } from './helpers.ts';

const TD = fileURLToPath(new URL('../../../plugins/heap/testdata/', import.meta.url));
const v2 = { proc_root: `${TD}v2/proc`, root: `${TD}v2/sys/fs/cgroup` };
const v1 = { proc_root: `${TD}v1/proc`, root: `${TD}v1/sys/fs/cgroup` };
const C = { 'vigil.target': 'container' };
const scope = { ...C, 'vigil.memory.scope': 'container' };

describe('cgroup v2 fixture', () => {
  it('reads usage, working set, stat, events, PSI, and takes the pod limit above an unlimited container', async () => {
    const h = harness({ proc_root: v2.proc_root, cgroup: { from: 'self', root: v2.root } });
    const s = await h.collect();
    checkDeclared(s);
    expect(value(s, 'container.memory.usage', C)).toBe(314572800);
    // working set = memory.current - inactive_file
    expect(value(s, 'container.memory.working_set', C)).toBe(314572800 - 62914560);
    expect(value(s, 'container.memory.rss', C)).toBe(209715200);
    expect(value(s, 'vigil.container.memory.stat', { ...C, 'vigil.memory.type': 'kernel' })).toBe(8388608);
    expect(value(s, 'vigil.container.memory.stat', { ...C, 'vigil.memory.type': 'sock' })).toBe(4096);
    expect(value(s, 'vigil.container.memory.swap', C)).toBe(MiB);
    expect(value(s, 'vigil.container.memory.high', C)).toBe(400000000);
    expect(value(s, 'vigil.container.memory.events', { ...C, 'vigil.memory.event': 'high' })).toBe(12);
    expect(value(s, 'vigil.container.memory.events', { ...C, 'vigil.memory.event': 'oom' })).toBe(2);
    expect(value(s, 'vigil.container.memory.oom_kills', C)).toBe(2);
    expect(value(s, 'vigil.container.memory.pressure.stall', { ...C, 'vigil.psi.stall': 'some', 'vigil.psi.window': '10s' })).toBeCloseTo(0.015);
    expect(value(s, 'vigil.container.memory.pressure.stall_time', { ...C, 'vigil.psi.stall': 'full' })).toBeCloseTo(0.456789);
    expect(value(s, 'container.memory.paging.faults', { ...C, 'system.paging.fault.type': 'major' })).toBe(789);
    expect(value(s, 'container.memory.paging.faults', { ...C, 'system.paging.fault.type': 'minor' })).toBe(123456 - 789);
    // memory.max is `max` here; the pod's 512 MiB above it is the effective limit.
    expect(value(s, 'vigil.memory.limit', scope)).toBe(512 * MiB);
    const u = value(s, 'vigil.memory.utilization', scope);
    expect(u).toBeCloseTo((314572800 - 62914560) / (512 * MiB), 6);
    expect(value(s, 'vigil.memory.pressure.level', scope)).toBe(0); // 0.47: low
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'cgroup' })).toBe(1);
    // The garbage line in memory.stat is skipped and reported once, the rest of the file is used.
    const warns = h.logger.lines.filter((l) => l.level === 'warn');
    expect(JSON.stringify(warns)).toContain('1 malformed line(s)');
    await h.collect();
    expect(h.logger.lines.filter((l) => l.level === 'warn')).toHaveLength(warns.length);
  });

  it('takes the cgroup from a process target (from: process) and from an explicit path', async () => {
    const h = harness({ proc_root: v2.proc_root, cgroup: { from: 'path', path: '/kubepods/pod1/limited', root: v2.root } });
    const s = await h.collect();
    expect(value(s, 'container.memory.usage', C)).toBe(100 * MiB);
    // No memory.stat: working set falls back to usage; the optional files' absence is no error.
    expect(value(s, 'container.memory.working_set', C)).toBe(100 * MiB);
    expect(value(s, 'vigil.memory.limit', scope)).toBe(256 * MiB);
    expect(pick(s, 'vigil.container.memory.stat')).toHaveLength(0);
    expect(h.logger.lines.filter((l) => l.level === 'warn')).toHaveLength(0);
  });

  it('keeps the good files of a cgroup whose memory.stat is unreadable and whose events/high are garbage', async () => {
    const h = harness({ proc_root: v2.proc_root, cgroup: { path: '/kubepods/pod1/broken', root: v2.root } });
    const s = await h.collect();
    checkDeclared(s);
    expect(value(s, 'container.memory.usage', C)).toBe(50 * MiB);
    expect(value(s, 'vigil.memory.limit', scope)).toBe(128 * MiB);
    expect(value(s, 'vigil.container.memory.events', { ...C, 'vigil.memory.event': 'high' })).toBe(1);
    expect(pick(s, 'vigil.container.memory.oom_kills')).toHaveLength(0); // "oom_kill x" is garbage
    expect(pick(s, 'vigil.container.memory.high')).toHaveLength(0);
    const warned = JSON.stringify(h.logger.lines.filter((l) => l.level === 'warn'));
    expect(warned).toContain('broken/memory.stat');
    expect(warned).toContain('EISDIR');
    expect(warned).toContain('broken/memory.high');
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'cgroup' })).toBe(1);
  });

  it('reports pressure levels at the configured thresholds', async () => {
    // limited: 100 MiB of 256 MiB = 0.39; thresholds moved below it make it critical.
    const h = harness({
      proc_root: v2.proc_root,
      cgroup: { path: '/kubepods/pod1/limited', root: v2.root },
      pressure_thresholds: { medium: 0.1, high: 0.2, critical: 0.3 },
    });
    expect(value(await h.collect(), 'vigil.memory.pressure.level', scope)).toBe(3);
    const bad = (await import('../../../plugins/heap/index.ts')).default.parseOptions({
      pressure_thresholds: { medium: 0.9, high: 0.8, critical: 0.95 },
    });
    expect(bad.ok).toBe(false);
  });

  it('an explicit memory_limit_env wins over the cgroup limit; a bad env value is reported', async () => {
    const h = harness(
      { proc_root: v2.proc_root, cgroup: { path: '/kubepods/pod1/limited', root: v2.root }, memory_limit_env: 'APP_MEM' },
      { APP_MEM: '200Mi' },
    );
    expect(value(await h.collect(), 'vigil.memory.limit', scope)).toBe(200 * MiB);
    const bad = harness(
      { proc_root: v2.proc_root, cgroup: { path: '/kubepods/pod1/limited', root: v2.root }, memory_limit_env: 'APP_MEM' },
      { APP_MEM: 'lots' },
    );
    expect(value(await bad.collect(), 'vigil.memory.limit', scope)).toBe(256 * MiB);
    expect(JSON.stringify(bad.logger.lines)).toContain('APP_MEM=\\"lots\\" is not a size');
  });
});

describe('process fixture (same code path, proc_root pointed at testdata)', () => {
  it('reads status/stat/smaps_rollup/limits/fd, and takes the cgroup (and so the limit) from the process', async () => {
    const h = harness({ proc_root: v2.proc_root, process: [{ pid: 4242, name: 'app' }], cgroup: { root: v2.root } });
    const s = await h.collect();
    checkDeclared(s);
    const P = { 'vigil.target': 'app', 'process.pid': 4242 };
    expect(value(s, 'process.memory.usage', P)).toBe(100 * MiB);
    expect(value(s, 'process.memory.virtual', P)).toBe(1024 * MiB);
    expect(value(s, 'vigil.process.memory.rss', { ...P, 'vigil.memory.type': 'anon' })).toBe(80 * MiB);
    expect(value(s, 'vigil.process.memory.rss', { ...P, 'vigil.memory.type': 'shmem' })).toBe(2 * MiB);
    expect(value(s, 'vigil.process.memory.peak', P)).toBe(150000 * 1024);
    expect(value(s, 'vigil.process.memory.swap', P)).toBe(512 * 1024);
    expect(value(s, 'vigil.process.memory.pss', P)).toBe(90000 * 1024);
    expect(value(s, 'process.thread.count', P)).toBe(7);
    expect(value(s, 'process.unix.file_descriptor.count', P)).toBe(3);
    expect(value(s, 'vigil.process.file_descriptor.limit', P)).toBe(1024);
    expect(value(s, 'process.paging.faults', { ...P, 'process.paging.fault_type': 'minor' })).toBe(1500);
    expect(value(s, 'process.paging.faults', { ...P, 'process.paging.fault_type': 'major' })).toBe(25);
    expect(value(s, 'vigil.process.oom_score', P)).toBe(600);
    // The process is in /kubepods/pod1/limited (256 MiB): its RSS is paired with that limit,
    expect(value(s, 'vigil.memory.limit', { ...P, 'vigil.memory.scope': 'process' })).toBe(256 * MiB);
    expect(value(s, 'vigil.memory.utilization', { ...P, 'vigil.memory.scope': 'process' })).toBeCloseTo(100 / 256, 6);
    // and the cgroup source (from: auto with a process target = from: process) reads that cgroup.
    expect(value(s, 'container.memory.usage', C)).toBe(100 * MiB);
  });

  it('reports a garbage stat file with its path; the other target keeps working', async () => {
    const h = harness({ proc_root: v2.proc_root, process: [{ pid: 4343 }, { pid: 4242 }] });
    const s = await h.collect();
    expect(value(s, 'process.memory.usage', { 'process.pid': 4242 })).toBe(100 * MiB);
    expect(pick(s, 'process.memory.usage', { 'process.pid': 4343 })).toHaveLength(0);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.target': 'pid 4343' })).toBe(0);
    expect(h.instance.errors().join()).toMatch(/4343\/stat: unexpected content/);
  });
});

describe('match targets and pid reuse (fixture copy rewritten between collections)', () => {
  it('drops a matched pid whose process was replaced by one that no longer matches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-heap-reuse-'));
    try {
      await cp(`${TD}v2`, `${dir}/v2`, { recursive: true });
      const proc = `${dir}/v2/proc`;
      const h = harness({ proc_root: proc, process: [{ match: 'server\\.js', name: 'web' }], scan_interval: '10ms' });
      let s = await h.collect();
      expect(value(s, 'process.memory.usage', { 'vigil.target': 'web', 'process.pid': 4242 })).toBe(100 * MiB);
      // pid 4242 now belongs to another program: new start time, other command line.
      const stat = await readFile(`${proc}/4242/stat`, 'utf8');
      await writeFile(`${proc}/4242/stat`, stat.replace(' 12345 ', ' 99999 '));
      await writeFile(`${proc}/4242/cmdline`, 'cron\0-f\0');
      await writeFile(`${proc}/4242/comm`, 'cron\n');
      const err = await h.collect().catch((e: unknown) => e);
      expect(isUnavailableError(err)).toBe(true);
      expect(String(err)).toContain('no running process matches /server\\.js/');
      // The process exec's into the app (same pid, same start time): its cached command line
      // expires after 6 scan intervals and it is matched again.
      await writeFile(`${proc}/4242/cmdline`, 'node\0server.js\0');
      await new Promise((r) => setTimeout(r, 80));
      s = await h.collect();
      expect(value(s, 'process.memory.usage', { 'vigil.target': 'web', 'process.pid': 4242 })).toBe(100 * MiB);
      await h.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cgroup v1 fixture', () => {
  it('reads a hybrid host\'s v1 memory controller: usage, working set, limit, failcnt, oom_kill, swap', async () => {
    const h = harness({ proc_root: v1.proc_root, cgroup: { root: v1.root } });
    const s = await h.collect();
    checkDeclared(s);
    expect(value(s, 'container.memory.usage', C)).toBe(200 * MiB);
    expect(value(s, 'container.memory.working_set', C)).toBe(200 * MiB - 40 * MiB);
    expect(value(s, 'container.memory.rss', C)).toBe(144 * MiB);
    expect(value(s, 'vigil.container.memory.stat', { ...C, 'vigil.memory.type': 'file' })).toBe(50 * MiB);
    expect(value(s, 'vigil.container.memory.oom_kills', C)).toBe(3);
    expect(value(s, 'vigil.container.memory.under_oom', C)).toBe(0);
    expect(value(s, 'vigil.container.memory.events', { ...C, 'vigil.memory.event': 'max' })).toBe(4);
    expect(value(s, 'vigil.container.memory.swap', C)).toBe(2 * MiB);
    expect(value(s, 'vigil.memory.limit', scope)).toBe(256 * MiB);
    expect(value(s, 'vigil.memory.utilization', scope)).toBeCloseTo(160 / 256, 6);
    expect(value(s, 'vigil.memory.pressure.level', scope)).toBe(0);
  });

  it('treats the huge v1 limit as unlimited: no limit, utilization or pressure', async () => {
    const h = harness({ proc_root: v1.proc_root, cgroup: { path: '/unlimited', root: v1.root } });
    const s = await h.collect();
    expect(value(s, 'container.memory.working_set', C)).toBe(9 * MiB);
    expect(pick(s, 'vigil.memory.limit')).toHaveLength(0);
    expect(pick(s, 'vigil.memory.utilization')).toHaveLength(0);
  });

  it('fails with the file named when the usage file holds garbage', async () => {
    const h = harness({ proc_root: v1.proc_root, cgroup: { path: '/garbage', root: v1.root } });
    await expect(h.collect()).rejects.toThrow(/garbage\/memory.usage_in_bytes: expected a number, got "garbage"/);
  });

  it('is unavailable when there is no cgroup filesystem at root', async () => {
    const h = harness({ proc_root: v1.proc_root, cgroup: { root: `${TD}does-not-exist` } });
    const err = await h.collect().catch((e: unknown) => e);
    expect(isUnavailableError(err)).toBe(true);
    expect(String(err)).toContain('not visible');
  });

  it('refuses a cgroup path that leaves the hierarchy', async () => {
    const h = harness({ proc_root: v1.proc_root, cgroup: { path: '/../../etc', root: v1.root } });
    await expect(h.collect()).rejects.toThrow(/leaves the hierarchy/);
  });
});
