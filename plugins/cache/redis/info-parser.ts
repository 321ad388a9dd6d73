/**
 * Parses the text of Redis `INFO`: `# Section` headers and `field:value` lines. Values stay
 * strings; typed accessors read numbers. Keyspace lines (`db0:keys=1,expires=0,avg_ttl=0`)
 * and replica lines (`slave0:ip=...,port=...,state=online,offset=...,lag=0`) are decoded.
 */

export interface DbStats {
  readonly db: number;
  readonly keys: number;
  readonly expires: number;
  readonly avgTtlMs: number;
}

export interface ReplicaStats {
  readonly address: string;
  readonly state: string;
  readonly offset: number;
  /** Seconds since the replica's last ack, as the primary sees it. */
  readonly lagSeconds: number | undefined;
}

export interface RedisInfo {
  readonly fields: ReadonlyMap<string, string>;
  readonly dbs: readonly DbStats[];
  readonly replicas: readonly ReplicaStats[];
}

export function parseInfo(text: string): RedisInfo {
  const fields = new Map<string, string>();
  const dbs: DbStats[] = [];
  const replicas: ReplicaStats[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    fields.set(key, value);
    if (/^db\d+$/.test(key)) {
      const kv = parseKv(value);
      dbs.push({ db: Number(key.slice(2)), keys: num(kv.get('keys')) ?? 0, expires: num(kv.get('expires')) ?? 0, avgTtlMs: num(kv.get('avg_ttl')) ?? 0 });
    } else if (/^slave\d+$/.test(key) && value.includes('=')) {
      const kv = parseKv(value);
      const ip = kv.get('ip') ?? '';
      replicas.push({
        address: `${ip.includes(':') ? `[${ip}]` : ip}:${kv.get('port') ?? ''}`,
        state: kv.get('state') ?? 'unknown',
        offset: num(kv.get('offset')) ?? 0,
        lagSeconds: num(kv.get('lag')),
      });
    }
  }
  return { fields, dbs, replicas };
}

/** Numeric field, undefined when absent or not a number. */
export function infoNumber(info: RedisInfo, field: string): number | undefined {
  return num(info.fields.get(field));
}

function parseKv(value: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Per-command call counts from `INFO commandstats` (`cmdstat_get:calls=3,usec=...`). */
export function parseCommandStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
