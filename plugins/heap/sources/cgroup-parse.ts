/** Parsers for cgroup v1/v2 memory controller files. Pure functions over text. */

/** v1 limits at or above this mean "no limit" (the kernel reports PAGE_COUNTER_MAX pages, ~2^63). */
const V1_UNLIMITED = 2 ** 62;

/** Thrown for a file whose content is not what the kernel writes, with the file named by the caller. */
export class GarbageError extends Error {
  override readonly name = 'GarbageError';
}

function excerpt(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}...` : t);
}

/** A file holding one non-negative integer (memory.current, memory.usage_in_bytes...). */
export function parseNumberFile(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new GarbageError(`expected a number, got ${excerpt(text)}`);
  return Number(t);
}

/** v2 memory.max / memory.high / memory.swap.max: a number or `max` (returned as Infinity). */
export function parseMaxFile(text: string): number {
  return text.trim() === 'max' ? Infinity : parseNumberFile(text);
}

/** v1 memory.limit_in_bytes: a huge value means unlimited (Infinity). */
export function parseV1Limit(text: string): number {
  const v = parseNumberFile(text);
  return v >= V1_UNLIMITED ? Infinity : v;
}

/**
 * Flat keyed files (memory.stat, memory.events, memory.oom_control): `key value` per line.
 * A malformed line is skipped and counted, so one garbage line costs only its own key.
 */
export function parseKeyed(text: string): { values: Map<string, number>; malformed: number } {
  const values = new Map<string, number>();
  let malformed = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const sp = line.indexOf(' ');
    const key = sp > 0 ? line.slice(0, sp) : '';
    const raw = sp > 0 ? line.slice(sp + 1).trim() : '';
    if (key === '' || !/^\d+$/.test(raw)) {
      malformed++;
      continue;
    }
    values.set(key, Number(raw));
  }
  return { values, malformed };
}

export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in microseconds. */
  total: number;
}

/** memory.pressure: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and the same for `full`. */
export function parsePsi(text: string): { some?: PsiLine; full?: PsiLine } {
  const out: { some?: PsiLine; full?: PsiLine } = {};
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const kind = parts[0];
    if (kind !== 'some' && kind !== 'full') continue;
    const f: Record<string, number> = {};
    for (const p of parts.slice(1)) {
      const eq = p.indexOf('=');
      if (eq > 0) f[p.slice(0, eq)] = Number(p.slice(eq + 1));
    }
    const { avg10, avg60, avg300, total } = f;
    if ([avg10, avg60, avg300, total].every((v) => v !== undefined && Number.isFinite(v))) {
      out[kind] = { avg10: avg10!, avg60: avg60!, avg300: avg300!, total: total! };
    }
  }
  return out;
}

/** memory.stat keys reported as vigil.container.memory.stat, by their v2 name. */
export const STAT_TYPES_V2 = [
  'anon',
  'file',
  'kernel',
  'kernel_stack',
  'pagetables',
  'sock',
  'shmem',
  'file_mapped',
  'file_dirty',
  'file_writeback',
  'slab',
  'active_anon',
  'inactive_anon',
  'active_file',
  'inactive_file',
  'unevictable',
] as const;

/** v1 memory.stat key (hierarchical `total_` form) for each reported type. */
export const STAT_TYPES_V1: Readonly<Record<string, string>> = {
  anon: 'total_rss',
  file: 'total_cache',
  shmem: 'total_shmem',
  file_mapped: 'total_mapped_file',
  file_dirty: 'total_dirty',
  file_writeback: 'total_writeback',
  active_anon: 'total_active_anon',
  inactive_anon: 'total_inactive_anon',
  active_file: 'total_active_file',
  inactive_file: 'total_inactive_file',
  unevictable: 'total_unevictable',
};

/** v1 memory.stat value, preferring the hierarchical `total_` key (includes child cgroups). */
export function v1Stat(stat: ReadonlyMap<string, number>, key: string): number | undefined {
  return stat.get(`total_${key}`) ?? stat.get(key);
}
