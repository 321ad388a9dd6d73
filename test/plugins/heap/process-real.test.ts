import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isUnavailableError } from '../../../agent/plugin/api.ts';
import { checkDeclared, harness, pick, value, MiB } from './helpers.ts';

/** A child that allocates and touches 25 MiB per "a" line on stdin and answers "ok <MiB>". */
const ALLOCATOR = `
const keep = [];
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l === 'a') { keep.push(Buffer.allocUnsafe(25 * 1024 * 1024).fill(7)); }
  console.log('ok ' + keep.length * 25);
});
console.log('ready');
`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startAllocator(marker: string) {
  const child = spawn(process.execPath, ['-e', ALLOCATOR, marker], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  expect(await next()).toBe('ready');
  return {
    child,
    pid: child.pid!,
    async step(cmd: string) {
      child.stdin!.write(`${cmd}\n`);
      return next();
    },
  };
}

describe('process source against real processes', () => {
  it('follows a child allocating 200 MiB in steps; its series end when it exits; a new match is picked up', async () => {
    const marker = `vigil-alloc-${Math.random().toString(36).slice(2)}`;
    const a = await startAllocator(marker);
    // A cgroup source next to it keeps the plugin collecting after the process is gone.
    const h = harness({ process: [{ match: marker, name: 'alloc' }], cgroup: { from: 'self' }, scan_interval: '1h' });
    const P = { 'vigil.target': 'alloc', 'process.pid': a.pid };
    let s = await h.collect();
    checkDeclared(s);
    const rss0 = value(s, 'process.memory.usage', P);
    const anon0 = value(s, 'vigil.process.memory.rss', { ...P, 'vigil.memory.type': 'anon' });
    for (let k = 1; k <= 8; k++) {
      expect(await a.step('a')).toBe(`ok ${k * 25}`);
      s = await h.collect();
      const grown = value(s, 'process.memory.usage', P) - rss0;
      // Each step touches 25 MiB of fresh anonymous memory: RSS follows within 10 MiB.
      expect(Math.abs(grown - k * 25 * MiB)).toBeLessThan(10 * MiB);
      expect(Math.abs(value(s, 'vigil.process.memory.rss', { ...P, 'vigil.memory.type': 'anon' }) - anon0 - k * 25 * MiB)).toBeLessThan(10 * MiB);
    }
    expect(value(s, 'vigil.process.memory.peak', P)).toBeGreaterThanOrEqual(rss0 + 190 * MiB);
    expect(value(s, 'process.paging.faults', { ...P, 'process.paging.fault_type': 'minor' })).toBeGreaterThan((200 * MiB) / 4096 / 2);

    a.child.kill('SIGKILL');
    await once(a.child, 'exit');
    const warnsBefore = h.logger.lines.filter((l) => l.level === 'warn').length;
    for (let i = 0; i < 3; i++) {
      s = await h.collect();
      expect(pick(s, 'process.memory.usage', { 'vigil.target': 'alloc' })).toHaveLength(0);
      expect(value(s, 'container.memory.usage', { 'vigil.target': 'container' })).toBeGreaterThan(0);
    }
    // One warning for "no process matches", not one per collection.
    expect(h.logger.lines.filter((l) => l.level === 'warn').length - warnsBefore).toBe(1);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'process', 'vigil.target': 'alloc' })).toBe(0);

    // The app restarts: found again on the next collection despite the 1 h scan interval.
    const b = await startAllocator(marker);
    s = await h.collect();
    expect(value(s, 'process.memory.usage', { 'vigil.target': 'alloc', 'process.pid': b.pid })).toBeGreaterThan(10 * MiB);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'process', 'vigil.target': 'alloc' })).toBe(1);
    expect(h.logger.lines.some((l) => l.level === 'info' && JSON.stringify(l).includes('recovered'))).toBe(true);
  });

  it('a pid that does not exist: unavailable with the pid named, no crash', async () => {
    // pid_max is at most 2^22; this pid cannot exist.
    const h = harness({ process: [{ pid: 4194304 + 7 }] });
    const err = await h.collect().catch((e: unknown) => e);
    expect(isUnavailableError(err)).toBe(true);
    expect(String(err)).toContain('pid 4194311: no such process');
  });

  it('detects pid reuse through a stale pid file, and follows a pid file that is rewritten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-heap-'));
    try {
      const a = await startAllocator('vigil-pidfile-a');
      const file = join(dir, 'app.pid');
      await writeFile(file, `${a.pid}\n`);
      const h = harness({ process: [{ pid_file: file }], cgroup: { from: 'self' } });
      let s = await h.collect();
      expect(value(s, 'process.memory.usage', { 'vigil.target': 'app', 'process.pid': a.pid })).toBeGreaterThan(0);

      // The file was written an hour before the process it names started: that pid was reused.
      const past = new Date(Date.now() - 3_600_000);
      await utimes(file, past, past);
      s = await h.collect();
      expect(pick(s, 'process.memory.usage', { 'vigil.target': 'app' })).toHaveLength(0);
      expect(h.instance.errors().join()).toMatch(new RegExp(`names pid ${a.pid}, but that process .* started at .*after the file was written.*pid reused`));

      // The app restarted and rewrote its pid file: the new process is followed.
      const b = await startAllocator('vigil-pidfile-b');
      await writeFile(file, `${b.pid}\n`);
      s = await h.collect();
      expect(pick(s, 'process.memory.usage', { 'vigil.target': 'app', 'process.pid': b.pid })).toHaveLength(1);
      expect(pick(s, 'process.memory.usage', { 'process.pid': a.pid })).toHaveLength(0);
      expect(h.instance.errors()).toEqual([]);

      await writeFile(file, 'not-a-pid\n');
      s = await h.collect();
      expect(h.instance.errors().join()).toContain('holds "not-a-pid", expected a pid');
      expect(value(s, 'container.memory.usage', { 'vigil.target': 'container' })).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
