import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Sample } from '../../../agent/plugin/api.ts';
import { pick, value, MiB } from './helpers.ts';

/**
 * Unreadable /proc/<pid> files. The tests run as root, which reads any file whatever its mode,
 * so the collection runs in a child started as `nobody` (uid 65534): then /proc/1/fd and
 * /proc/1/smaps_rollup (ptrace-checked) and a fixture directory of mode 000 really fail with
 * EACCES. Skipped, with the reason printed, when the runner cannot switch users.
 */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./run-as.mts', import.meta.url));
const TD = fileURLToPath(new URL('../../../plugins/heap/testdata/', import.meta.url));
const NOBODY = 65534;
const skipReason = process.getuid?.() !== 0 ? 'not running as root: cannot start a child as nobody' : undefined;
if (skipReason) console.warn(`[heap permissions] SKIPPED: ${skipReason}`);

interface Outcome {
  uid: number;
  samples: Sample[] | null;
  error: string | null;
  logs: { what?: string; err?: string; target?: string }[];
}

async function collectAs(uid: number, options: object): Promise<Outcome> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(options)], {
    cwd: REPO,
    uid,
    gid: uid,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/tmp' },
  });
  return JSON.parse(stdout) as Outcome;
}

let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('permission failures reading /proc', () => {
  it.skipIf(skipReason !== undefined)('an unprivileged agent watching pid 1: optional files denied, the rest reported', async () => {
    const out = await collectAs(NOBODY, { process: [{ pid: 1, name: 'init' }] });
    expect(out.uid).toBe(NOBODY);
    expect(out.error).toBeNull();
    const s = out.samples!;
    expect(value(s, 'process.memory.usage', { 'vigil.target': 'init' })).toBeGreaterThan(0);
    expect(pick(s, 'process.unix.file_descriptor.count')).toHaveLength(0);
    expect(pick(s, 'vigil.process.memory.pss')).toHaveLength(0);
    const warned = out.logs.map((l) => l.err ?? '').join('\n');
    expect(warned).toContain('permission denied reading /proc/1/fd (EACCES)');
    expect(warned).toContain('permission denied reading /proc/1/smaps_rollup (EACCES)');
  });

  it.skipIf(skipReason !== undefined)('a /proc/<pid> directory of mode 000: that process fails with the path named, the cgroup source keeps working', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vigil-heap-perm-'));
    await cp(`${TD}v2`, `${tmp}/v2`, { recursive: true });
    await chmod(tmp, 0o755);
    await chmod(`${tmp}/v2/proc/4242`, 0o000);
    const out = await collectAs(NOBODY, {
      proc_root: `${tmp}/v2/proc`,
      process: [{ pid: 4242, name: 'app' }],
      cgroup: { from: 'path', path: '/kubepods/pod1/limited', root: `${tmp}/v2/sys/fs/cgroup` },
    });
    expect(out.error).toBeNull();
    const s = out.samples!;
    expect(pick(s, 'process.memory.usage')).toHaveLength(0);
    expect(value(s, 'vigil.heap.source.up', { 'vigil.source': 'process' })).toBe(0);
    expect(value(s, 'container.memory.usage', { 'vigil.target': 'container' })).toBe(100 * MiB);
    const failed = out.logs.find((l) => l.target === 'app');
    expect(failed?.err).toMatch(/permission denied reading .*\/v2\/proc\/4242\/(stat|status) \(EACCES\)/);
  });
});
