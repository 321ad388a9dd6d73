import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isGone } from './read.ts';

const BUF_SIZE = 16 * 1024;

/**
 * Reads procfs/cgroupfs files through descriptors kept open between collections: these files
 * regenerate their content on every read from offset 0, so one pread per collection replaces
 * open + fstat + read + close. Measured here: ~36 µs of CPU per file instead of ~220 µs with
 * fs/promises readFile. A kept descriptor of an exited process reads ESRCH (never the pid's next
 * owner), one of a removed cgroup ENODEV; either closes it and the path is opened afresh once.
 */
export class KeptFiles {
  private readonly fds = new Map<string, Promise<number>>();
  /** Files too large for one buffer: read the ordinary way. */
  private readonly large = new Set<string>();
  private readonly buffers: Buffer[] = [];

  constructor(private readonly maxOpen = 512) {}

  readonly read = async (path: string): Promise<string> => {
    if (this.large.has(path)) return readFile(path, 'latin1');
    let fdp = this.fds.get(path);
    const fresh = fdp === undefined;
    if (fdp === undefined) {
      if (this.fds.size >= this.maxOpen) return readFile(path, 'latin1');
      const opening = openFd(path);
      fdp = opening;
      this.fds.set(path, opening);
      opening.catch(() => {
        if (this.fds.get(path) === opening) this.fds.delete(path);
      });
    }
    try {
      return await this.readFd(await fdp, path);
    } catch (err) {
      this.close(path);
      if (!fresh && isGone(err)) return this.read(path); // stale descriptor: once more, freshly opened
      throw err;
    }
  };

  private async readFd(fd: number, path: string): Promise<string> {
    const buf = this.buffers.pop() ?? Buffer.allocUnsafe(BUF_SIZE);
    try {
      const n = await new Promise<number>((resolve, reject) =>
        fs.read(fd, buf, 0, BUF_SIZE, 0, (err, bytes) => (err ? reject(err) : resolve(bytes))),
      );
      if (n === BUF_SIZE) {
        this.large.add(path);
        this.close(path);
        return readFile(path, 'latin1');
      }
      return buf.toString('latin1', 0, n);
    } finally {
      this.buffers.push(buf);
    }
  }

  close(path: string): void {
    const fdp = this.fds.get(path);
    if (fdp === undefined) return;
    this.fds.delete(path);
    fdp.then(
      (fd) => fs.close(fd, () => {}),
      () => {},
    );
  }

  /** Closes every kept file under a directory (a process that exited, a cgroup given up). */
  closeUnder(dir: string): void {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const path of [...this.fds.keys()]) if (path.startsWith(prefix)) this.close(path);
  }

  closeAll(): void {
    for (const path of [...this.fds.keys()]) this.close(path);
  }

  get openCount(): number {
    return this.fds.size;
  }
}

function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}
