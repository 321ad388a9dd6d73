/** Parsers for the /proc/<pid>/* files the process source reads. Pure functions over text. */

export interface ProcStatus {
  rss?: number;
  rssAnon?: number;
  rssFile?: number;
  rssShmem?: number;
  hwm?: number;
  swap?: number;
  vmSize?: number;
  threads?: number;
}

const STATUS_FIELDS: readonly [string, keyof ProcStatus, number][] = [
  ['\nVmRSS:', 'rss', 1024],
  ['\nRssAnon:', 'rssAnon', 1024],
  ['\nRssFile:', 'rssFile', 1024],
  ['\nRssShmem:', 'rssShmem', 1024],
  ['\nVmHWM:', 'hwm', 1024],
  ['\nVmSwap:', 'swap', 1024],
  ['\nVmSize:', 'vmSize', 1024],
  ['\nThreads:', 'threads', 1],
];

/**
 * /proc/<pid>/status: memory lines are in kB; kernel threads have none of them. Looked up by
 * key rather than split into lines: it runs for every process every second.
 */
export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = {};
  for (const [key, field, factor] of STATUS_FIELDS) {
    const i = text.indexOf(key);
    if (i < 0) continue;
    const v = Number.parseInt(text.slice(i + key.length, i + key.length + 24).trimStart(), 10);
    if (Number.isFinite(v)) out[field] = v * factor;
  }
  return out;
}

export interface ProcStat {
  comm: string;
  minflt: number;
  majflt: number;
  /** Start time in clock ticks after boot. */
  starttime: number;
}

/** /proc/<pid>/stat; the comm field is in parentheses and may itself contain spaces or ")". */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const minflt = Number(rest[7]);
  const majflt = Number(rest[9]);
  const starttime = Number(rest[19]);
  if (!Number.isFinite(minflt) || !Number.isFinite(majflt) || !Number.isFinite(starttime) || rest.length < 20) {
    return undefined;
  }
  return { comm: text.slice(open + 1, close), minflt, majflt, starttime };
}

/** /proc/<pid>/smaps_rollup: the Pss line (kB), undefined when absent. */
export function parseSmapsPss(text: string): number | undefined {
  const i = text.indexOf('\nPss:');
  if (i < 0) return undefined;
  const v = Number.parseInt(text.slice(i + 5, text.indexOf('\n', i + 5)), 10);
  return Number.isFinite(v) ? v * 1024 : undefined;
}

/** /proc/<pid>/limits: the soft "Max open files" limit; undefined when unlimited or absent. */
export function parseMaxOpenFiles(text: string): number | undefined {
  const i = text.indexOf('Max open files');
  if (i < 0) return undefined;
  const line = text.slice(i + 14, text.indexOf('\n', i) < 0 ? undefined : text.indexOf('\n', i)).trim();
  const soft = line.split(/\s+/)[0];
  const v = Number(soft);
  return soft !== undefined && soft !== 'unlimited' && Number.isFinite(v) ? v : undefined;
}

export interface ProcCgroups {
  /** v1: controller → path (e.g. memory → /kubepods/pod1/abc). */
  readonly v1: ReadonlyMap<string, string>;
  /** v2: the unified hierarchy path (`0::/path`). */
  readonly v2?: string;
}

/** /proc/<pid>/cgroup: `hierarchy-ID:controller-list:path` lines; `0::path` is cgroup v2. */
export function parseProcCgroup(text: string): ProcCgroups {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const id = line.slice(0, a);
    const controllers = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (id === '0' && controllers === '') v2 = path;
    else for (const c of controllers.split(',')) if (c) v1.set(c, path);
  }
  return v2 === undefined ? { v1 } : { v1, v2 };
}

/** /proc/stat btime: boot time in seconds since the epoch. */
export function parseBootTime(text: string): number | undefined {
  const i = text.indexOf('\nbtime ');
  if (i < 0) return undefined;
  const v = Number.parseInt(text.slice(i + 7), 10);
  return Number.isFinite(v) ? v : undefined;
}

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every mainstream Linux architecture. */
export const CLOCK_TICKS_PER_SECOND = 100;
