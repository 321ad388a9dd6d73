import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptFiles } from '../../../plugins/heap/kept-files.ts';

const openFds = async () => (await readdir('/proc/self/fd')).length;

describe('KeptFiles (descriptors kept open across collections)', () => {
  it('re-reads fresh content through the kept descriptor, and closes it when the process exits', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const files = new KeptFiles();
    const fds0 = await openFds();
    const path = `/proc/${child.pid}/status`;
    const a = await files.read(path);
    expect(a).toContain(`Pid:\t${child.pid}`);
    expect(files.openCount).toBe(1);
    expect(await openFds()).toBe(fds0 + 1);
    expect(await files.read(path)).toContain('State:'); // same descriptor, read again from offset 0
    expect(files.openCount).toBe(1);

    child.kill('SIGKILL');
    await once(child, 'exit');
    // The kept descriptor reads ESRCH; it is closed, the path is tried once afresh (ENOENT).
    await expect(files.read(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(files.openCount).toBe(0);
    await new Promise((r) => setTimeout(r, 20)); // close() is asynchronous
    expect(await openFds()).toBe(fds0);
  });

  it('sees rewritten content, falls back for large files, and closes by directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-kept-'));
    try {
      const files = new KeptFiles();
      await writeFile(join(dir, 'a'), '1\n');
      await writeFile(join(dir, 'big'), 'x'.repeat(40_000));
      expect(await files.read(join(dir, 'a'))).toBe('1\n');
      await writeFile(join(dir, 'a'), '22\n'); // truncate + write: same inode
      expect(await files.read(join(dir, 'a'))).toBe('22\n');
      expect((await files.read(join(dir, 'big'))).length).toBe(40_000);
      expect((await files.read(join(dir, 'big'))).length).toBe(40_000);
      expect(files.openCount).toBe(1); // the large file is not kept
      files.closeUnder(dir);
      expect(files.openCount).toBe(0);
      await expect(files.read(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(files.openCount).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
