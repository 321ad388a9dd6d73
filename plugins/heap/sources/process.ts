import { readdir, stat as fsStat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Attributes } from '../../../agent/plugin/api.ts';
import type { Batch } from '../batch.ts';
import type { ProcessTarget } from '../config.ts';
import { A, M } from '../metrics.ts';
import { KeptFiles } from '../kept-files.ts';
import { describeFsError, isDenied, isGone, readText } from '../read.ts';
import { effectiveLimit, locateByPid, type CgroupLocation } from './cgroup.ts';
import {
  CLOCK_TICKS_PER_SECOND,
  parseBootTime,
  parseMaxOpenFiles,
  parseSmapsPss,
  parseStat,
  parseStatus,
} from './procfs.ts';

export interface ProcessSourceOptions {
  readonly procRoot: string;
  readonly cgroupRoot: string;
  readonly scanIntervalMs: number;
  readonly smapsRollup: boolean;
  /** smaps_rollup walks the process's page tables (~2 ms for a Node.js process here): read it this often. */
  readonly smapsIntervalMs: number;
  readonly fileDescriptors: boolean;
  /** Explicit container limit (memory_limit / memory_limit_env) used as every process's limit. */
  readonly limitOverride: number | undefined;
  /** Our own pid, never matched by `match` targets (the agent's command line may match). */
  readonly selfPid: number;
}

/** What we remember about a process between collections; reset when its start time changes. */
interface Known {
  starttime: number;
  /** Its memory cgroup, null when not visible (then it has no limit unless configured). */
  cgroup: CgroupLocation | null | undefined;
  fdLimit: number | undefined;
  fdLimitReadAt: number;
  pss: number | undefined;
  pssReadAt: number;
  oomScore: number | undefined;
  oomScoreReadAt: number;
}

interface Candidate {
  readonly pid: number;
  /** Configured name, or undefined to use the process's comm. */
  readonly name: string | undefined;
  /** For pid files: the file's mtime; a process started later is a reused pid. */
  readonly notStartedAfter?: { readonly file: string; readonly mtimeMs: number };
  /** Chosen by a regex on its command line, which a new owner of the pid may not match. */
  readonly matched?: boolean;
}

const FD_LIMIT_TTL_MS = 60_000;
const CMDLINE_TTL_SCANS = 6;
/** oom_score moves with memory use but slowly matters: one read per process every 5 s. */
const OOM_SCORE_TTL_MS = 5000;
/** Boot time has 1 s resolution and the pid file is written after start: allow this much skew. */
const START_SKEW_MS = 2000;

/** The process source: resolves targets (pid, pid file, regex) and reads /proc/<pid>/* for each. */
export class ProcessSource {
  private readonly known = new Map<number, Known>();
  private bootTimeMs: number | undefined;
  private readonly regexes: (RegExp | undefined)[];
  /**
   * match scanning: comm + command line by pid, so a scan reads only new pids; an entry is read
   * again after CMDLINE_TTL_SCANS scan intervals, which catches a process that exec'd into the
   * target (`sh -c 'exec node server.js'`) under the same pid.
   */
  private readonly cmdlines = new Map<number, { text: string; readAt: number }>();
  private readonly matched = new Map<number, number[]>();
  private lastScan = -Infinity;
  private rescan = true;
  private first: number | undefined;
  private readonly files = new KeptFiles(1024);

  constructor(
    private readonly targets: readonly ProcessTarget[],
    private readonly o: ProcessSourceOptions,
  ) {
    this.regexes = targets.map((t) => (t.match !== undefined ? new RegExp(t.match) : undefined));
  }

  /** The first running target's pid (for the cgroup source's `from: process`). */
  firstPid(): number | undefined {
    return this.first;
  }

  async collect(batch: Batch, now: number): Promise<void> {
    if (this.targets.some((t) => t.match !== undefined) && (this.rescan || now - this.lastScan >= this.o.scanIntervalMs)) {
      await this.scan(batch);
      this.lastScan = now;
      this.rescan = false;
    }
    const limitMemo = new Map<string, Promise<number | undefined>>();
    const seen = new Set<number>();
    const results = await Promise.all(
      this.targets.map((t, i) => this.collectTarget(t, i, batch, limitMemo, seen)),
    );
    this.first = results.find((p) => p !== undefined);
    for (const pid of this.known.keys()) {
      if (!seen.has(pid)) {
        this.known.delete(pid);
        this.files.closeUnder(`${this.o.procRoot}/${pid}`);
      }
    }
  }

  stop(): void {
    this.files.closeAll();
  }

  private targetLabel(t: ProcessTarget): string {
    return t.name ?? (t.pid !== undefined ? `pid ${t.pid}` : t.pid_file !== undefined ? t.pid_file : `/${t.match}/`);
  }

  /** Returns the first pid read successfully. */
  private async collectTarget(
    t: ProcessTarget,
    i: number,
    batch: Batch,
    limitMemo: Map<string, Promise<number | undefined>>,
    seen: Set<number>,
  ): Promise<number | undefined> {
    const label = this.targetLabel(t);
    let candidates: Candidate[];
    try {
      candidates = await this.resolve(t, i);
    } catch (err) {
      batch.fail('process', label, (err as Error).message, isGone(err) || (err as { unavailable?: boolean }).unavailable === true);
      return undefined;
    }
    if (candidates.length === 0) {
      // While nothing matches, look again every collection (cheap: only new pids are read).
      this.rescan = true;
      batch.fail('process', label, `no running process matches /${t.match}/`, true);
      return undefined;
    }
    let outcomes = await Promise.all(candidates.map((c) => this.readProcess(c, batch, limitMemo, seen)));
    if (t.match !== undefined && outcomes.every((e) => e?.gone)) {
      // Every matched process exited: look for its successor now rather than a scan later.
      await this.scan(batch);
      this.lastScan = Date.now();
      candidates = await this.resolve(t, i);
      if (candidates.length === 0) {
        this.rescan = true;
        batch.fail('process', label, `no running process matches /${t.match}/`, true);
        return undefined;
      }
      outcomes = await Promise.all(candidates.map((c) => this.readProcess(c, batch, limitMemo, seen)));
    }
    const okPid = candidates.find((_, k) => outcomes[k] === undefined)?.pid;
    if (okPid !== undefined) {
      batch.ok('process', label);
      // Failures of some of several matched processes are warnings (usually one just exited).
      outcomes.forEach((e, k) => {
        if (e !== undefined && !e.gone) batch.warn(`process:${label}:${candidates[k]!.pid}`, e.message);
      });
      if (outcomes.some((e) => e?.gone)) this.rescan = true;
      return okPid;
    }
    const e = outcomes[0]!;
    if (t.match !== undefined) this.rescan = true;
    batch.fail('process', label, candidates.length > 1 ? `${e.message} (and ${candidates.length - 1} more)` : e.message, e.gone);
    return undefined;
  }

  private async resolve(t: ProcessTarget, i: number): Promise<Candidate[]> {
    if (t.pid !== undefined) return [{ pid: t.pid, name: t.name }];
    if (t.pid_file !== undefined) {
      const file = t.pid_file;
      let text: string;
      let mtimeMs: number;
      try {
        [text, { mtimeMs }] = await Promise.all([readText(file), fsStat(file)]);
      } catch (err) {
        throw Object.assign(new Error(`pid file: ${describeFsError(err, file)}`), { unavailable: isGone(err) });
      }
      const pid = Number(text.trim());
      if (!Number.isInteger(pid) || pid <= 0) {
        throw new Error(`pid file ${file} holds ${JSON.stringify(text.trim().slice(0, 40))}, expected a pid`);
      }
      return [{ pid, name: t.name ?? basename(file).replace(/\.pid$/, ''), notStartedAfter: { file, mtimeMs } }];
    }
    return (this.matched.get(i) ?? []).map((pid) => ({ pid, name: t.name, matched: true }));
  }

  /** Reads the /proc listing; reads comm+cmdline only of pids not seen before. */
  private async scan(batch: Batch): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.o.procRoot);
    } catch (err) {
      batch.warn('process:scan', describeFsError(err, this.o.procRoot));
      return;
    }
    const live = new Set<number>();
    const fresh: number[] = [];
    const now = Date.now();
    const ttl = this.o.scanIntervalMs * CMDLINE_TTL_SCANS;
    for (const e of entries) {
      const c = e.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(e);
      if (!Number.isInteger(pid) || pid === this.o.selfPid) continue;
      live.add(pid);
      const cached = this.cmdlines.get(pid);
      if (cached === undefined || now - cached.readAt >= ttl) fresh.push(pid);
    }
    for (const pid of this.cmdlines.keys()) if (!live.has(pid)) this.cmdlines.delete(pid);
    await Promise.all(
      fresh.map(async (pid) => {
        try {
          const [comm, cmd] = await Promise.all([
            readText(`${this.o.procRoot}/${pid}/comm`),
            readText(`${this.o.procRoot}/${pid}/cmdline`),
          ]);
          // Kernel threads have an empty command line: never targets.
          const text = cmd === '' ? '' : `${comm.trim()}\n${cmd.replaceAll('\0', ' ').trim()}`;
          this.cmdlines.set(pid, { text, readAt: now });
        } catch {
          // Exited between listing and reading, or not readable: not a candidate this time.
        }
      }),
    );
    this.matched.clear();
    this.regexes.forEach((re, i) => {
      if (!re) return;
      const pids: number[] = [];
      for (const [pid, { text }] of this.cmdlines) {
        if (text === '') continue;
        const nl = text.indexOf('\n');
        if (re.test(text.slice(0, nl)) || re.test(text.slice(nl + 1))) pids.push(pid);
      }
      this.matched.set(i, pids.sort((a, b) => a - b));
    });
  }

  private async bootTime(): Promise<number> {
    if (this.bootTimeMs === undefined) {
      const bt = parseBootTime(await readText(`${this.o.procRoot}/stat`));
      if (bt === undefined) throw new Error(`no btime line in ${this.o.procRoot}/stat`);
      this.bootTimeMs = bt * 1000;
    }
    return this.bootTimeMs;
  }

  /** Reads one process; returns undefined on success, else why not (gone = no such process). */
  private async readProcess(
    c: Candidate,
    batch: Batch,
    limitMemo: Map<string, Promise<number | undefined>>,
    seen: Set<number>,
  ): Promise<{ message: string; gone: boolean } | undefined> {
    const base = `${this.o.procRoot}/${c.pid}`;
    const now = Date.now();
    let known = this.known.get(c.pid);
    const wantLimits = this.o.fileDescriptors && (known === undefined || now - known.fdLimitReadAt > FD_LIMIT_TTL_MS);
    const wantSmaps = this.o.smapsRollup && (known === undefined || now - known.pssReadAt >= this.o.smapsIntervalMs);
    const wantOom = known === undefined || now - known.oomScoreReadAt >= OOM_SCORE_TTL_MS;
    const read = this.files.read;
    const soft = <T>(what: string, p: Promise<T>): Promise<T | undefined> =>
      p.catch((err: unknown) => {
        // Optional detail: a process that exits mid-read or a file we may not read costs only this value.
        if (!isGone(err)) batch.warn(`process:${what}`, describeFsError(err, what));
        return undefined;
      });
    let statT: string;
    let statusT: string;
    let smapsT: string | undefined;
    let oomT: string | undefined;
    let fds: string[] | undefined;
    let limitsT: string | undefined;
    try {
      [statT, statusT, smapsT, oomT, fds, limitsT] = await Promise.all([
        read(`${base}/stat`),
        read(`${base}/status`),
        wantSmaps ? soft(`${base}/smaps_rollup`, readText(`${base}/smaps_rollup`)) : undefined,
        wantOom ? soft(`${base}/oom_score`, read(`${base}/oom_score`)) : undefined,
        this.o.fileDescriptors ? soft(`${base}/fd`, readdir(`${base}/fd`)) : undefined,
        wantLimits ? soft(`${base}/limits`, readText(`${base}/limits`)) : undefined,
      ]);
    } catch (err) {
      if (isGone(err)) return { message: `pid ${c.pid}: no such process`, gone: true };
      const path = (err as { path?: string }).path ?? base;
      return { message: describeFsError(err, path), gone: false };
    }
    const st = parseStat(statT);
    if (!st) return { message: `${base}/stat: unexpected content ${JSON.stringify(statT.slice(0, 40))}`, gone: false };

    if (c.notStartedAfter) {
      const startedMs = (await this.bootTime()) + (st.starttime / CLOCK_TICKS_PER_SECOND) * 1000;
      if (startedMs > c.notStartedAfter.mtimeMs + START_SKEW_MS) {
        return {
          message:
            `pid file ${c.notStartedAfter.file} names pid ${c.pid}, but that process (${st.comm}) started at ` +
            `${new Date(startedMs).toISOString()}, after the file was written at ` +
            `${new Date(c.notStartedAfter.mtimeMs).toISOString()}: stale pid file, pid reused`,
          gone: true,
        };
      }
    }

    if (c.matched && known !== undefined && known.starttime !== st.starttime) {
      // The matched process exited and its pid was reused: the newcomer's command line must be
      // matched again before it is reported.
      this.cmdlines.delete(c.pid);
      this.known.delete(c.pid);
      return { message: `pid ${c.pid}: reused by another process`, gone: true };
    }
    if (known === undefined || known.starttime !== st.starttime) {
      // New process, or the pid now belongs to a different process: forget the old one's state.
      known = {
        starttime: st.starttime,
        cgroup: undefined,
        fdLimit: undefined,
        fdLimitReadAt: -Infinity,
        pss: undefined,
        pssReadAt: -Infinity,
        oomScore: undefined,
        oomScoreReadAt: -Infinity,
      };
      this.known.set(c.pid, known);
    }
    seen.add(c.pid);
    if (limitsT !== undefined) {
      known.fdLimit = parseMaxOpenFiles(limitsT);
      known.fdLimitReadAt = now;
    }

    const s = parseStatus(statusT);
    const attrs: Attributes = { [A.target]: c.name ?? st.comm, [A.pid]: c.pid };
    batch.add(M.processRss, s.rss, attrs);
    batch.add(M.processVirtual, s.vmSize, attrs);
    batch.add(M.processRssBreakdown, s.rssAnon, { ...attrs, [A.memType]: 'anon' });
    batch.add(M.processRssBreakdown, s.rssFile, { ...attrs, [A.memType]: 'file' });
    batch.add(M.processRssBreakdown, s.rssShmem, { ...attrs, [A.memType]: 'shmem' });
    batch.add(M.processPeak, s.hwm, attrs);
    batch.add(M.processSwap, s.swap, attrs);
    batch.add(M.processThreads, s.threads, attrs);
    if (smapsT !== undefined) {
      known.pss = parseSmapsPss(smapsT);
      known.pssReadAt = now;
    }
    if (this.o.smapsRollup) batch.add(M.processPss, known.pss, attrs);
    if (oomT !== undefined) {
      known.oomScore = Number.parseInt(oomT, 10);
      known.oomScoreReadAt = now;
    }
    batch.add(M.processOomScore, known.oomScore, attrs);
    if (fds !== undefined) batch.add(M.processFds, fds.length, attrs);
    batch.add(M.processFdLimit, known.fdLimit, attrs);
    batch.add(M.processFaults, st.minflt, { ...attrs, [A.processFault]: 'minor' });
    batch.add(M.processFaults, st.majflt, { ...attrs, [A.processFault]: 'major' });

    if (s.rss !== undefined) {
      const limit = this.o.limitOverride ?? (await this.cgroupLimit(c.pid, known, limitMemo));
      batch.scope({ scope: 'process', attributes: attrs, usage: s.rss, limit });
    }
    return undefined;
  }

  /** The limit of the process's memory cgroup, read once per cgroup per collection. */
  private async cgroupLimit(
    pid: number,
    known: Known,
    memo: Map<string, Promise<number | undefined>>,
  ): Promise<number | undefined> {
    if (known.cgroup === undefined) {
      try {
        known.cgroup = await locateByPid(this.o.procRoot, this.o.cgroupRoot, pid, false);
      } catch {
        known.cgroup = null; // not visible from here: no limit unless memory_limit is configured
      }
    }
    const loc = known.cgroup;
    if (loc === null) return undefined;
    let p = memo.get(loc.dir);
    if (!p) {
      p = effectiveLimit(loc, this.files.read).then(
        (l) => (Number.isFinite(l) ? l : undefined),
        (err: unknown) => {
          if (isGone(err)) known.cgroup = undefined;
          else if (isDenied(err)) known.cgroup = null;
          return undefined;
        },
      );
      memo.set(loc.dir, p);
    }
    return p;
  }
}
