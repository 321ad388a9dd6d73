import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../persist.ts';

/**
 * Append-only JSON-lines journal. Appends issued in the same tick are written together, and
 * fsync'd when any of them asked for it (a notification being accepted). A crash can leave a
 * torn last line: replay skips it. Compaction rewrites the live records to a temp file, fsyncs
 * it and renames it over the journal, so the journal is always either the old or the new one.
 */
export class Journal<R> {
  private fh: FileHandle | undefined;
  private tail: Promise<void> = Promise.resolve();
  private queue: string[] = [];
  private needSync = false;
  /** Records written since the last compaction (for the compaction heuristic). */
  written = 0;
  /** Torn or corrupt lines skipped at replay. */
  skipped = 0;

  constructor(
    readonly path: string,
    private readonly fsync: boolean,
  ) {}

  /** Reads every record, then opens the journal for appending. */
  async open(): Promise<R[]> {
    await mkdir(dirname(this.path), { recursive: true });
    const records: R[] = [];
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${this.path}: cannot read outbox journal: ${(err as Error).message}`);
    }
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) {
        // No newline: the append was torn by a crash; the record was never acknowledged.
        this.skipped++;
        break;
      }
      const line = text.slice(start, end);
      start = end + 1;
      if (line.length === 0) continue;
      try {
        records.push(JSON.parse(line) as R);
      } catch {
        this.skipped++;
      }
    }
    this.written = records.length;
    this.fh = await open(this.path, 'a');
    if (this.skipped > 0 && !text.endsWith('\n')) await this.fh.write('\n');
    return records;
  }

  /** Appends records; the promise settles once they are written (and fsync'd when `sync`). */
  append(records: readonly R[], sync: boolean): Promise<void> {
    for (const r of records) this.queue.push(`${JSON.stringify(r)}\n`);
    if (sync && this.fsync) this.needSync = true;
    const p = this.tail.then(() => this.flush());
    this.tail = p.catch(() => {});
    return p;
  }

  /** Replaces the journal's content with `records` (the live state). */
  compact(records: () => readonly R[]): Promise<void> {
    const p = this.tail.then(async () => {
      await this.flush();
      const tmp = `${this.path}.compact`;
      const out = await open(tmp, 'w');
      const live = records();
      try {
        await out.writeFile(live.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
        if (this.fsync) await out.sync();
      } finally {
        await out.close();
      }
      await this.fh?.close();
      await rename(tmp, this.path);
      if (this.fsync) await syncDir(dirname(this.path));
      this.fh = await open(this.path, 'a');
      this.written = live.length;
    });
    this.tail = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.flush().catch(() => {});
    await this.fh?.close();
    this.fh = undefined;
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0 && !this.needSync) return;
    const text = this.queue.join('');
    const sync = this.needSync;
    this.queue = [];
    this.needSync = false;
    if (!this.fh) throw new Error(`${this.path}: outbox journal is not open`);
    if (text.length > 0) {
      await this.fh.write(text);
      this.written += text.split('\n').length - 1;
    }
    if (sync) await this.fh.datasync();
  }
}
