import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Attributes } from '../../../agent/plugin/api.ts';
import type { Batch } from '../batch.ts';
import type { CgroupOptions } from '../config.ts';
import { A, M } from '../metrics.ts';
import { KeptFiles } from '../kept-files.ts';
import { describeFsError, errnoOf, isGone, readText, type ReadText } from '../read.ts';
import { parseProcCgroup } from './procfs.ts';
import {
  GarbageError,
  STAT_TYPES_V1,
  STAT_TYPES_V2,
  parseKeyed,
  parseMaxFile,
  parseNumberFile,
  parsePsi,
  parseV1Limit,
  v1Stat,
} from './cgroup-parse.ts';

/** Where a memory cgroup's files are. */
export interface CgroupLocation {
  readonly version: 1 | 2;
  /** Directory holding memory.current (v2) or memory.usage_in_bytes (v1). */
  readonly dir: string;
  /** Mount point of the hierarchy; limits are looked up from dir up to here. */
  readonly mount: string;
}

/** Why a cgroup could not be located; `unavailable` when there is simply none to see. */
export class LocateError extends Error {
  override readonly name = 'LocateError';
  constructor(
    message: string,
    readonly unavailable: boolean,
  ) {
    super(message);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

const USAGE_FILE = { 1: 'memory.usage_in_bytes', 2: 'memory.current' } as const;

/** Locates a cgroup given by its path in the hierarchy (`/kubepods/...`), v2 first, then v1. */
export async function locateByPath(root: string, path: string): Promise<CgroupLocation> {
  if (path.split('/').includes('..')) throw new LocateError(`cgroup path ${path} leaves the hierarchy`, false);
  const rel = path === '/' ? '' : path.replace(/\/+$/, '');
  if (await exists(`${root}${rel}/memory.current`)) return { version: 2, dir: `${root}${rel}`, mount: root };
  if (await exists(`${root}/memory${rel}/memory.usage_in_bytes`)) {
    return { version: 1, dir: `${root}/memory${rel}`, mount: `${root}/memory` };
  }
  const hasFs = (await exists(`${root}/cgroup.controllers`)) || (await exists(`${root}/memory`));
  throw new LocateError(
    hasFs
      ? `no memory cgroup at ${path} under ${root} (neither ${root}${rel}/memory.current nor ${root}/memory${rel}/memory.usage_in_bytes)`
      : `no cgroup filesystem with a memory controller at ${root}`,
    true,
  );
}

/**
 * Locates the memory cgroup of a process from /proc/<pid>/cgroup: cgroup v1 when a `memory`
 * controller line exists and is mounted under root (hybrid hosts also show a `0::` line for a
 * v2 hierarchy without the memory controller), else v2.
 *
 * `selfFallback`: inside a container without a cgroup namespace, /proc/self/cgroup names the
 * host path (`/docker/<id>`) while the container's own cgroup is mounted at the mount point;
 * only for the agent's own cgroup is the mount point a safe guess (for another process it would
 * silently report the agent's container instead of the app's).
 */
export async function locateByPid(
  procRoot: string,
  root: string,
  pid: number | 'self',
  selfFallback: boolean,
): Promise<CgroupLocation> {
  const file = `${procRoot}/${pid}/cgroup`;
  let text: string;
  try {
    text = await readText(file);
  } catch (err) {
    throw new LocateError(describeFsError(err, file), isGone(err));
  }
  const cg = parseProcCgroup(text);
  const candidates: CgroupLocation[] = [];
  const v1 = cg.v1.get('memory');
  const outside = (p: string) => p.split('/').includes('..');
  if (v1 !== undefined && (await exists(`${root}/memory`))) {
    const mount = `${root}/memory`;
    if (!outside(v1)) candidates.push({ version: 1, dir: `${mount}${v1 === '/' ? '' : v1}`, mount });
    if (selfFallback) candidates.push({ version: 1, dir: mount, mount });
  } else if (cg.v2 !== undefined) {
    if (!outside(cg.v2)) candidates.push({ version: 2, dir: `${root}${cg.v2 === '/' ? '' : cg.v2}`, mount: root });
    if (selfFallback) candidates.push({ version: 2, dir: root, mount: root });
  }
  for (const c of candidates) if (await exists(`${c.dir}/${USAGE_FILE[c.version]}`)) return c;
  const shown = v1 !== undefined ? `memory:${v1}` : cg.v2 !== undefined ? `0::${cg.v2}` : 'no memory cgroup line';
  const why =
    cg.v2 === '/' && v1 === undefined
      ? 'it is the root cgroup (no container to watch)'
      : 'not visible there (another cgroup namespace? mount the host cgroup fs and set cgroup.root, or use memory_limit_env)';
  throw new LocateError(`cgroup of pid ${pid} (${shown}) under ${root}: ${why}`, true);
}

/** The effective limit: the lowest limit from the cgroup up to the mount (parents cap children). */
export async function effectiveLimit(loc: CgroupLocation, read: ReadText = readText): Promise<number> {
  if (loc.version === 1) {
    const [ownT, statT] = await Promise.all([read(`${loc.dir}/memory.limit_in_bytes`), read(`${loc.dir}/memory.stat`)]);
    const own = parseV1Limit(ownT);
    const stat = parseKeyed(statT).values;
    const hier = stat.get('hierarchical_memory_limit');
    return Math.min(own, hier !== undefined && hier < 2 ** 62 ? hier : Infinity);
  }
  let limit = Infinity;
  for (let d = loc.dir; ; d = dirname(d)) {
    try {
      limit = Math.min(limit, parseMaxFile(await read(`${d}/memory.max`)));
    } catch (err) {
      // The true root cgroup has no memory.max; a missing file above the container is no limit.
      if (!isGone(err)) throw err;
    }
    if (d === loc.mount || d.length <= loc.mount.length || d === dirname(d)) break;
  }
  return limit;
}

/** Reads one file; on failure records a warning and returns undefined (optional files). */
async function optional(batch: Batch, path: string, read: ReadText): Promise<string | undefined> {
  try {
    return await read(path);
  } catch (err) {
    if (!isGone(err)) batch.warn(`cgroup:${path}`, describeFsError(err, path));
    return undefined;
  }
}

function keyed(batch: Batch, path: string, text: string | undefined): Map<string, number> {
  if (text === undefined) return new Map();
  const { values, malformed } = parseKeyed(text);
  if (malformed > 0) batch.warn(`cgroup:${path}:garbage`, `${malformed} malformed line(s) in ${path} skipped`);
  return values;
}

async function required(path: string, parse: (t: string) => number, read: ReadText): Promise<number> {
  const text = await read(path);
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof GarbageError) throw new GarbageError(`${path}: ${err.message}`);
    throw err;
  }
}

function optionalNumber(batch: Batch, path: string, text: string | undefined, parse: (t: string) => number): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (err) {
    batch.warn(`cgroup:${path}:garbage`, `${path}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Reads a located cgroup into the batch; returns the working set and effective limit.
 * Throws only when the usage file itself cannot be read (the cgroup is gone or unreadable).
 */
export async function readCgroup(
  loc: CgroupLocation,
  batch: Batch,
  attrs: Attributes,
  read: ReadText = readText,
): Promise<{ workingSet: number; limit: number }> {
  return loc.version === 2 ? readV2(loc, batch, attrs, read) : readV1(loc, batch, attrs, read);
}

async function readV2(loc: CgroupLocation, batch: Batch, attrs: Attributes, read: ReadText) {
  const d = loc.dir;
  const [usage, statT, eventsT, highT, swapT, psiT, limit] = await Promise.all([
    required(`${d}/memory.current`, parseNumberFile, read),
    optional(batch, `${d}/memory.stat`, read),
    optional(batch, `${d}/memory.events`, read),
    optional(batch, `${d}/memory.high`, read),
    optional(batch, `${d}/memory.swap.current`, read),
    optional(batch, `${d}/memory.pressure`, read),
    effectiveLimit(loc, read).catch((err: unknown) => {
      batch.warn(`cgroup:${d}:limit`, `reading memory.max up from ${d}: ${(err as Error).message}`);
      return Infinity;
    }),
  ]);
  const stat = keyed(batch, `${d}/memory.stat`, statT);
  const inactiveFile = stat.get('inactive_file');
  const workingSet = Math.max(0, usage - (inactiveFile ?? 0));
  batch.add(M.containerUsage, usage, attrs);
  batch.add(M.containerWorkingSet, workingSet, attrs);
  batch.add(M.containerRss, stat.get('anon'), attrs);
  for (const t of STAT_TYPES_V2) batch.add(M.containerStat, stat.get(t), { ...attrs, [A.memType]: t });
  const pgfault = stat.get('pgfault');
  const pgmajfault = stat.get('pgmajfault');
  if (pgfault !== undefined && pgmajfault !== undefined) {
    batch.add(M.containerFaults, pgfault - pgmajfault, { ...attrs, [A.containerFault]: 'minor' });
    batch.add(M.containerFaults, pgmajfault, { ...attrs, [A.containerFault]: 'major' });
  }
  batch.add(M.containerSwap, optionalNumber(batch, `${d}/memory.swap.current`, swapT, parseNumberFile), attrs);
  batch.add(M.containerHigh, optionalNumber(batch, `${d}/memory.high`, highT, parseMaxFile), attrs);
  const events = keyed(batch, `${d}/memory.events`, eventsT);
  for (const e of ['low', 'high', 'max', 'oom'] as const) {
    batch.add(M.containerEvents, events.get(e), { ...attrs, [A.event]: e });
  }
  batch.add(M.containerOomKills, events.get('oom_kill'), attrs);
  if (psiT !== undefined) {
    const psi = parsePsi(psiT);
    for (const kind of ['some', 'full'] as const) {
      const p = psi[kind];
      if (!p) continue;
      batch.add(M.containerPsi, p.avg10 / 100, { ...attrs, [A.psiStall]: kind, [A.psiWindow]: '10s' });
      batch.add(M.containerPsi, p.avg60 / 100, { ...attrs, [A.psiStall]: kind, [A.psiWindow]: '60s' });
      batch.add(M.containerPsi, p.avg300 / 100, { ...attrs, [A.psiStall]: kind, [A.psiWindow]: '300s' });
      batch.add(M.containerPsiTime, p.total / 1e6, { ...attrs, [A.psiStall]: kind });
    }
  }
  return { workingSet, limit };
}

async function readV1(loc: CgroupLocation, batch: Batch, attrs: Attributes, read: ReadText) {
  const d = loc.dir;
  const [usage, limitT, statT, failT, oomT, memswT] = await Promise.all([
    required(`${d}/memory.usage_in_bytes`, parseNumberFile, read),
    optional(batch, `${d}/memory.limit_in_bytes`, read),
    optional(batch, `${d}/memory.stat`, read),
    optional(batch, `${d}/memory.failcnt`, read),
    optional(batch, `${d}/memory.oom_control`, read),
    optional(batch, `${d}/memory.memsw.usage_in_bytes`, read),
  ]);
  const stat = keyed(batch, `${d}/memory.stat`, statT);
  const own = optionalNumber(batch, `${d}/memory.limit_in_bytes`, limitT, parseV1Limit) ?? Infinity;
  const hier = stat.get('hierarchical_memory_limit');
  const limit = Math.min(own, hier !== undefined && hier < 2 ** 62 ? hier : Infinity);
  const inactiveFile = v1Stat(stat, 'inactive_file');
  const workingSet = Math.max(0, usage - (inactiveFile ?? 0));
  batch.add(M.containerUsage, usage, attrs);
  batch.add(M.containerWorkingSet, workingSet, attrs);
  batch.add(M.containerRss, v1Stat(stat, 'rss'), attrs);
  for (const [t, key] of Object.entries(STAT_TYPES_V1)) {
    batch.add(M.containerStat, stat.get(key) ?? stat.get(key.slice(6)), { ...attrs, [A.memType]: t });
  }
  const pgfault = v1Stat(stat, 'pgfault');
  const pgmajfault = v1Stat(stat, 'pgmajfault');
  if (pgfault !== undefined && pgmajfault !== undefined) {
    batch.add(M.containerFaults, pgfault - pgmajfault, { ...attrs, [A.containerFault]: 'minor' });
    batch.add(M.containerFaults, pgmajfault, { ...attrs, [A.containerFault]: 'major' });
  }
  const memsw = optionalNumber(batch, `${d}/memory.memsw.usage_in_bytes`, memswT, parseNumberFile);
  batch.add(M.containerSwap, memsw !== undefined ? Math.max(0, memsw - usage) : v1Stat(stat, 'swap'), attrs);
  batch.add(M.containerEvents, optionalNumber(batch, `${d}/memory.failcnt`, failT, parseNumberFile), {
    ...attrs,
    [A.event]: 'max',
  });
  const oom = keyed(batch, `${d}/memory.oom_control`, oomT);
  batch.add(M.containerOomKills, oom.get('oom_kill'), attrs);
  batch.add(M.containerUnderOom, oom.get('under_oom'), attrs);
  return { workingSet, limit };
}

/** The cgroup source: one container cgroup, located once and re-located when it vanishes. */
export class CgroupSource {
  private loc: CgroupLocation | undefined;
  private locPid: number | 'self' | undefined;
  private readonly attrs: Attributes;
  private readonly files = new KeptFiles(64);
  /** Optional files this kernel does not have (memory.swap.current without swap accounting...). */
  private readonly absent = new Set<string>();
  /** Bumped when the location is forgotten, so reads still in flight do not mark files absent. */
  private generation = 0;
  private readonly read: ReadText = async (path) => {
    if (this.absent.has(path)) throw Object.assign(new Error(`${path} does not exist`), { code: 'ENOENT' });
    const gen = this.generation;
    try {
      return await this.files.read(path);
    } catch (err) {
      const usage = path.endsWith('/memory.current') || path.endsWith('/memory.usage_in_bytes');
      if (errnoOf(err) === 'ENOENT' && !usage && gen === this.generation) this.absent.add(path);
      throw err;
    }
  };

  constructor(
    private readonly opts: CgroupOptions,
    private readonly procRoot: string,
    /** Explicit container limit (memory_limit / memory_limit_env); wins over the cgroup's. */
    private readonly limitOverride: number | undefined,
    /** The first process target's pid, for `from: process`. */
    private readonly processPid: () => number | undefined,
    private readonly mode: 'self' | 'process' | 'path',
  ) {
    this.attrs = { [A.target]: opts.name };
  }

  async collect(batch: Batch): Promise<void> {
    const name = this.opts.name;
    try {
      let result: { workingSet: number; limit: number };
      try {
        result = await readCgroup(await this.locate(), batch, this.attrs, this.read);
      } catch (err) {
        if (!isGone(err) || this.loc === undefined) throw err;
        // The cgroup went away (container restarted, kept descriptors read ENODEV): forget it and
        // locate it again now, so a recreated cgroup costs no failed collection.
        this.forget();
        result = await readCgroup(await this.locate(), batch, this.attrs, this.read);
      }
      const eff = this.limitOverride ?? (Number.isFinite(result.limit) ? result.limit : undefined);
      batch.scope({ scope: 'container', attributes: this.attrs, usage: result.workingSet, limit: eff });
      batch.ok('cgroup', name);
    } catch (err) {
      const where = this.loc?.dir ?? name;
      if (isGone(err)) this.forget();
      const unavailable = err instanceof LocateError ? err.unavailable : isGone(err);
      const msg =
        err instanceof LocateError || err instanceof GarbageError
          ? err.message
          : `cgroup ${describeFsError(err, where)}`;
      batch.fail('cgroup', name, msg, unavailable);
    }
  }

  private forget(): void {
    if (this.loc) this.files.closeUnder(this.loc.dir);
    this.generation++;
    this.absent.clear();
    this.loc = undefined;
  }

  private async locate(): Promise<CgroupLocation> {
    const o = this.opts;
    if (this.mode === 'path') {
      this.loc ??= await locateByPath(o.root, o.path!);
      return this.loc;
    }
    const pid = this.mode === 'self' ? 'self' : this.processPid();
    if (pid === undefined) throw new LocateError('no process target is running to take the cgroup from', true);
    if (this.loc === undefined || this.locPid !== pid) {
      this.forget();
      this.loc = await locateByPid(this.procRoot, o.root, pid, pid === 'self');
      this.locPid = pid;
    }
    return this.loc;
  }

  stop(): void {
    this.files.closeAll();
  }

  /** Where the cgroup was found (for diagnostics and tests). */
  location(): CgroupLocation | undefined {
    return this.loc;
  }
}
