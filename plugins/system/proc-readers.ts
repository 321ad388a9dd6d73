import { readFile } from 'node:fs/promises';

/** Cumulative CPU jiffies from the aggregate `cpu` line of /proc/stat. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** Reads /proc/stat asynchronously (systeminformation's currentLoad() blocks on execSync). */
export async function readCpuTimes(root = '/proc', signal?: AbortSignal): Promise<CpuTimes> {
  const text = await readFile(`${root}/stat`, { encoding: 'utf8', signal });
  return parseCpuTimes(text);
}

export function parseCpuTimes(text: string): CpuTimes {
  const line = text.split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu' || f.length < 5) throw new Error(`/proc/stat: unexpected first line ${JSON.stringify(line.slice(0, 60))}`);
  const n = (i: number) => Number(f[i] ?? 0) || 0;
  return { user: n(1), nice: n(2), system: n(3), idle: n(4), iowait: n(5), irq: n(6), softirq: n(7), steal: n(8) };
}

export interface MemInfo {
  totalBytes: number;
  freeBytes: number;
  availableBytes: number;
  buffersBytes: number;
  cachedBytes: number;
}

export async function readMemInfo(root = '/proc', signal?: AbortSignal): Promise<MemInfo> {
  return parseMemInfo(await readFile(`${root}/meminfo`, { encoding: 'utf8', signal }));
}

export function parseMemInfo(text: string): MemInfo {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kb.get('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo: no MemTotal line');
  const free = kb.get('MemFree') ?? 0;
  return {
    totalBytes: total,
    freeBytes: free,
    availableBytes: kb.get('MemAvailable') ?? free,
    buffersBytes: kb.get('Buffers') ?? 0,
    cachedBytes: (kb.get('Cached') ?? 0) + (kb.get('SReclaimable') ?? 0),
  };
}
